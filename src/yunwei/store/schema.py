"""Schema of the journal store and its migrations, shared by SQLite and PostgreSQL.

Each migration is a list of statements with dialect tokens ({pk}, {real}, {bigint}) that the
backend fills in. ``SCHEMA_VERSION`` is the version the code expects; opening a store applies
the missing migrations inside one transaction (guarded against concurrent openers).
Never edit a released migration: append a new one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE runs (
                id TEXT PRIMARY KEY,
                playbook TEXT NOT NULL DEFAULT '',
                job TEXT NOT NULL DEFAULT '',
                profile TEXT NOT NULL DEFAULT '',
                operator TEXT NOT NULL DEFAULT '',
                started_at {real},
                ended_at {real},
                status TEXT NOT NULL DEFAULT 'running',
                ansible_version TEXT NOT NULL DEFAULT '',
                content_digest TEXT NOT NULL DEFAULT '',
                node TEXT NOT NULL DEFAULT '',
                pid {bigint},
                pid_start TEXT NOT NULL DEFAULT '',
                check_mode INTEGER NOT NULL DEFAULT 0,
                error_count INTEGER NOT NULL DEFAULT 0,
                heartbeat_at {real}
            )""",
            "CREATE INDEX runs_started ON runs (started_at)",
            "CREATE INDEX runs_job_started ON runs (job, started_at)",
            "CREATE INDEX runs_status ON runs (status)",
            """CREATE TABLE run_hosts (
                run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                host TEXT NOT NULL,
                ok INTEGER NOT NULL DEFAULT 0,
                changed INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0,
                unreachable INTEGER NOT NULL DEFAULT 0,
                skipped INTEGER NOT NULL DEFAULT 0,
                rescued INTEGER NOT NULL DEFAULT 0,
                ignored INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (run_id, host)
            )""",
            """CREATE TABLE task_results (
                id {pk},
                run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                host TEXT NOT NULL,
                play TEXT NOT NULL DEFAULT '',
                task TEXT NOT NULL DEFAULT '',
                task_uuid TEXT NOT NULL DEFAULT '',
                action TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL,
                started_at {real},
                ended_at {real},
                duration {real},
                ignore_errors INTEGER NOT NULL DEFAULT 0,
                result TEXT NOT NULL DEFAULT '{{}}'
            )""",
            "CREATE INDEX task_results_run ON task_results (run_id, seq)",
            """CREATE TABLE checks (
                id {pk},
                run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                host TEXT NOT NULL,
                time {real} NOT NULL,
                check_id TEXT NOT NULL,
                category TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL DEFAULT '',
                instance TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL,
                value TEXT,
                value_num {real},
                unit TEXT NOT NULL DEFAULT '',
                threshold TEXT,
                evidence TEXT NOT NULL DEFAULT '',
                suggestion TEXT NOT NULL DEFAULT '',
                task TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX checks_run ON checks (run_id)",
            "CREATE INDEX checks_time ON checks (time)",
            "CREATE INDEX checks_host_time ON checks (host, time)",
            """CREATE TABLE metrics (
                id {pk},
                run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                host TEXT NOT NULL,
                time {real} NOT NULL,
                name TEXT NOT NULL,
                instance TEXT NOT NULL DEFAULT '',
                value {real} NOT NULL,
                unit TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX metrics_series ON metrics (name, host, instance, time)",
            "CREATE INDEX metrics_run ON metrics (run_id)",
            "CREATE INDEX metrics_time ON metrics (time)",
            """CREATE TABLE run_errors (
                id {pk},
                run_id TEXT NOT NULL,
                time {real} NOT NULL,
                message TEXT NOT NULL
            )""",
            "CREATE INDEX run_errors_run ON run_errors (run_id)",
        ],
    ),
    (
        2,
        [
            # why a run failed, was interrupted or timed out (no host matched, none reached,
            # bad input, killed after its timeout, ...): what the operator and the reports read
            "ALTER TABLE runs ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
        ],
    ),
    (
        # The service desk (docs/service-desk.md): an append-only event history of tickets, feedback
        # items and satisfaction follow-ups; `tickets` and `feedback` hold their current state, updated
        # in the same transaction as the event under an expected-version guard.
        3,
        [
            """CREATE TABLE service_events (
                id {pk},
                subject TEXT NOT NULL,
                ref TEXT NOT NULL,
                seq INTEGER NOT NULL,
                time {real} NOT NULL,
                operator TEXT NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL DEFAULT '{{}}',
                UNIQUE (subject, ref, seq)
            )""",
            "CREATE INDEX service_events_time ON service_events (time)",
            # events whose audit record is written (a crash between the two is repaired by ticket-watch)
            "CREATE TABLE service_audited (event_id {bigint} PRIMARY KEY, audit TEXT NOT NULL DEFAULT '')",
            """CREATE TABLE tickets (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                state TEXT NOT NULL,
                grade TEXT NOT NULL,
                channel TEXT NOT NULL,
                reporter TEXT NOT NULL,
                contact TEXT NOT NULL DEFAULT '',
                host TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                opened_by TEXT NOT NULL DEFAULT '',
                assignee TEXT NOT NULL DEFAULT '',
                registered_at {real} NOT NULL,
                opened_at {real} NOT NULL,
                responded_at {real},
                onsite_at {real},
                resolved_at {real},
                closed_at {real},
                response_due {real},
                handling_due {real},
                onsite_due {real},
                breaches INTEGER NOT NULL DEFAULT 0,
                breach_response INTEGER NOT NULL DEFAULT 0,
                breach_handling INTEGER NOT NULL DEFAULT 0,
                breach_onsite INTEGER NOT NULL DEFAULT 0,
                cause TEXT NOT NULL DEFAULT '',
                action TEXT NOT NULL DEFAULT '',
                result TEXT NOT NULL DEFAULT '',
                confirmation TEXT NOT NULL DEFAULT '',
                alert_fingerprint TEXT,
                detail TEXT NOT NULL DEFAULT '{{}}',
                updated_at {real} NOT NULL
            )""",
            "CREATE INDEX tickets_opened ON tickets (opened_at)",
            "CREATE INDEX tickets_state ON tickets (state, opened_at)",
            "CREATE INDEX tickets_closed ON tickets (closed_at)",
            # one live ticket per alert fingerprint: two deliveries of one alert cannot open two
            "CREATE UNIQUE INDEX tickets_alert_live ON tickets (alert_fingerprint) "
            "WHERE alert_fingerprint IS NOT NULL AND state <> 'closed'",
            """CREATE TABLE feedback (
                id TEXT PRIMARY KEY,
                version INTEGER NOT NULL,
                state TEXT NOT NULL,
                title TEXT NOT NULL,
                requester TEXT NOT NULL DEFAULT '',
                description TEXT NOT NULL DEFAULT '',
                ticket_id TEXT NOT NULL DEFAULT '',
                created_by TEXT NOT NULL DEFAULT '',
                created_at {real} NOT NULL,
                updated_at {real} NOT NULL,
                closed_at {real},
                plan TEXT NOT NULL DEFAULT '',
                note TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX feedback_created ON feedback (created_at)",
            "CREATE INDEX feedback_state ON feedback (state)",
            """CREATE TABLE followups (
                id {pk},
                event_id {bigint} NOT NULL,
                time {real} NOT NULL,
                operator TEXT NOT NULL,
                month TEXT NOT NULL,
                requester TEXT NOT NULL,
                ticket_id TEXT NOT NULL DEFAULT '',
                score INTEGER NOT NULL,
                remarks TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX followups_month ON followups (month, requester)",
        ],
    ),
    (
        # Real-time alerts (docs/monitoring.md): one row per alert episode (fingerprint + start) as
        # `yunwei alerts serve` received it from Alertmanager, every delivery, one notification per
        # episode x channel x firing/resolved (the unique key de-duplicates Alertmanager's retries and
        # a receiver restart), and the maintenance windows that suppress notifications (an operator's, or
        # the run of an approved change: change_id).
        4,
        [
            """CREATE TABLE alerts (
                id {pk},
                fingerprint TEXT NOT NULL,
                starts_at {real} NOT NULL,
                ends_at {real},
                status TEXT NOT NULL,
                rule_id TEXT NOT NULL DEFAULT '',
                alertname TEXT NOT NULL DEFAULT '',
                host TEXT NOT NULL DEFAULT '',
                instance TEXT NOT NULL DEFAULT '',
                severity TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL DEFAULT '',
                summary TEXT NOT NULL DEFAULT '',
                suggestion TEXT NOT NULL DEFAULT '',
                labels TEXT NOT NULL DEFAULT '{{}}',
                first_received {real} NOT NULL,
                last_received {real} NOT NULL,
                resolved_received {real},
                ticket_id TEXT NOT NULL DEFAULT '',
                silence_id {bigint},
                UNIQUE (fingerprint, starts_at)
            )""",
            "CREATE INDEX alerts_starts ON alerts (starts_at)",
            "CREATE INDEX alerts_ends ON alerts (ends_at)",
            """CREATE TABLE alert_deliveries (
                id {pk},
                alert_id {bigint} NOT NULL,
                received_at {real} NOT NULL,
                status TEXT NOT NULL
            )""",
            "CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id)",
            """CREATE TABLE alert_notifications (
                id {pk},
                alert_id {bigint} NOT NULL,
                channel TEXT NOT NULL,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at {real} NOT NULL,
                sent_at {real},
                next_at {real},
                last_error TEXT NOT NULL DEFAULT '',
                UNIQUE (alert_id, channel, kind)
            )""",
            "CREATE INDEX alert_notifications_state ON alert_notifications (state, next_at)",
            """CREATE TABLE alert_silences (
                id {pk},
                created_at {real} NOT NULL,
                operator TEXT NOT NULL,
                starts_at {real} NOT NULL,
                ends_at {real} NOT NULL,
                hosts TEXT NOT NULL DEFAULT '[]',
                rules TEXT NOT NULL DEFAULT '[]',
                reason TEXT NOT NULL,
                ended_at {real},
                change_id TEXT NOT NULL DEFAULT ''
            )""",
        ],
    ),
    (
        # Security operations (docs/security.md): each vuln-scan run taken into the findings lifecycle once
        # (vuln_scans), and the findings - a vulnerable package (kind vuln, key "CVE package") or an unexpected
        # open port (kind port, key "tcp/PORT") per host - with their state: new, accepted (approver, expiry),
        # fixed (gone in a scan), verified (still gone in the next scan); tickets of high/critical findings.
        5,
        [
            """CREATE TABLE vuln_scans (
                run_id TEXT PRIMARY KEY,
                time {real} NOT NULL,
                hosts TEXT NOT NULL DEFAULT '[]',
                feed TEXT NOT NULL DEFAULT '{{}}',
                ingested_at {real} NOT NULL
            )""",
            """CREATE TABLE vuln_findings (
                id {pk},
                host TEXT NOT NULL,
                kind TEXT NOT NULL,
                fkey TEXT NOT NULL,
                cve TEXT NOT NULL DEFAULT '',
                package TEXT NOT NULL DEFAULT '',
                installed TEXT NOT NULL DEFAULT '',
                fixed_version TEXT NOT NULL DEFAULT '',
                port INTEGER,
                process TEXT NOT NULL DEFAULT '',
                severity TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL DEFAULT '',
                fix_available INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL,
                first_seen {real} NOT NULL,
                last_seen {real} NOT NULL,
                first_run TEXT NOT NULL DEFAULT '',
                last_run TEXT NOT NULL DEFAULT '',
                fixed_at {real},
                verified_at {real},
                accepted_by TEXT NOT NULL DEFAULT '',
                accepted_until TEXT NOT NULL DEFAULT '',
                accepted_reason TEXT NOT NULL DEFAULT '',
                ticket_id TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX vuln_findings_host ON vuln_findings (host, kind, fkey)",
            "CREATE INDEX vuln_findings_state ON vuln_findings (state)",
        ],
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

DIALECTS: dict[str, dict[str, str]] = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "bigint": "INTEGER"},
    "postgresql": {
        "pk": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "real": "DOUBLE PRECISION",
        "bigint": "BIGINT",
    },
}


def statements(dialect: str, from_version: int) -> list[tuple[int, list[str]]]:
    """Migrations newer than ``from_version``, rendered for ``dialect``."""
    tokens = DIALECTS[dialect]
    return [(v, [s.format(**tokens) for s in stmts]) for v, stmts in MIGRATIONS if v > from_version]
