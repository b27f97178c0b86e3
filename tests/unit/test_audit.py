"""The audit log: hash chain, head anchor, verify names the first bad record; property-based
tampering (modification, deletion, insertion, reordering, truncation): every mutation detected."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yunwei.audit.log import GENESIS, AuditLog, canonical, record_hash, verify_lines
from yunwei.audit.show import parse_when, select
from yunwei.cli import main
from yunwei.errors import InputError

N = 24


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> list[bytes]:
    log = AuditLog(tmp_path_factory.mktemp("audit") / "audit.jsonl")
    events = ["request", "preview", "approval", "denial", "execution", "result", "refusal", "schedule_change"]
    for i in range(N):
        log.append(events[i % len(events)], operator=f"op{i % 3}", job=f"job{i % 4}", request=f"req-{i:012x}",
                   detail="中文 ✓" if i % 5 == 0 else None)
    lines = log.lines()
    assert len(lines) == N
    return lines


def head_of(lines: list[bytes]) -> tuple[int, str]:
    if not lines:
        return 0, GENESIS
    return len(lines), json.loads(lines[-1])["hash"]


def test_append_verify_and_head(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    assert log.verify().ok  # empty log, no head
    r1 = log.append("request", operator="alice", job="x")
    r2 = log.append("approval", operator="bob", job="x")
    assert r1["prev"] == GENESIS and r2["prev"] == r1["hash"] and r2["seq"] == 2
    assert r2["hash"] == record_hash(r2)
    assert log.read_head() == (2, r2["hash"])
    result = log.verify()
    assert result.ok and result.count == 2 and result.head == r2["hash"]
    assert log.verify(expect_head=f"2:{r2['hash']}").ok
    assert not log.verify(expect_head="1:" + r1["hash"]).ok


def test_each_tampering_names_first_bad_record(base):
    head = head_of(base)
    assert verify_lines(base, head).ok
    # modification
    rec = json.loads(base[4])
    rec["operator"] = "mallory"
    lines = base[:4] + [(canonical(rec) + "\n").encode()] + base[5:]
    v = verify_lines(lines, head)
    assert not v.ok and v.bad_seq == 5 and "modified" in v.problem
    # modification with a recomputed hash: the next record's link breaks
    rec["hash"] = record_hash(rec)
    lines = base[:4] + [(canonical(rec) + "\n").encode()] + base[5:]
    v = verify_lines(lines, head)
    assert not v.ok and v.bad_seq == 6
    # deletion
    v = verify_lines(base[:7] + base[8:], head)
    assert not v.ok and v.bad_seq == 8
    # insertion
    v = verify_lines(base[:3] + [base[10]] + base[3:], head)
    assert not v.ok and v.bad_seq == 4
    # reordering
    lines = list(base)
    lines[2], lines[9] = lines[9], lines[2]
    v = verify_lines(lines, head)
    assert not v.ok and v.bad_seq == 3
    # truncation: a valid shorter chain, caught by the head anchor
    v = verify_lines(base[:20], head)
    assert not v.ok and v.bad_seq == 21 and "truncated" in v.problem
    # whitespace-only edit
    v = verify_lines(base[:1] + [base[1].replace(b",", b", ", 1)] + base[2:], head)
    assert not v.ok and v.bad_seq == 2
    # head anchor deleted
    assert not verify_lines(base, None).ok


def _mutate(lines: list[bytes], kind: str, data: st.DataObject) -> list[bytes]:
    n = len(lines)
    out = list(lines)
    if kind == "flip":
        i = data.draw(st.integers(0, n - 1))
        pos = data.draw(st.integers(0, len(out[i]) - 1))
        mask = data.draw(st.integers(1, 255))
        b = bytearray(out[i])
        b[pos] ^= mask
        out[i] = bytes(b)
    elif kind in ("field", "field_rehash"):
        i = data.draw(st.integers(0, n - 1))
        rec = json.loads(out[i])
        key = data.draw(st.sampled_from(sorted(k for k in rec if k != "hash")))
        new = data.draw(st.one_of(st.text(max_size=8), st.integers(), st.none()))
        if rec.get(key) == new:
            new = f"{rec.get(key)}x"
        rec[key] = new
        if kind == "field_rehash":
            rec["hash"] = record_hash(rec)
        out[i] = (canonical(rec) + "\n").encode()
    elif kind == "delete":
        count = data.draw(st.integers(1, min(3, n)))
        i = data.draw(st.integers(0, n - count))
        del out[i:i + count]
    elif kind == "insert":
        i = data.draw(st.integers(0, n))
        source = data.draw(st.sampled_from(["copy", "forged"]))
        if source == "copy":
            out.insert(i, lines[data.draw(st.integers(0, n - 1))])
        else:  # a well-formed record whose hash and link are right for its position
            prev = json.loads(out[i - 1])["hash"] if i else GENESIS
            rec = {"seq": i + 1, "time": "2026-01-01T00:00:00Z", "event": "approval", "operator": "mallory", "prev": prev}
            rec["hash"] = record_hash(rec)
            out.insert(i, (canonical(rec) + "\n").encode())
    elif kind == "reorder":
        i = data.draw(st.integers(0, n - 2))
        j = data.draw(st.integers(i + 1, n - 1))
        out[i], out[j] = out[j], out[i]
    elif kind == "truncate":
        k = data.draw(st.integers(1, n))
        out = out[: n - k]
    elif kind == "truncate_partial":
        cut = data.draw(st.integers(1, len(out[-1]) - 1))
        out[-1] = out[-1][:cut]
    return out


@settings(max_examples=1200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(
    length=st.integers(2, N),
    kind=st.sampled_from(["flip", "field", "field_rehash", "delete", "insert", "reorder", "truncate",
                          "truncate_partial"]),
    data=st.data(),
)
def _mutation_is_detected(base, checked, length, kind, data):
    lines = base[:length]
    head = head_of(lines)
    assert verify_lines(lines, head).ok
    mutated = _mutate(lines, kind, data)
    assert mutated != lines
    result = verify_lines(mutated, head)
    checked.append(kind)
    assert not result.ok, (kind, result)
    # the first bad record is never after the first line that differs (+1 for adjacent duplicates)
    first_diff = next((i for i, (a, b) in enumerate(zip(lines, mutated)) if a != b), min(len(lines), len(mutated)))
    assert result.bad_seq is not None and result.bad_seq <= first_diff + 2


def test_random_mutations_are_always_detected_at_least_1000_of_every_kind(base):
    """Self-contained: runs the property test and counts what it checked (never skips)."""
    checked: list[str] = []
    _mutation_is_detected(base, checked)
    assert len(checked) >= 1000
    assert set(checked) == {"flip", "field", "field_rehash", "delete", "insert", "reorder", "truncate",
                            "truncate_partial"}


def test_cli_verify_and_show(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("YUNWEI_TZ", raising=False)
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path))
    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(path)
    log.append("request", operator="alice", job="login_banner", request="req-000000000001")
    log.append("approval", operator="bob", job="login_banner", request="req-000000000001")
    log.append("result", operator="alice", job="inspect")
    assert main(["audit", "verify"]) == 0
    assert "ok: 3 records" in capsys.readouterr().out
    assert main(["audit", "show", "--operator", "bob", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["event"] for r in shown] == ["approval"]
    assert main(["audit", "show", "--job", "inspect", "--json"]) == 0
    assert [r["event"] for r in json.loads(capsys.readouterr().out)] == ["result"]
    from zoneinfo import ZoneInfo

    today = dt.datetime.fromisoformat(shown[0]["time"].replace("Z", "+00:00")).astimezone(
        ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert main(["audit", "show", "--date", today, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["audit", "show", "--date", "2001-01-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    assert main(["audit", "verify"]) == 1
    assert "BAD at record 2" in capsys.readouterr().out
    assert main(["audit", "show", "--since", "yesterday"]) == 2


def test_select_and_parse_when():
    recs = [{"time": "2026-05-01T10:00:00Z", "job": "a", "operator": "x", "event": "request"},
            {"time": "2026-05-02T10:00:00Z", "job": "b", "operator": "y", "event": "approval", "requester": "x"}]
    assert len(list(select(recs, operator="x"))) == 2
    assert [r["job"] for r in select(recs, since=parse_when("2026-05-02", "--since"))] == ["b"]
    assert [r["job"] for r in select(recs, until=parse_when("2026-05-01", "--until", end=True))] == ["a"]
    with pytest.raises(InputError):
        parse_when("May 1", "--since")


def test_append_after_truncation_stays_detected(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(5):
        log.append("request", n=i)
    lines = log.lines()
    log.path.write_bytes(b"".join(lines[:3]))
    log.append("request", n=99)  # continues from the head anchor, not from the truncated file
    v = log.verify()
    assert not v.ok and v.bad_seq == 4


def test_signed_checkpoints_catch_a_full_rewrite(tmp_path, monkeypatch, capsys):
    """Someone rewrites history *and* the head consistently; a signed checkpoint still catches it."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from runner_helpers import make_key, write_allowed

    from yunwei.audit import checkpoint

    key = make_key(tmp_path, "alice")
    allowed = tmp_path / "allowed_signers"
    write_allowed(allowed, {"alice": key})
    monkeypatch.setenv("YUNWEI_ALLOWED_SIGNERS", str(allowed))
    monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(key))
    monkeypatch.setenv("YUNWEI_OPERATOR", "alice")
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path))
    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(path)
    for i in range(4):
        log.append("approval", operator="bob", n=i)
    assert main(["audit", "checkpoint"]) == 0
    log.append("result", operator="bob")
    assert main(["audit", "verify"]) == 0
    assert "checkpoints: 1 verified" in capsys.readouterr().out
    # full rewrite: a new consistent chain with a changed record 2, and a matching head
    forged = AuditLog(tmp_path / "forged.jsonl")
    for rec in (json.loads(x) for x in log.lines()):
        fields = {k: v for k, v in rec.items() if k not in ("seq", "time", "event", "prev", "hash")}
        if rec["seq"] == 2:
            fields["operator"] = "mallory"
        forged.append(rec["event"], **fields)
    path.write_bytes(forged.path.read_bytes())
    log.head_path.write_bytes(forged.head_path.read_bytes())
    assert log.verify().ok  # the chain alone cannot tell
    result = checkpoint.verify(log)
    assert not result.ok and "record 4 differs" in result.problem
    assert main(["audit", "verify"]) == 1
    # a tampered checkpoint signature is caught too
    cps = checkpoint.checkpoints_path(log)
    cp = json.loads(cps.read_text())
    cp["hash"] = json.loads(log.lines()[3])["hash"]
    cps.write_text(canonical(cp) + "\n")
    assert "bad signature" in checkpoint.verify(log).problem


