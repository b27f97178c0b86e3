"""The service desk (服务台): the fault register (故障申告登记), graded response clocks, satisfaction
follow-ups and weekly requirements feedback, kept in the journal store (docs/service-desk.md).

    from yunwei.servicedesk import tickets
    t = tickets.open_ticket(store, grade="fault", channel="hotline", reporter="王芳", title="网站无法访问")
    tickets.ack(store, t.id)
"""
