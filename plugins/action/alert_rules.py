# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of yunwei.ops.alert_rules: the threshold layers of the play's hosts go, as JSON on
stdin, to ``python -m yunwei alerts rules`` — a new process that may open the journal store (this
worker must not: docs/journal.md) — which validates, renders, checks with promtool and replaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ansible.plugins.action import ActionBase

LAYERS = ("inspection_thresholds", "inspection_threshold_overrides", "monitoring_threshold_overrides")


def _plain(value):
    """Inventory values as JSON-able data (Ansible's tagged types to dict/list/str/numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value
    return str(value)


def _fresh_dir():
    """A new private folder for this run's rule files; those of runs older than a day are removed."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        path = os.path.join(base, name)
        try:
            if name.startswith("yunwei-rules-") and os.stat(path).st_uid == os.getuid() \
                    and time.time() - os.stat(path).st_mtime > 86400:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
    return os.path.join(tempfile.mkdtemp(prefix="yunwei-rules-"), "rules")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "dynamic", "store"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        dest = args.get("dest") or _fresh_dir()
        hostvars = task_vars.get("hostvars", {})
        hosts = {}
        for host in task_vars.get("ansible_play_hosts_all") or []:
            hv = hostvars[host]
            hosts[str(host)] = {name: _plain(hv.get(name)) for name in LAYERS if hv.get(name) is not None}
        cmd = [sys.executable, "-m", "yunwei", "alerts", "rules", "--input", "-", "--out", str(dest), "--json"]
        if not self._task.args.get("dynamic", True):
            cmd.append("--no-dynamic")
        if args.get("store"):
            cmd += ["--store", str(args["store"])]
        proc = subprocess.run(cmd, input=json.dumps({"hosts": hosts}), capture_output=True, text=True, timeout=300,
                              check=False)
        try:
            data = json.loads(proc.stdout or "{}")
        except ValueError:
            data = {}
        if proc.returncode != 0:
            msg = (data.get("error") or proc.stderr.strip() or proc.stdout.strip() or "yunwei alerts rules failed")
            return {**result, "failed": True, "rc": proc.returncode, "msg": msg, "promtool": data.get("promtool", "")}
        return {**result, "changed": False, **data}
