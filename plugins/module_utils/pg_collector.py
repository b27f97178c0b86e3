# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL collector: DB-* checks and metrics (used by yunwei.ops.pg_inspect and yunwei.ops.inspect)."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import time

from ansible_collections.yunwei.ops.plugins.module_utils.inspection import Collector, human_bytes, human_seconds, judge
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
    CATEGORY = "db"

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
                f.check("DB-CONN-001", "数据库可连接", "crit", "query failed",
                        "%s；巡检查询失败（psql 返回 %d）：%s" % (ready_text, rc, (err or out).strip()[:400]),
                        "确认巡检账户（%s）可通过本地 socket 连接（pg_hba.conf peer），查看数据库日志中的报错。" % self.p["os_user"],
                        instance=self.instance)
            else:
                server = json.loads(out.strip().splitlines()[-1])
                f.check("DB-CONN-001", "数据库可连接", "ok", "accepting", ready_text, instance=self.instance)
                self.evaluate(server)
        else:
            f.check("DB-CONN-001", "数据库可连接", "crit", "down", ready_text,
                    "启动数据库（pg_ctlcluster 15 main start 或 systemctl start postgresql），查看数据库日志定位停止原因；"
                    "确认磁盘空间与配置无误后再启动。", instance=self.instance)
        f.metric("db.up", 1 if server else 0, "", self.instance)
        self.error_log(server)
        f.checks.sort(key=lambda c: (c["id"], c["instance"]))
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
        f.check("DB-VER-001", "数据库版本", "ok", s["version"],
                "PostgreSQL %s（%s）" % (s["version"], "备库" if s["in_recovery"] else "主库"), instance=inst)
        usable = max(1, s["max_connections"] - s["reserved"])
        pct = 100.0 * s["connections"] / usable
        f.metric("db.connections", s["connections"], "", inst)
        f.metric("db.conn_pct", pct, "%", inst)
        states = "，".join("%s %s" % kv for kv in sorted((s.get("states") or {}).items()))
        f.judged("DB-CONN-002", "连接数使用率", "db_conn_pct", pct,
                 "客户端连接 %d / 可用 %d（max_connections %d，保留 %d）：%s" % (
                     s["connections"], usable, s["max_connections"], s["reserved"], states or "无"),
                 "连接数接近上限：检查应用连接池配置与连接泄漏，清理空闲连接，必要时引入 pgbouncer 或调大 max_connections。",
                 instance=inst)
        q = s.get("longest_query")
        secs = q["seconds"] if q else 0.0
        f.metric("db.longest_query_s", secs, "s", inst)
        f.judged("DB-SESS-001", "长时间运行的查询", "db_long_query_s", secs,
                 ("最长查询已运行 %s：pid %s，%s@%s：%s" % (human_seconds(secs), q["pid"], q["usename"], q["datname"], q["query"]))
                 if q else "无运行中的查询",
                 "确认该查询是否正常（EXPLAIN 分析、是否被锁阻塞 pg_blocking_pids）；必要时 pg_cancel_backend(pid)，并优化 SQL 或索引。",
                 instance=inst)
        t = s.get("longest_idle_tx")
        secs = t["seconds"] if t else 0.0
        f.metric("db.idle_in_tx_s", secs, "s", inst)
        f.judged("DB-SESS-002", "事务空闲（idle in transaction）", "db_idle_in_tx_s", secs,
                 ("会话 pid %s（%s@%s，客户端 %s）事务中空闲 %s，事务已开启 %s，最后语句：%s" % (
                     t["pid"], t["usename"], t["datname"], t["client"] or "本地", human_seconds(secs),
                     human_seconds(t["xact_seconds"] or 0), t["query"])) if t else "无事务中空闲的会话",
                 "应用开启事务后未提交/回滚：联系应用方修复事务处理；确认无影响后 pg_terminate_backend(pid)，"
                 "并设置 idle_in_transaction_session_timeout。", instance=inst)
        o = s.get("oldest_tx")
        secs = o["seconds"] if o else 0.0
        f.metric("db.oldest_tx_s", secs, "s", inst)
        f.judged("DB-TX-001", "最长事务时长", "db_tx_age_s", secs,
                 ("最老事务已开启 %s：pid %s（%s@%s，状态 %s）：%s" % (
                     human_seconds(secs), o["pid"], o["usename"], o["datname"], o["state"], o["query"])) if o else "无打开的事务",
                 "长事务阻碍 VACUUM 回收并可能持有锁：确认业务后提交/回滚或终止该会话（pg_terminate_backend），检查表膨胀。",
                 instance=inst)
        for db in s.get("databases") or []:
            f.metric("db.size_bytes", db["size"], "B", db["name"])
            f.check("DB-SIZE-001", "数据库大小", "ok", db["size"], "数据库 %s 大小 %s" % (db["name"], human_bytes(db["size"])),
                    instance=db["name"], unit="B")
        self.replication(s)
        self.archiving(s)
        hit, rd = float(s["cache"]["hit"] or 0), float(s["cache"]["read"] or 0)
        if hit + rd >= 10000:
            ratio = 100.0 * hit / (hit + rd)
            f.metric("db.cache_hit_pct", ratio, "%", inst)
            f.judged("DB-CACHE-001", "缓存命中率", "db_cache_hit_pct", ratio,
                     "共享缓冲命中 %.0f，磁盘读取 %.0f，命中率 %.2f%%（自统计重置以来）" % (hit, rd, ratio),
                     "命中率偏低：检查 shared_buffers 与内存、大表全表扫描和缺失的索引（pg_stat_user_tables.seq_scan）。",
                     instance=inst)
        else:
            f.check("DB-CACHE-001", "缓存命中率", "ok", "n/a",
                    "访问量不足（%.0f 次块访问），暂不评估命中率" % (hit + rd), instance=inst, unit="%")

    def replication(self, s):
        f = self.f
        inst = self.instance
        if s["in_recovery"]:
            r = s.get("receiver") or {}
            lag = s.get("replica_lag_bytes") or 0
            f.metric("db.repl_lag_bytes", lag, "B", "self")
            streaming = r.get("status") == "streaming"
            status, limits = ("crit", {"receiver": "streaming"}) if not streaming else (None, None)
            evidence = "备库：WAL 接收进程状态 %s，已接收未回放 %s，最近消息 %s 前" % (
                r.get("status") or "未运行", human_bytes(lag), human_seconds(r.get("msg_age") or 0))
            if status:
                f.check("DB-REPL-001", "复制状态与延迟", status, r.get("status") or "stopped", evidence,
                        "备库未在流复制：检查主库连通性、primary_conninfo、复制槽与主库日志。", instance="standby", threshold=limits)
            else:
                f.judged("DB-REPL-001", "复制状态与延迟", "db_repl_lag_bytes", lag, evidence,
                         "回放落后：检查备库 I/O 与长查询冲突（max_standby_streaming_delay）。", instance="standby")
            return
        rows = s.get("replication") or []
        expected = self.p["expected_replicas"]
        streaming = [r for r in rows if r.get("state") == "streaming"]
        if not rows:
            f.check("DB-REPL-001", "复制状态与延迟", "crit" if expected else "ok", 0,
                    "pg_stat_replication 无备库连接（预期 %d 个）" % expected,
                    "备库未连接：检查备库状态、网络、pg_hba.conf replication 条目与复制槽。", instance="primary",
                    threshold={"expected_replicas": expected})
            return
        if len(streaming) < expected:
            f.check("DB-REPL-002", "备库数量", "crit", len(streaming), "流复制备库 %d 个，预期 %d 个" % (len(streaming), expected),
                    "有备库未在流复制：逐个检查备库状态与主库日志。", instance="primary",
                    threshold={"expected_replicas": expected})
        for r in rows:
            name = r.get("name") or r.get("client") or "standby"
            lag_b = float(r.get("lag_bytes") or 0)
            lag_s = float(r.get("replay_lag") or 0)  # NULL while idle and caught up
            f.metric("db.repl_lag_bytes", lag_b, "B", name)
            f.metric("db.repl_lag_s", lag_s, "s", name)
            st_b, lim_b = self._judge("db_repl_lag_bytes", lag_b)
            st_s, lim_s = self._judge("db_repl_lag_s", lag_s)
            worst = max([st_b, st_s, "crit" if r.get("state") != "streaming" else "ok"], key=("ok", "warn", "crit").index)
            f.check("DB-REPL-001", "复制状态与延迟", worst, lag_b,
                    "备库 %s（%s）状态 %s/%s，LSN 差 %s，write/flush/replay 延迟 %.1f/%.1f/%.1f 秒" % (
                        name, r.get("client") or "本地", r.get("state"), r.get("sync_state"), human_bytes(lag_b),
                        float(r.get("write_lag") or 0), float(r.get("flush_lag") or 0), lag_s),
                    "复制延迟偏大：检查备库磁盘与网络带宽、备库上的长查询，确认 wal_keep_size/复制槽足以避免备库掉队。",
                    instance=name, unit="B", threshold={"bytes": lim_b, "seconds": lim_s})

    def _judge(self, key, value):
        return judge(value, key, self.p["thresholds"])

    def archiving(self, s):
        f = self.f
        inst = self.instance
        a = s.get("archiver") or {}
        if s["archive_mode"] == "off":
            f.check("DB-ARCH-001", "WAL 归档", "ok", "off", "archive_mode=off，未启用 WAL 归档（备份由备份作业负责）",
                    instance=inst)
            return
        ready = int(s.get("archive_ready") or 0)
        f.metric("db.archive_ready", ready, "", inst)
        f.metric("db.archive_failed_total", a.get("failed_count") or 0, "", inst)
        failing = bool(a.get("failing"))
        f.check("DB-ARCH-001", "WAL 归档", "crit" if failing else "ok", a.get("failed_count") or 0,
                "archive_mode=%s，已归档 %s 个，失败累计 %s 个%s" % (
                    s["archive_mode"], a.get("archived_count"), a.get("failed_count"),
                    ("；最近失败 %s（%s 前），之后无成功归档" % (a.get("last_failed_wal"), human_seconds(a.get("last_failed_age") or 0)))
                    if failing else ""),
                "归档命令失败：查看数据库日志中 archive_command 的报错，检查备份存储空间、权限与网络；归档积压会占满 pg_wal。",
                instance=inst, threshold="最近一次归档不得失败")
        age = a.get("last_archived_age")
        if age is not None:
            f.metric("db.archive_age_s", age, "s", inst)
        evidence = "待归档 WAL %d 个，最近归档 %s（%s 前）" % (
            ready, a.get("last_archived_wal") or "无", human_seconds(age) if age is not None else "从未")
        status_ready, lim_ready = self._judge("db_archive_ready", ready)
        status_age, lim_age = self._judge("db_archive_age_s", age if (ready and age is not None) else 0)
        if ready and age is None:
            status_age = "crit"
        worst = max([status_ready, status_age], key=("ok", "warn", "crit").index)
        f.check("DB-ARCH-002", "WAL 归档积压", worst, ready, evidence,
                "WAL 积压未归档：确认 archive_command 正常、备份服务器可达，必要时手动执行归档命令测试；RPO 要求 ≤1 小时。",
                instance=inst, threshold={"ready": lim_ready, "age_s": lim_age})

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
            self.f.check("DB-LOG-001", "数据库错误日志", "ok", 0, "未找到数据库日志（%s）" % (path or "未配置"),
                         instance=path or "")
            return
        self.judge_log(path, "pg", ("DB-LOG-001", "数据库错误日志"), "db.errlog.lines", "db_errlog_lines", "",
                       "无 ERROR/FATAL/PANIC 日志", "以 root（become）运行巡检或将巡检账户加入 adm 组。",
                       "按最常见的报错排查：SQL 错误交应用方修复，认证失败检查来源与口令，FATAL/PANIC 立即检查数据库状态与磁盘。")
