"""Bad input gets the promised answer (issue 10, item 5): an InputError (exit 2) naming the file and
the key or line, never a traceback and never a silent last-wins."""

from __future__ import annotations

import math

import pytest
from runner_helpers import env  # noqa: F401  (fixture)

from yunwei.catalogue import validate_thresholds
from yunwei.cli import main
from yunwei.commands._common import parse_extravars
from yunwei.errors import InputError
from yunwei.jobs import load_catalogue
from yunwei.schedule.model import load_schedule, parse_text
from yunwei.yamlfile import load_yaml, load_yaml_text

JOB = "    class: read-only\n    playbook: a.yml\n    inventory: i\n"


# -- the strict loader ------------------------------------------------------------------------
def test_duplicate_key_is_refused_naming_its_path_and_lines(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("jobs:\n  inspect:\n    class: read-only\n    timeout: 900\n    timeout: 9\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert info.value.source == str(path) and info.value.key == "jobs.inspect.timeout"
    assert "line 5" in info.value.problem and "first at line 4" in info.value.problem


def test_duplicates_in_lists_and_merge_keys(tmp_path):
    with pytest.raises(InputError) as info:
        load_yaml_text("w:\n  - {name: a, name: b}\n", "f.yml")
    assert info.value.key == "w[0].name"
    # a YAML merge key is not a duplicate
    assert load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "f.yml")["other"] == {"x": 1, "y": 2}


def test_dates_stay_strings():
    data = load_yaml_text("start: 2027-02-30\nend: 2027-10-07\n", "f.yml")
    assert data == {"start": "2027-02-30", "end": "2027-10-07"}


@pytest.mark.parametrize(("content", "key", "words"), [
    (b"jobs: {}\n# \xff\xfe\n", "line 2", "not UTF-8"),
    (b"jobs: [\n", "line 2", "not valid YAML"),
    (b"a: 1\n---\nb: 2\n", "line 2", "not valid YAML"),
])
def test_unreadable_yaml_names_the_line(tmp_path, content, key, words):
    path = tmp_path / "f.yml"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert info.value.key == key and words in info.value.problem, info.value


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        load_yaml(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_yaml(tmp_path / "nope.yml")


# -- the job catalogue, -e @file, the schedule ----------------------------------------------
def test_catalogue_duplicate_non_utf8_and_directory(tmp_path):
    site = tmp_path / "site.yml"
    site.write_text("jobs:\n  x:\n" + JOB + "  x:\n" + JOB)
    with pytest.raises(InputError) as info:
        load_catalogue(site)
    assert info.value.key == "jobs.x"
    site.write_bytes(b"jobs:\n  x:\n" + JOB.encode() + b"    description: \xe4\xb8\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_catalogue(site)
    with pytest.raises(InputError, match="is a directory"):
        load_catalogue(tmp_path)


def test_catalogue_timeouts_and_profiles(tmp_path):
    site = tmp_path / "site.yml"
    site.write_text("defaults:\n  timeout: {read-only: 60}\n  kill_grace: 5\njobs:\n  x:\n" + JOB +
                    "  y:\n" + JOB + "    timeout: 7\n")
    jobs = load_catalogue(site)
    assert (jobs["x"].timeout, jobs["y"].timeout, jobs["x"].kill_grace) == (60, 7, 5)
    assert load_catalogue()["inspect"].timeout == 900  # the repository's inspections: 15 min
    for text, key in [("defaults:\n  timeout: {sometimes: 5}\njobs: {}\n", "defaults.timeout.sometimes"),
                      ("defaults:\n  timeout: {read-only: .inf}\njobs: {}\n", "defaults.timeout.read-only"),
                      ("defaults:\n  kill_grace: 0\njobs: {}\n", "defaults.kill_grace"),
                      ("jobs:\n  x:\n" + JOB + "    timeout: true\n", "jobs.x.timeout"),
                      ("jobs:\n  x:\n" + JOB + "    profile: weekly\n", "jobs.x.profile")]:
        site.write_text(text)
        with pytest.raises(InputError) as info:
            load_catalogue(site)
        assert info.value.key == key, text


def test_extravars_file_duplicate_key_and_sources(tmp_path):
    f = tmp_path / "ev.yml"
    f.write_text("inspection_threshold_overrides:\n  cpu_pct: {warn: 1}\n  cpu_pct: {warn: 2}\n")
    with pytest.raises(InputError) as info:
        parse_extravars([f"@{f}"])
    assert info.value.source == str(f) and info.value.key == "inspection_threshold_overrides.cpu_pct"
    f.write_text("a: 1\n")
    evars = parse_extravars([f"@{f}", "b=2"])
    assert evars == {"a": 1, "b": "2"} and evars.sources == {"a": f"-e @{f}", "b": "-e b=..."}


SCHED = "timezone: Asia/Shanghai\njobs:\n  local_read: {cron: \"%s\", profile: %s}\n"


@pytest.mark.parametrize(("text", "key", "words"), [
    (SCHED % ("30 8 30 2 *", "daily"), "jobs.local_read.cron", "never fires"),
    (SCHED % ("0 0 31 4,6,9,11 *", "daily"), "jobs.local_read.cron", "never fires"),
    (SCHED % ("30 8 * * *", "weekly"), "jobs.local_read.profile", "unknown profile"),
    (SCHED % ("30 8 * * *", "daily") + "heightened:\n  jobs: [local_read]\n  cron: '0 8 * * *'\n  profile: hi\n",
     "heightened.profile", "unknown profile"),
    (SCHED % ("30 8 * * *", "daily") + "heightened:\n  jobs: [local_read]\n  cron: '0 8 * * *'\n"
     "  windows:\n    - {name: x, start: 2027-02-30, end: 2027-03-01}\n", "heightened.windows[0].start", "date"),
    (SCHED % ("30 8 * * *", "daily") + "jobs: {}\n", "jobs", "duplicate key"),
])
def test_schedule_bad_input(env, text, key, words):  # noqa: F811
    with pytest.raises(InputError) as info:
        parse_text(text, "schedule.yml")
    assert info.value.key == key and words in info.value.problem, info.value


def test_leap_day_cron_is_fine(env):  # noqa: F811
    assert parse_text(SCHED % ("0 0 29 2 *", "daily"), "s.yml").entries["local_read"].cron.text == "0 0 29 2 *"


def test_schedule_file_directory_and_bytes(env, tmp_path, capsys):  # noqa: F811
    with pytest.raises(InputError, match="is a directory"):
        load_schedule(tmp_path)
    bad = tmp_path / "s.yml"
    bad.write_bytes(b"timezone: Asia/Shanghai\n# \xfe\n")
    assert main(["schedule", "validate", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not UTF-8" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["inf", "nan", "1e300", "-1", "0", "abc"])
def test_approval_ttl_must_be_a_usable_number(monkeypatch, value):
    from yunwei.review.workflow import ttl_hours

    monkeypatch.setenv("YUNWEI_APPROVAL_TTL_HOURS", value)
    with pytest.raises(InputError) as info:
        ttl_hours()
    assert info.value.source == "$YUNWEI_APPROVAL_TTL_HOURS"


def test_run_refuses_unknown_profile(env, capsys):  # noqa: F811
    assert main(["run", "local_read", "--profile", "weekly"]) == 2
    assert "unknown profile 'weekly'" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "key", "words"), [
    ("- {name: a, start: 2027-02-30, end: 2027-03-02}\n", "heightened[0].start", "not a date"),
    ("- {name: a, start: 2027-03-01, end: 2027-03-02, end: 2027-03-09}\n", "[0].end", "duplicate key"),
])
def test_report_windows_file_bad_input(tmp_path, text, key, words):
    from yunwei.reports.windows import load_windows_file

    path = tmp_path / "windows.yml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_windows_file(path)
    assert info.value.source == str(path) and info.value.key == key and words in info.value.problem, info.value


# -- thresholds ----------------------------------------------------------------------------------
def test_threshold_validation_refuses_what_cannot_be_judged():
    cases = {
        "cpu_pct": {"warn": math.nan},
        "mem_pct": {"crit": math.inf},
        "swap_pct": {"warn": -math.inf},
        "fs_pct": {"warn": -5},
        "inode_pct": {"crit": 150},
        "zombies": {"warn": True},
        "pending_updates": {"warn": "10"},
        "load_per_core": {"warn": 3, "crit": 1},
        "cert_days": {"warn": 7, "crit": 30},
        "time_offset_s": {"warn": 1, "level": 2},
        "colour_pct": {"warn": 1},
    }
    problems = validate_thresholds(cases, "inspection_threshold_overrides")
    text = "\n".join(problems)
    for key in cases:
        assert f"inspection_threshold_overrides.{key}" in text, key
    assert len(problems) == len(cases)
    # in range: 101 switches a percentage level off; growth may exceed 100 %
    assert validate_thresholds({"cpu_pct": {"warn": 101, "crit": 101}, "db_growth_pct_week": {"crit": 400},
                                   "db_repl_lag_bytes": {"crit": 1e12}}) == []


def test_threshold_problems_name_where_the_value_was_written():
    problems = validate_thresholds({"cpu_pct": {"warn": math.nan}}, "t", lambda *values: " (group_vars/web.yml:3:9)")
    assert problems == ["t.cpu_pct.warn: must be a finite number, got nan (group_vars/web.yml:3:9)"]
