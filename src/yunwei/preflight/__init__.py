"""T-7 preflight (节前系统健康检查) before a 重保 window: items, go/no-go, tickets, report."""
