"""Journals and PDF helpers for the report tests (a development tool, not part of the product).

``year_journal`` writes a synthetic year (yunwei_dev.synthetic) plus the faults the client's
reviewer asked about, through the store's public write API:

* the contract's service period starts on 2026-03-01: January and February owe nothing;
* 2026-06-10 14:00: nginx stopped on web01 (its port, process and HTTP probes fail with it), seen
  up again by the next day's 09:00 run;
* 2026-07-15 14:00: db01 unreachable;
* 2026-08-01 .. 03: the daily run found no host (an empty inventory): it fails and never counts.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from yunwei.reports.contract import parse_contract
from yunwei.store import Check, Run

SH = ZoneInfo("Asia/Shanghai")
YEAR_START = date(2026, 1, 1)
NO_HOST_DAYS = (date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3))
NGINX_DOWN = datetime(2026, 6, 10, 14, 0, tzinfo=SH)
DB_UNREACHABLE = datetime(2026, 7, 15, 14, 0, tzinfo=SH)

CONTRACT = {
    "project": {"name": "省政务云上云平台运维服务项目", "number": "YW-TEST-001"},
    "client": {"name": "某省政务服务和数据管理局"}, "contractor": {"name": "某某信息技术有限公司"},
    "service_period": {"start": "2026-03-01", "end": "2027-02-28"},
    "team": [{"name": "张伟", "role": "项目经理", "logins": ["zhangwei"]},
             {"name": "李娜", "role": "运维工程师", "logins": ["zhangsan", "lina"]}],
    "signers": {"inspection-record": [{"role": "巡检人"}, {"role": "复核人", "name": "张伟"}],
                "monthly": [{"role": "编制人", "name": "李娜"}, {"role": "审核人", "name": "张伟"},
                            {"role": "甲方确认"}]},
}


def contract():
    return parse_contract(CONTRACT, "tests/report_journals.py")


def _run(store, started: datetime, hosts: list[str], checks: list[tuple], *, status: str = "ok") -> str:
    rid = str(uuid.uuid4())
    t = started.astimezone(timezone.utc)
    store.begin_run(Run(id=rid, job="inspect", profile="daily", operator="zhangsan", started_at=t, hosts=hosts))
    store.write_batch(rid, checks=[Check(id=cid, category=cat, status=st, host=h, time=t + timedelta(seconds=5),
                                         title=title, instance=inst, value=value, unit=unit, evidence=ev,
                                         suggestion=sug)
                                   for h, cid, cat, st, title, inst, value, unit, ev, sug in checks])
    store.finish_run(rid, status, ended_at=t + timedelta(seconds=40))
    return rid


def nginx_stopped(host: str = "web01") -> list[tuple]:
    return [
        (host, "WEB-NGINX-001", "web", "crit", "nginx 运行状态", "", "stopped", "", "未找到 nginx 主进程",
         "启动 nginx 并查看错误日志找出停止原因。"),
        (host, "HOST-PORT-001", "host", "crit", "监听端口", "", 1, "", "预期但未监听：80", "确认服务已启动。"),
        (host, "WEB-HTTP-001", "web", "crit", "网站可用性（HTTP 状态）", "http://127.0.0.1/", "unreachable", "",
         "请求失败：Connection refused", "检查 nginx。"),
        (host, "WEB-HTTP-003", "web", "crit", "页面关键字", "http://127.0.0.1/", False, "", "页面无法获取",
         "检查 nginx。"),
        (host, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "已运行 30 天", ""),
    ]


def year_journal(store, hosts: int = 5) -> dict:
    from yunwei_dev.synthetic import host_names, make_journal

    skip = [((d - YEAR_START).days, 0) for d in NO_HOST_DAYS]
    truth = make_journal(store, start=YEAR_START, days=365, runs_per_day=1, hosts=hosts, checks_per_host=24,
                         seed=11, skip=skip, operator="zhangsan")
    names = host_names(hosts)
    _run(store, NGINX_DOWN, names, nginx_stopped("web01") + [
        (h, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "", "") for h in names if h != "web01"])
    _run(store, DB_UNREACHABLE, names, [
        ("db01", "HOST-REACH-001", "host", "crit", "主机可达性", "", "unreachable", "", "无法连接主机", "检查网络。")] + [
        (h, "HOST-UP-001", "host", "ok", "运行时间", "", 30, "d", "", "") for h in names if h != "db01"])
    for d in NO_HOST_DAYS:
        _run(store, datetime.combine(d, time(9, 0), tzinfo=SH), [], [], status="failed")
    return {"truth": truth, "hosts": names}


# ----------------------------------------------------------------------------- PDF
@dataclass
class Pdf:
    path: Path
    pages: int
    sizes: list[tuple[float, float]]
    text: str


def pdf_info(path: Path) -> Pdf:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(path)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    sizes = []
    for line in info.splitlines():
        if line.startswith("Page") and "size:" in line:
            parts = line.split("size:")[1].split()
            sizes.append((float(parts[0]), float(parts[2])))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return Pdf(path, pages, sizes, text)


def is_a4(size: tuple[float, float]) -> bool:
    w, h = sorted(size)
    return abs(w - 595.3) < 2 and abs(h - 841.9) < 2


def keep_pngs(pdf: Path, folder: Path, *, dpi: int = 50) -> list[Path]:
    """Every page as a PNG under ``folder`` (git-ignored test artifacts, for a human to look at)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))
