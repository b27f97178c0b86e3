# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL collector: DB-* checks and metrics (used by yunwei.ops.pg_inspect and yunwei.ops.inspect)."""

from __future__ import annotations

import json
import os
import pwd
import shlex

from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Collector, human_bytes, human_seconds
from ansible_collections.yunwei.ops.plugins.module_utils.pg_probe import INSPECT_SQL, PG_ISREADY, parse_lsclusters


# Options of the PostgreSQL area (argument spec of yunwei.ops.pg_inspect and of the db option of yunwei.ops.inspect).
OPTIONS = dict(
    os_user=dict(type="str", default="postgres"),
    port=dict(type="int", default=5432),
    socket_dir=dict(type="str"),
    database=dict(type="str", default="postgres"),
    log_file=dict(type="path"),
    expected_replicas=dict(type="int", default=0),
    since=dict(type="float"),
    log_window=dict(type="int", default=86400),
)


class PgInspector(Collector):
    def __init__(self, module, params=None):
        super(PgInspector, self).__init__(module, params)
        self.instance = "port %d" % self.p["port"]

    def as_user(self, args):
        user = self.p["os_user"]
        try:
            me = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            me = ""
        if os.geteuid() != 0 or user == me:
            return args
        runuser = self.module.get_bin_path("runuser", opt_dirs=["/usr/sbin", "/sbin"])
        if runuser:
            return [runuser, "-u", user, "--"] + args
        return ["su", "-s", "/bin/sh", user, "-c", " ".join(shlex.quote(a) for a in args)]

    def conn_args(self):
        args = ["-p", str(self.p["port"])]
        if self.p["socket_dir"]:
            args += ["-h", self.p["socket_dir"]]
        return args

    def run(self, args, data=None):
        return self.module.run_command(self.as_user(args), data=data, cwd="/",
                                       environ_update={"LANG": "C", "LC_ALL": "C", "PGCONNECT_TIMEOUT": "5"})

    def inspect(self):
        f = self.f
        ready, ready_text = self.isready()
        server = {}
        if ready:
            psql = self.module.get_bin_path("psql", required=True)
            rc, out, err = self.run([psql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", self.p["database"]]
                                    + self.conn_args() + ["-f", "-"], data=INSPECT_SQL)
            if rc != 0:
                f.add("DB-CONN-001", "query failed", "%s；巡检查询失败（psql 返回 %d）：%s" % (
                    ready_text, rc, (err or out).strip()[:400]), instance=self.instance, outcome="query_failed",
                    variables={"os_user": self.p["os_user"]})
            else:
                server = json.loads(out.strip().splitlines()[-1])
                f.add("DB-CONN-001", "accepting", ready_text, instance=self.instance)
                self.evaluate(server)
        else:
            f.add("DB-CONN-001", "down", ready_text, instance=self.instance, outcome="down")
        f.metric("db.up", 1 if server else 0, self.instance)
        self.error_log(server)
        f.sort()
        return f.result(server=server)

    def isready(self):
        tool = self.module.get_bin_path("pg_isready")
        if tool:
            rc, out, err = self.run([tool] + self.conn_args() + ["-d", self.p["database"]])
            text = "pg_isready（返回 %d，%s）：%s" % (rc, PG_ISREADY.get(rc, "?"), (out or err).strip())
            return rc == 0, text
        psql = self.module.get_bin_path("psql")
        if not psql:
            return False, "未找到 pg_isready 与 psql"
        rc, out, err = self.run([psql, "-XAtq", "-d", self.p["database"]] + self.conn_args() + ["-c", "SELECT 1"])
        return rc == 0, "psql SELECT 1（返回 %d）：%s" % (rc, (err or out).strip()[:300])

    def evaluate(self, s):
        f = self.f
        inst = self.instance
        f.add("DB-VER-001", s["version"], "PostgreSQL %s（%s）" % (s["version"], "备库" if s["in_recovery"] else "主库"),
              instance=inst)
        usable = max(1, s["max_connections"] - s["reserved"])
        pct = 100.0 * s["connections"] / usable
        f.metric("db.connections", s["connections"], inst)
        f.metric("db.conn_pct", pct, inst)
        states = "，".join("%s %s" % kv for kv in sorted((s.get("states") or {}).items()))
        f.add("DB-CONN-002", pct, "客户端连接 %d / 可用 %d（max_connections %d，保留 %d）：%s" % (
            s["connections"], usable, s["max_connections"], s["reserved"], states or "无"), instance=inst)
        q = s.get("longest_query")
        secs = q["seconds"] if q else 0.0
        f.metric("db.longest_query_s", secs, inst)
        f.add("DB-SESS-001", secs, ("最长查询已运行 %s：pid %s，%s@%s：%s" % (
            human_seconds(secs), q["pid"], q["usename"], q["datname"], q["query"])) if q else "无运行中的查询",
            instance=inst)
        t = s.get("longest_idle_tx")
        secs = t["seconds"] if t else 0.0
        f.metric("db.idle_in_tx_s", secs, inst)
        f.add("DB-SESS-002", secs, ("会话 pid %s（%s@%s，客户端 %s）事务中空闲 %s，事务已开启 %s，最后语句：%s" % (
            t["pid"], t["usename"], t["datname"], t["client"] or "本地", human_seconds(secs),
            human_seconds(t["xact_seconds"] or 0), t["query"])) if t else "无事务中空闲的会话", instance=inst)
        o = s.get("oldest_tx")
        secs = o["seconds"] if o else 0.0
        f.metric("db.oldest_tx_s", secs, inst)
        f.add("DB-TX-001", secs, ("最老事务已开启 %s：pid %s（%s@%s，状态 %s）：%s" % (
            human_seconds(secs), o["pid"], o["usename"], o["datname"], o["state"], o["query"])) if o else "无打开的事务",
            instance=inst)
        for db in s.get("databases") or []:
            f.metric("db.size_bytes", db["size"], db["name"])
            f.add("DB-SIZE-001", db["size"], "数据库 %s 大小 %s" % (db["name"], human_bytes(db["size"])),
                  instance=db["name"])
        self.replication(s)
        self.archiving(s)
        hit, rd = float(s["cache"]["hit"] or 0), float(s["cache"]["read"] or 0)
        if hit + rd >= 10000:
            ratio = 100.0 * hit / (hit + rd)
            f.metric("db.cache_hit_pct", ratio, inst)
            f.add("DB-CACHE-001", ratio, "共享缓冲命中 %.0f，磁盘读取 %.0f，命中率 %.2f%%（自统计重置以来）" % (hit, rd, ratio),
                  instance=inst)
        else:
            f.add("DB-CACHE-001", "n/a", "访问量不足（%.0f 次块访问），暂不评估命中率" % (hit + rd), instance=inst,
                  outcome="too_few_accesses")

    def replication(self, s):
        f = self.f
        if s["in_recovery"]:
            r = s.get("receiver") or {}
            lag = s.get("replica_lag_bytes") or 0
            f.metric("db.repl_lag_bytes", lag, "self")
            streaming = r.get("status") == "streaming"
            f.add("DB-REPL-001", lag if streaming else (r.get("status") or "stopped"),
                  "备库：WAL 接收进程状态 %s，已接收未回放 %s，最近消息 %s 前" % (
                      r.get("status") or "未运行", human_bytes(lag), human_seconds(r.get("msg_age") or 0)),
                  instance="standby", outcome="standby_lag" if streaming else "receiver_down",
                  measured={"db_repl_lag_bytes": lag})
            return
        rows = s.get("replication") or []
        expected = self.p["expected_replicas"]
        streaming = [r for r in rows if r.get("state") == "streaming"]
        if not rows:
            f.add("DB-REPL-001", 0, "pg_stat_replication 无备库连接（预期 %d 个）" % expected, instance="primary",
                  outcome="no_standby" if expected else None, limits={"expected_replicas": expected})
            return
        if len(streaming) < expected:
            f.add("DB-REPL-002", len(streaming), "流复制备库 %d 个，预期 %d 个" % (len(streaming), expected),
                  instance="primary", outcome="too_few", limits={"expected_replicas": expected})
        for r in rows:
            name = r.get("name") or r.get("client") or "standby"
            lag_b = float(r.get("lag_bytes") or 0)
            lag_s = float(r.get("replay_lag") or 0)  # NULL while idle and caught up
            f.metric("db.repl_lag_bytes", lag_b, name)
            f.metric("db.repl_lag_s", lag_s, name)
            f.add("DB-REPL-001", lag_b, "备库 %s（%s）状态 %s/%s，LSN 差 %s，write/flush/replay 延迟 %.1f/%.1f/%.1f 秒" % (
                name, r.get("client") or "本地", r.get("state"), r.get("sync_state"), human_bytes(lag_b),
                float(r.get("write_lag") or 0), float(r.get("flush_lag") or 0), lag_s),
                instance=name, outcome=None if r.get("state") == "streaming" else "not_streaming",
                measured={"db_repl_lag_bytes": lag_b, "db_repl_lag_s": lag_s})

    def archiving(self, s):
        f = self.f
        inst = self.instance
        a = s.get("archiver") or {}
        if s["archive_mode"] == "off":
            f.add("DB-ARCH-001", "off", "archive_mode=off，未启用 WAL 归档（备份由备份作业负责）", instance=inst,
                  outcome="archiving_off")
            return
        ready = int(s.get("archive_ready") or 0)
        f.metric("db.archive_ready", ready, inst)
        f.metric("db.archive_failed_total", a.get("failed_count") or 0, inst)
        failing = bool(a.get("failing"))
        f.add("DB-ARCH-001", a.get("failed_count") or 0, "archive_mode=%s，已归档 %s 个，失败累计 %s 个%s" % (
            s["archive_mode"], a.get("archived_count"), a.get("failed_count"),
            ("；最近失败 %s（%s 前），之后无成功归档" % (a.get("last_failed_wal"), human_seconds(a.get("last_failed_age") or 0)))
            if failing else ""), instance=inst, outcome="failing" if failing else None)
        age = a.get("last_archived_age")
        if age is not None:
            f.metric("db.archive_age_s", age, inst)
        evidence = "待归档 WAL %d 个，最近归档 %s（%s 前）" % (
            ready, a.get("last_archived_wal") or "无", human_seconds(age) if age is not None else "从未")
        f.add("DB-ARCH-002", ready, evidence, instance=inst, outcome="never_archived" if ready and age is None else None,
              measured={"db_archive_ready": ready, "db_archive_age_s": age if (ready and age is not None) else 0})

    def log_path(self, server):
        if self.p["log_file"]:
            return self.p["log_file"]
        if server and server.get("logging_collector") == "on" and server.get("current_logfile"):
            path = server["current_logfile"]
            return path if path.startswith("/") else os.path.join(server["data_directory"], path)
        tool = self.module.get_bin_path("pg_lsclusters")
        if tool:
            rc, out, err = self.module.run_command([tool, "--no-header"])
            for row in parse_lsclusters(out):
                if row["port"] == self.p["port"] and row["log"] and row["log"] != "<unknown>":
                    return row["log"]
        return None

    def error_log(self, server):
        path = self.log_path(server)
        if not path or not os.path.exists(path):
            self.f.add("DB-LOG-001", 0, "未找到数据库日志（%s）" % (path or "未配置"), instance=path or "", outcome="no_log")
            return
        self.scan_log(path, "pg", "DB-LOG-001", "db.errlog.lines", "", "无 ERROR/FATAL/PANIC 日志")
