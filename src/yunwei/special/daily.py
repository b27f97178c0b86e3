"""During a 重保 window: the daily 《安全运行日报》 generated and its delivery recorded (docs/special-periods.md).

The schedule runs the read-only job ``security-daily`` on every day of a window (schedule.yml,
``during_windows: true``); after a run that reached its hosts, :func:`deliver` (called by ``schedule tick``,
or by hand: ``yunwei report security-daily --date D --deliver``) renders the day's report into the reports
folder and records the delivery:

- the audit log gets a ``report-delivered`` record: kind, day, every file with its SHA-256, and the on-duty
  people of the day (the window's rota) it is addressed to;
- the service desk's notification command (service-desk.yml ``notify.command``), when configured, receives
  the same as JSON on stdin (event ``report-delivered``), so the report reaches the people on duty; whether
  that worked is part of the audit record.

Refused (exit 2), so that a delivery record always stands for a real day's report: a day outside every
window of the *approved* schedule (the rota and the recipients never come from an unreviewed
schedule.yml), a day after today, a day without a successful ``security-daily`` run in the journal, and
(by hand) another store than the configured journal. The record names the operator who delivered it
(``schedule`` for the scheduler).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from yunwei.errors import InputError

KIND = "security-daily"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def deliver(day: dt.date, *, out_dir: Path | None = None, formats: list[str] | None = None,
            operator: str = "schedule", store_path: str | None = None) -> dict[str, Any]:
    """Render 《安全运行日报》 for the local ``day`` and record its delivery; returns the audit record's fields."""
    from yunwei import audit
    from yunwei.paths import project_root
    from yunwei.reports.anchor import audit_anchor
    from yunwei.reports.contract import load_contract
    from yunwei.reports.generate import Options, generate, parse_formats
    from yunwei.reports.periods import client_tz, parse_period
    from yunwei.reports.windows import load_windows
    from yunwei.schedule.active import load_active
    from yunwei.servicedesk.config import load_config
    from yunwei.servicedesk.watch import notify
    from yunwei.store import open_store

    tz = client_tz()
    if day > dt.datetime.now(tz).date():
        raise InputError("--date", None, f"{day} is in the future: a day's report is delivered on or after that day")
    schedule, _meta = load_active()  # the approved schedule only: it names the recipients
    window = schedule.window_on(day)
    if window is None:
        raise InputError("--date", None, f"{day} is not a day of a 重保 window of the approved schedule "
                                         "(heightened.windows): the daily security report is delivered during windows only")
    period = parse_period("day", day.isoformat(), tz)
    people = schedule.on_duty(day)
    opts = Options(formats=formats or parse_formats("html,docx,xlsx"),
                   out_dir=out_dir or project_root() / "reports" / "out", templates=None, windows=load_windows(None),
                   charts=True, contract=load_contract(None), schedule=schedule, audit_anchor=audit_anchor())
    with open_store(store_path, reap=False) as store:
        if not store.list_runs(job=KIND, since=period.since, until=period.until, status="ok", limit=1):
            raise InputError("--date", None, f"no successful security-daily run on {day} in the journal: run it first "
                                             "(`yunwei run security-daily`), the report reads its logins and drift")
        files = [Path(f) for f in generate(KIND, store, period, opts)]
    fields: dict[str, Any] = {
        "kind": KIND, "title": "安全运行日报", "date": day.isoformat(), "window": window.name,
        "files": [{"file": str(f), "sha256": _sha256(f)} for f in files],
        "to": [{"login": o.login, "name": o.name, "phone": o.phone, "email": o.email} for o in people],
    }
    config = load_config()
    if config.notify_command:
        ok, error = notify(config, {"event": "report-delivered", **fields})
        fields["notified"] = ok
        if error:
            fields["notify_error"] = error
    else:
        fields["notified"] = False
        fields["notify_error"] = "no notification command configured (service-desk.yml notify.command)"
    audit.record("report-delivered", operator=operator, **fields)
    return fields
