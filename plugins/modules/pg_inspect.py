#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pg_inspect
short_description: Inspect a PostgreSQL server through psql; return structured checks and metrics
version_added: "0.1.0"
description:
  - Checks that the server accepts connections (pg_isready semantics), its version, connections
    against max_connections, long-running queries, idle-in-transaction sessions, the oldest open
    transaction, database sizes, replication state and lag from pg_stat_replication (LSN difference
    and write/flush/replay lag, never the replay timestamp of an idle primary), WAL archiving
    (failures, backlog, age of the last archived segment), the cache hit ratio and error-log
    lines since the last inspection.
  - Needs no Python driver on the target; it runs C(psql -XAtq) once, as O(os_user), and reads
    one JSON document (PostgreSQL 10 or later).
  - Returns C(checks) and C(metrics) as described in the collection's docs/data-model.md. The module
    only collects values (findings); the action plugin of the same name judges them on the controller
    from the check catalogue of the C(yunwei) package (status, title, threshold, 处理建议).
  - Read-only; safe in check mode.
author:
  - yunwei maintainers (!UNKNOWN)
options:
  os_user:
    description:
      - Operating-system user psql runs as (peer authentication on the local socket).
      - When the module runs as root it switches with runuser (or su); otherwise it runs as itself.
    type: str
    default: postgres
  port:
    description: Server port.
    type: int
    default: 5432
  socket_dir:
    description: Unix socket directory; default the client's.
    type: str
  database:
    description: Database to connect to.
    type: str
    default: postgres
  log_file:
    description:
      - Server log to scan for ERROR, FATAL and PANIC lines.
      - Default the current log file (logging_collector), else the log of the Debian cluster on O(port) (pg_lsclusters).
    type: path
  expected_replicas:
    description: Number of standbys that must be streaming from this server (primary only).
    type: int
    default: 0
  since:
    description: Epoch seconds; log lines from this time on are counted (default the last O(log_window) seconds).
    type: float
  log_window:
    description: Seconds of log to scan when O(since) is not given.
    type: int
    default: 86400
extends_documentation_fragment:
  - yunwei.ops.inspection
"""

EXAMPLES = r"""
- name: Inspect PostgreSQL
  yunwei.ops.pg_inspect:
    port: 5432
    thresholds:
      db_idle_in_tx_s: {warn: 60, crit: 300}
  become: true
"""

RETURN = r"""
checks:
  description: Checks as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
metrics:
  description: Metrics as in docs/data-model.md.
  returned: always
  type: list
  elements: dict
summary:
  description: Number of checks per status.
  returned: always
  type: dict
server:
  description: The raw document of the inspection query (empty when the server is down).
  returned: always
  type: dict
"""

from ansible_collections.yunwei.ops.plugins.module_utils.pg_collector import OPTIONS, PgInspector
from ansible_collections.yunwei.ops.plugins.module_utils.inspection import run_single


def main():
    run_single(PgInspector, OPTIONS)


if __name__ == "__main__":
    main()
