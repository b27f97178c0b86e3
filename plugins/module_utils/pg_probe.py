# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one query of the PostgreSQL collector (PostgreSQL >= 10), returning a JSON document,
and parsers for pg_isready / pg_lsclusters output."""

from __future__ import annotations

INSPECT_SQL = r"""
SELECT json_build_object(
 'version', current_setting('server_version'),
 'version_num', current_setting('server_version_num')::int,
 'in_recovery', pg_is_in_recovery(),
 'max_connections', current_setting('max_connections')::int,
 'reserved', current_setting('superuser_reserved_connections')::int,
 'connections', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
 'states', (SELECT coalesce(json_object_agg(s, n), '{}'::json) FROM (
     SELECT coalesce(state, 'unknown') AS s, count(*) AS n FROM pg_stat_activity
     WHERE backend_type = 'client backend' GROUP BY 1) x),
 'longest_query', (SELECT row_to_json(q) FROM (
     SELECT pid, usename, datname, extract(epoch FROM now() - query_start)::float8 AS seconds,
            left(query, 200) AS query
     FROM pg_stat_activity
     WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
     ORDER BY query_start LIMIT 1) q),
 'longest_idle_tx', (SELECT row_to_json(q) FROM (
     SELECT pid, usename, datname, client_addr::text AS client,
            extract(epoch FROM now() - state_change)::float8 AS seconds,
            extract(epoch FROM now() - xact_start)::float8 AS xact_seconds, left(query, 200) AS query
     FROM pg_stat_activity
     WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
     ORDER BY state_change LIMIT 1) q),
 'oldest_tx', (SELECT row_to_json(q) FROM (
     SELECT pid, usename, datname, state, extract(epoch FROM now() - xact_start)::float8 AS seconds,
            left(query, 200) AS query
     FROM pg_stat_activity
     WHERE xact_start IS NOT NULL AND backend_type = 'client backend' AND pid <> pg_backend_pid()
     ORDER BY xact_start LIMIT 1) q),
 'databases', (SELECT json_agg(json_build_object('name', datname, 'size', pg_database_size(datname))
                               ORDER BY datname)
               FROM pg_database WHERE datallowconn AND NOT datistemplate),
 'replication', (SELECT coalesce(json_agg(json_build_object(
        'name', application_name, 'client', client_addr::text, 'state', state, 'sync_state', sync_state,
        'lag_bytes', CASE WHEN pg_is_in_recovery() THEN NULL
                          ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END,
        'write_lag', extract(epoch FROM write_lag), 'flush_lag', extract(epoch FROM flush_lag),
        'replay_lag', extract(epoch FROM replay_lag))), '[]'::json)
     FROM pg_stat_replication),
 'receiver', (SELECT row_to_json(r) FROM (
     SELECT status, extract(epoch FROM now() - last_msg_receipt_time)::float8 AS msg_age
     FROM pg_stat_wal_receiver) r),
 'replica_lag_bytes', CASE WHEN pg_is_in_recovery()
                           THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END,
 'archive_mode', current_setting('archive_mode'),
 'archiver', (SELECT row_to_json(a) FROM (
     SELECT archived_count, failed_count, last_archived_wal, last_failed_wal,
            extract(epoch FROM now() - last_archived_time)::float8 AS last_archived_age,
            extract(epoch FROM now() - last_failed_time)::float8 AS last_failed_age,
            (last_failed_time IS NOT NULL
             AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)) AS failing
     FROM pg_stat_archiver) a),
 'archive_ready', (SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') AS f WHERE f LIKE '%.ready'),
 'cache', (SELECT json_build_object('hit', sum(blks_hit), 'read', sum(blks_read)) FROM pg_stat_database),
 'data_directory', current_setting('data_directory'),
 'logging_collector', current_setting('logging_collector'),
 'current_logfile', pg_current_logfile(),
 'now', extract(epoch FROM now())::float8
)
"""

PG_ISREADY = {
    0: "接受连接",
    1: "拒绝连接（启动/关闭中）",
    2: "无响应",
    3: "未尝试连接（参数错误）",
}


def parse_lsclusters(text):
    """Rows of ``pg_lsclusters --no-header``: [{version, cluster, port, status, owner, data, log}]."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[2].isdigit():
            continue
        rows.append({
            "version": parts[0], "cluster": parts[1], "port": int(parts[2]), "status": parts[3],
            "owner": parts[4], "data": parts[5], "log": parts[6] if len(parts) > 6 else "",
        })
    return rows
