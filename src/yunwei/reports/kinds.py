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
    "vuln": "quarter",        # 《漏洞扫描报告》 (docs/security.md)
    "security-daily": "day",  # 《安全运行日报》
}