def _die_after_record(log: AuditLog, monkeypatch) -> None:
    """Make the next append die between writing its record and moving the head (the crash window)."""
    real = log._write_head
    calls = []

    def write_head(count, last_hash, pending=None):
        calls.append(pending)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        real(count, last_hash, pending)

    monkeypatch.setattr(log, "_write_head", write_head)
    with pytest.raises(KeyboardInterrupt):
        log.append("request", n="crash")
    monkeypatch.setattr(log, "_write_head", real)


def test_append_recovers_its_own_record_after_a_crash(tmp_path, monkeypatch):
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(3):
        log.append("request", n=i)
    _die_after_record(log, monkeypatch)
    assert len(log.lines()) == 4 and log.read_head()[0] == 3
    assert log.verify().ok  # the record the head announced as pending
    r5 = log.append("request", n=4)
    assert r5["seq"] == 5 and r5["prev"] == json.loads(log.lines()[3])["hash"]
    v = log.verify()
    assert v.ok and v.count == 5 and log.read_head() == (5, r5["hash"])


def test_a_record_appended_after_the_head_is_never_adopted(tmp_path):
    """Attack: someone who can append to the log adds a well-formed record after the head."""
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(3):
        log.append("request", n=i)
    count, head = log.read_head()
    forged = {"seq": count + 1, "time": "2026-01-01T00:00:00Z", "event": "approval", "operator": "bob",
              "request": "req-000000000001", "prev": head}
    forged["hash"] = record_hash(forged)
    with open(log.path, "ab") as fh:
        fh.write((canonical(forged) + "\n").encode())
    v = log.verify()
    assert not v.ok and v.bad_seq == 4
    rec = log.append("request", n=3)  # continues from the head, not from the forged record
    assert rec["seq"] == 4 and rec["prev"] == head
    assert not log.verify().ok


