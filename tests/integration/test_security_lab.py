"""Security operations on the lab, in one combined run (CI budget): feeds imported and refused, the vuln-scan
job on web01 (OpenSCAP on the bastion against a feed built from web01's installed versions, nmap against its
inventory address with one unexpected port opened by the test), findings -> tickets, the security-daily job
reading a privileged login, both reports, and bad input refused with exit 2 before any host is contacted."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from yunwei_dev import ovalfeed

from yunwei.store import open_store

pytestmark = [pytest.mark.lab]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORT = 18765


def _listening(lab, host: str) -> set[int]:
    out = lab.exec(host, "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout
    return {int(line.split()[1].rsplit(":", 1)[1], 16) for line in out.splitlines()[1:]
            if len(line.split()) > 3 and line.split()[3] == "0A"}


def _site(tmp_path: Path, lab, name: str, group_vars: dict) -> Path:
    inv = tmp_path / name / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    shutil.copy(lab.inventory, inv / "hosts.yml")
    (inv / "group_vars" / "all" / "security.yml").write_text(yaml.safe_dump(group_vars))
    jobs = tmp_path / name / "jobs.yml"
    jobs.write_text(yaml.safe_dump({"jobs": {
        "vuln-scan": {"class": "read-only", "playbook": "playbooks/vuln_scan.yml", "inventory": str(inv),
                      "extra_vars": ["security_targets"]},
        "security-daily": {"class": "read-only", "playbook": "playbooks/security_daily.yml", "inventory": str(inv)}}}))
    return jobs


def _activate_risks(yw, path: Path) -> None:
    """Install ``path`` as the approved accepted risks of ``yw``'s var/, as executing an approved
    `yunwei request risks` does (requester tester, approver li)."""
    import os

    from yunwei.review.reviewed_file import digest_bytes
    from yunwei.vuln import risks

    old = os.environ.get("YUNWEI_VAR")
    os.environ["YUNWEI_VAR"] = str(yw.var)
    try:
        req = {"id": "req-lab", "requester": "tester", "risks_file": str(path), "digest": digest_bytes(path.read_bytes())}
        risks.activate(req, approver="li")
    finally:
        if old is None:
            os.environ.pop("YUNWEI_VAR")
        else:
            os.environ["YUNWEI_VAR"] = old


def _versions(lab, host: str, *packages: str) -> dict[str, str]:
    out = lab.exec(host, "dpkg-query", "-W", "-f", "${Package} ${Version}\n", *packages).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_vuln_scan_exposure_findings_reports_and_bad_input(lab, yw, tmp_path):
    # -- feeds: the lab feed from web01's real versions, a truncated one, an outdated one, another release's
    v = _versions(lab, "web01", "openssh-server", "nginx")
    vulns = [ovalfeed.Vuln("CVE-2099-1001", "openssh-server", ovalfeed.above(v["openssh-server"]), "critical"),
             ovalfeed.Vuln("CVE-2099-1002", "nginx", ovalfeed.above(v["nginx"]), "medium"),
             ovalfeed.Vuln("CVE-2099-1003", "nginx", "1.0-1", "high")]  # fixed long ago: must not be found
    vulns += ovalfeed.filler(200)
    now = dt.datetime.now(dt.timezone.utc)
    good, old, other, broken = (tmp_path / n for n in ("good.xml", "old.xml", "deb11.xml", "broken.xml"))
    good.write_text(ovalfeed.build(vulns, generated=now))
    old.write_text(ovalfeed.build(vulns, generated=now - dt.timedelta(days=60)))
    other.write_text(ovalfeed.build(vulns, version=11, generated=now))
    broken.write_text(good.read_text()[:5000])

    proc = yw("vuln", "import", str(broken))
    assert proc.returncode == 2 and "broken.xml" in proc.stderr and "truncated" in proc.stderr
    proc = yw("vuln", "import", str(old))
    assert proc.returncode == 0 and "older than 30 days" in proc.stderr, proc.stderr
    proc = yw("vuln", "import", str(other))
    assert proc.returncode == 2 and "Debian GNU/Linux 11" in proc.stderr and "deb11.xml" in proc.stderr
    feed = json.loads(yw("vuln", "feed").stdout)
    assert feed["source"] == "old.xml"  # the previous feed stays in use
    assert yw("vuln", "import", str(good)).returncode == 0
    assert yw("vuln", "import", str(old)).returncode == 2  # never rolls back to older knowledge
    assert json.loads(yw("vuln", "feed").stdout)["source"] == "good.xml"

    # -- bad input: a bad port in the allow-list, a target outside the inventory; no host contacted
    bad = _site(tmp_path, lab, "bad", {"security_allowed_ports": {"web": [80, 70000]}})
    proc = yw("vuln", "scan", "--jobs", str(bad), "-l", "web01", "-q")
    assert proc.returncode == 2 and "security_allowed_ports.web[1]" in proc.stderr and "security.yml" in proc.stderr, proc.stderr
    allowed = sorted(_listening(lab, "web01") - {PORT})
    jobs = _site(tmp_path, lab, "site", {"security_allowed_ports": {"all": [22], "web": allowed}})
    proc = yw("vuln", "scan", "--jobs", str(jobs), "-e", "security_targets=web01,evil01", "-q")
    assert proc.returncode == 2 and "'evil01' is not a host of the inventory" in proc.stderr, proc.stderr
    with open_store(yw.store) as s:
        assert not any(s.checks(run_id=r.id) for r in s.list_runs(job="vuln-scan"))

    # -- the scan: one unexpected port, opened by the test
    lab.exec("web01", "sh", "-c", f"nohup python3 -m http.server {PORT} >/dev/null 2>&1 & echo $! > /run/yw-test-port.pid")
    created_auth = lab.exec("web01", "test", "-e", "/var/log/auth.log", check=False).returncode != 0
    try:
        proc = yw("vuln", "scan", "--jobs", str(jobs), "-l", "web01", "-q")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        with open_store(yw.store) as s:
            run = s.list_runs(job="vuln-scan")[0]
            checks = {(c.id, c.instance): c for c in s.checks(run_id=run.id)}
        assert checks[("SEC-VULN-001", "CVE-2099-1001 openssh-server")].status == "crit"
        assert checks[("SEC-VULN-001", "CVE-2099-1002 nginx")].status == "warn"
        assert ("SEC-VULN-001", "CVE-2099-1003 nginx") not in checks  # the fixed version is below the installed one
        assert checks[("SEC-FEED-001", "")].status == "ok" and "good.xml" in checks[("SEC-FEED-001", "")].evidence
        port = checks[("SEC-PORT-001", str(PORT))]
        assert port.status == "crit" and "python3" in port.evidence and port.suggestion
        assert not [k for k in checks if k[0] == "SEC-PORT-001" and k[1] not in ("", str(PORT))]

        found = {f["fkey"]: f for f in json.loads(yw("vuln", "findings", "--json").stdout)}
        assert set(found) == {"CVE-2099-1001 openssh-server", "CVE-2099-1002 nginx", f"tcp/{PORT}"}
        assert found["CVE-2099-1001 openssh-server"]["installed"] == v["openssh-server"]
        assert found[f"tcp/{PORT}"]["process"] == "python3"
        from yunwei.servicedesk import tickets as tk

        with open_store(yw.store) as s:
            tickets = {t.id: t for t in tk.list_tickets(s)}
            from yunwei.vuln.findings import open_findings

            opened = open_findings(s, min_severity="high")
        assert {t.grade for t in tickets.values()} == {"sec-major", "sec-normal"} and len(tickets) == 2
        assert found["CVE-2099-1001 openssh-server"]["ticket_id"] in tickets and not found["CVE-2099-1002 nginx"]["ticket_id"]
        assert [(f["host"], f["severity"]) for f in opened] == [("web01", "critical"), ("web01", "high")]

        # -- accepted risk: no command accepts one on an operator's word; the reviewed file does (its
        # two-person review is tests/unit/test_vuln.py; here the approved request is activated as `execute` does)
        proc = yw("vuln", "accept", str(found["CVE-2099-1002 nginx"]["id"]), "--approver", "li")
        assert proc.returncode == 2 and "invalid choice" in proc.stderr
        until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        risks_file = tmp_path / "vuln-risks.yml"
        risks_file.write_text(yaml.safe_dump({"risks": [{"host": "web01", "finding": "CVE-2099-1002 nginx",
                                                         "justification": "待上游修复", "expires": until}]},
                                             allow_unicode=True))
        _activate_risks(yw, risks_file)

        # -- the daily report's baseline drift since the last audit: /etc/group made world-writable after it
        proc = yw("run", "baseline-audit", "-l", "web01", "-q")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        lab.exec("web01", "chmod", "0666", "/etc/group")

        # -- the daily report's privileged logins (the lab has no syslog daemon: the test writes the lines
        # sshd and sudo would log through it)
        stamp = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="microseconds")
        lab.exec("web01", "sh", "-c", "umask 027; cat >> /var/log/auth.log", input=(
            f"{stamp} web01 sshd[4242]: Failed password for root from 10.0.0.99 port 4711 ssh2\n"
            f"{stamp} web01 sudo:      ops : TTY=pts/0 ; PWD=/home/ops ; USER=root ; "
            "COMMAND=/usr/bin/psql postgresql://app:S3cretLabPw@localhost/appdb\n"))
        proc = yw("run", "security-daily", "--jobs", str(jobs), "-l", "web01,db01", "-q")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    finally:
        lab.exec("web01", "chmod", "0644", "/etc/group", check=False)
        lab.exec("web01", "sh", "-c", "kill $(cat /run/yw-test-port.pid); rm -f /run/yw-test-port.pid", check=False)
        if created_auth:
            lab.exec("web01", "rm", "-f", "/var/log/auth.log", check=False)

    # -- both reports
    out = tmp_path / "out"
    quarter = f"{dt.date.today().year}-Q{(dt.date.today().month - 1) // 3 + 1}"
    proc = yw("report", "vuln", "--date", "today", "--format", "html,xlsx", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = next(out.glob("vuln-*.html")).read_text()
    assert "漏洞扫描报告" in html and "CVE-2099-1001" in html and "security-updates" in html and "good.xml" in html
    assert "接受风险" in html and "待上游修复" in html and f"TCP {PORT}" in html
    assert yw("report", "vuln", "--quarter", quarter, "--format", "html", "--out", str(out)).returncode == 0
    proc = yw("report", "security-daily", "--date", "today", "--format", "html,xlsx", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    daily = next(out.glob("security-daily-*.html")).read_text()
    assert "安全运行日报" in daily and "10.0.0.99" in daily and "psql" in daily and "CVE-2099-1001" in daily
    # a password typed on the sudo command line reaches neither the client's report nor the journal
    assert "S3cretLabPw" not in daily
    for f in yw.store.parent.glob(yw.store.name + "*"):  # the database and its WAL
        assert b"S3cretLabPw" not in f.read_bytes(), f
    assert "tester" in daily  # the operator active that day (audit log)
    assert "db01 上没有认证日志" in daily  # no syslog there: said, never "no privileged login"
    drift = daily[daily.index("五、安全基线变化"):daily.index("六、")]
    assert "BASE-FILE-001" in drift and "/etc/group root:root 0666" in drift and "项变为不符合" in drift
    proc = yw("report", "security-daily", "--date", "2026-13-01", "--format", "html", "--out", str(out))
    assert proc.returncode == 2 and "--date" in proc.stderr
