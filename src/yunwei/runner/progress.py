"""Event and status handlers: stream progress, collect stats and diffs."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from yunwei import ui

# Actions that run on the controller only (no connection to the host). A failure of a validation
# action before any other action ran is bad input refused before any host was contacted.
_VALIDATION_ACTIONS = {"assert", "fail", "validate_argument_spec",
                       "yunwei.ops.alert_rules"}  # renders and checks rules on the controller only
_CONTROLLER_ACTIONS = _VALIDATION_ACTIONS | {"debug", "set_fact", "meta", "include_vars", "include_tasks",
                                             "import_tasks", "include_role", "import_role", "set_stats"}


def _short_action(data: dict[str, Any]) -> str:
    action = str(data.get("resolved_action") or data.get("task_action") or "")
    return action[len("ansible.builtin."):] if action.startswith(("ansible.builtin.", "ansible.legacy.")) and \
        action.count(".") == 2 else action

_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


def render_diff(diff: Any) -> str:
    """Ansible's diff structure (dict or list of dicts) as unified diff text."""
    parts: list[str] = []
    for item in diff if isinstance(diff, list) else [diff]:
        if not isinstance(item, dict):
            continue
        if item.get("prepared"):
            parts.append(str(item["prepared"]).rstrip("\n"))
            continue
        if "before" in item or "after" in item:
            before = str(item.get("before", ""))
            after = str(item.get("after", ""))
            parts.extend(
                line.rstrip("\n")
                for line in difflib.unified_diff(
                    before.splitlines(keepends=True),
                    after.splitlines(keepends=True),
                    fromfile=str(item.get("before_header", "before")),
                    tofile=str(item.get("after_header", "after")),
                )
            )
    return "\n".join(parts)


@dataclass
class Collector:
    """Receives ansible-runner events; keeps what the CLI and the review need."""

    quiet: bool = False
    echo: Callable[[str], None] = ui.progress
    statuses: list[str] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)  # validation failures before any host was contacted
    contacted: bool = False  # a task that connects to hosts (and may change them) has run
    preflight: bool = False  # only read-only pre-flight modules (result ``preflight: true``) read hosts so far

    def event(self, event: dict[str, Any]) -> bool:
        name = event.get("event", "")
        data = event.get("event_data") or {}
        if name == "playbook_on_task_start" and not self.quiet:
            self.echo(f"TASK {data.get('task', '')}")
        elif name in _RESULT_EVENTS:
            res = data.get("res") or {}
            state = _RESULT_EVENTS[name]
            changed = bool(res.get("changed")) if isinstance(res, dict) else False
            if state == "ok" and changed:
                state = "changed"
            host = data.get("host", "?")
            if not self.quiet:
                self.echo(f"  {host}: {state}")
            if changed:
                diff = res.get("diff") if isinstance(res, dict) else None
                self.changes.append({"host": host, "task": data.get("task", ""), "diff": render_diff(diff) if diff else ""})
            action = _short_action(data)
            if state in ("failed", "unreachable") and not data.get("ignore_errors"):
                msg = res.get("msg", "") if isinstance(res, dict) else ""
                self.failures.append({"host": host, "task": data.get("task", ""), "state": state, "msg": str(msg)[:500]})
                if state == "failed" and not self.contacted and action in _VALIDATION_ACTIONS and msg \
                        and str(msg) not in self.input_errors:
                    self.input_errors.append(str(msg)[:4000])
            if state == "ok" and not changed and isinstance(res, dict) and res.get("preflight") is True:
                self.preflight = True  # a read-only pre-flight: what it read, a validation may still refuse
            elif action not in _CONTROLLER_ACTIONS and state != "skipped":
                self.contacted = True
        elif name == "playbook_on_stats":
            for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
                for host, n in (data.get(key) or {}).items():
                    self.stats.setdefault(host, {})[key] = int(n)
        return True  # keep the event in the artifacts

    def status(self, data: dict[str, Any], runner_config: Any = None) -> None:
        status = str(data.get("status", ""))
        self.statuses.append(status)
        if not self.quiet:
            self.echo(f"status: {status}")