def test_append_does_not_adopt_more_than_one_or_a_forged_record(tmp_path, monkeypatch):
    log = AuditLog(tmp_path / "a.jsonl")
    for i in range(3):
        log.append("request", n=i)
    head = log.head_path.read_bytes()
    log.append("request", n=3)
    log.append("request", n=4)
    log.head_path.write_bytes(head)  # two records after the head: not a crash window
    log.append("request", n=5)
    assert not log.verify().ok
    # the crash window, but the pending record was edited afterwards
    log2 = AuditLog(tmp_path / "b.jsonl")
    for i in range(3):
        log2.append("request", n=i)
    _die_after_record(log2, monkeypatch)
    lines = log2.lines()
    rec = json.loads(lines[3])
    rec["n"] = 99
    rec["hash"] = record_hash(rec)
    log2.path.write_bytes(b"".join(lines[:3]) + (canonical(rec) + "\n").encode())
    assert log2.append("request", n=4)["seq"] == 4  # not adopted: the head goes on from record 3
    assert not log2.verify().ok


def test_show_date_is_a_local_day_of_the_client(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("YUNWEI_TZ", raising=False)  # default Asia/Shanghai (UTC+8)
    monkeypatch.setenv("YUNWEI_VAR", str(tmp_path))
    path = tmp_path / "audit" / "audit.jsonl"
    recs = [{"time": "2026-11-24T15:59:00Z", "job": "a"},   # 23:59 on the 24th in Shanghai
            {"time": "2026-11-24T16:00:00Z", "job": "b"},   # 00:00 on the 25th
            {"time": "2026-11-25T15:59:59Z", "job": "c"},   # 23:59:59 on the 25th
            {"time": "2026-11-25T16:00:00Z", "job": "d"}]   # the 26th
    day = (parse_when("2026-11-25", "--date"), parse_when("2026-11-25", "--date", end=True))
    assert [r["job"] for r in select(recs, since=day[0], until=day[1])] == ["b", "c"]
    monkeypatch.setenv("YUNWEI_TZ", "UTC")
    day = (parse_when("2026-11-25", "--date"), parse_when("2026-11-25", "--date", end=True))
    assert [r["job"] for r in select(recs, since=day[0], until=day[1])] == ["c", "d"]
    monkeypatch.delenv("YUNWEI_TZ")
    log = AuditLog(path)
    log.append("request", operator="alice", job="x")
    lines = log.lines()
    rec = json.loads(lines[0])
    rec["time"] = "2026-11-24T17:00:00.000000Z"  # 01:00 on the 25th in Shanghai
    rec["hash"] = record_hash(rec)
    path.write_bytes((canonical(rec) + "\n").encode())
    assert main(["audit", "show", "--date", "2026-11-25", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["audit", "show", "--date", "2026-11-24", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
