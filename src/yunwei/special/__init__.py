"""After a 重保 window: 《重保期间运行总结》 (summary.py)."""
