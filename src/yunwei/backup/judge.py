"""Judging a backup module's result on the controller, like every other check: the findings become
checks through :func:`yunwei.inspection.judge.judge_result` (the check catalogue, the tier's
thresholds, ``backup_thresholds`` over the defaults), and each status row of ``backup_status`` takes
the worst status of the checks it names (``row["checks"]``: [id, instance], the age check first),
the limit of its age check and its verify check's result. Called by the action plugins of
``yunwei.ops.backup_status``, ``pgbackrest`` and ``restic`` in an Ansible worker: pure data, no store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from yunwei.catalogue import catalogue
from yunwei.inspection.judge import judge_result


def judge_backup_result(result: dict[str, Any], thresholds: Mapping[str, Any] | None = None,
                        disabled: Iterable[str] = ()) -> dict[str, Any]:
    """``result`` with ``checks`` judged from its ``findings`` (without the ``disabled`` check ids)
    and its ``rows`` completed."""
    cat = catalogue()
    judge_result(result, thresholds, disabled, cat)
    index = {(c["id"], c["instance"]): c for c in result["checks"]}
    for row in result.get("rows") or ():
        named = [index[(str(i), str(inst))] for i, inst in row.get("checks") or () if (str(i), str(inst)) in index]
        # every check of the row switched off: nothing judged it, unless the row itself is an error
        row["status"] = cat.worst(*[c["status"] for c in named]) if named else ("crit" if row.get("error") else "ok")
        first = named[0] if named else None
        limit = first["threshold"] if first else None
        row["limit_s"] = limit if isinstance(limit, dict) and "warn" in limit else None
        verify = next((c for c in named if c["id"] == "BACKUP-VERIFY-001"), None)
        row["verify"] = {"status": verify["status"], "evidence": verify["evidence"]} if verify else None
    return result
