"""Report kinds and their period unit (kept import-light: the CLI parser reads it)."""

from __future__ import annotations

KINDS: dict[str, str] = {
    "inspection-record": "day",
    "resource-record": "week",
    "health-daily": "day",
    "monthly": "month",
    "quarterly": "quarter",
    "annual": "year",
    "monthly-bundle": "month",
    "tickets": "month",      # 《故障申告登记表》 (the service desk)
    "feedback": "week",      # 需求反馈周汇总
    "restore-test": "month",  # 《数据备份恢复测试报告》 (restore drills)
    "drill": "quarter",       # 《恢复演练报告》
    "baseline": "day",       # 《安全基线核查报告》: the last baseline audit on or before the day
    "stress-test": "day",          # 《压力测试报告》: the last stress test on or before the day (docs/special-periods.md)
    "preflight": "day",            # 《节前系统健康检查报告》: the last T-7 preflight on or before the day
    "heightened-summary": "day",   # 《重保期间运行总结》: the window containing the day, else the last one ended
    "emergency-drill": "month",    # 《应急演练报告》: web-tier drills and restore drills of the month
    "web-performance": "quarter",  # 《网站性能优化报告》 (web-audit)
    "ux": "quarter",               # 《用户体验评估报告》 (web-audit + service desk feedback)
    "vuln": "quarter",             # 《漏洞扫描报告》 (docs/security.md)
    "security-daily": "day",       # 《安全运行日报》
}
