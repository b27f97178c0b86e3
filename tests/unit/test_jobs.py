"""The job catalogue: the repository's jobs, validation, site overrides, refusals."""

from __future__ import annotations

import pytest
from runner_helpers import env  # noqa: F401  (fixture)

from yunwei.audit import default_log
from yunwei.cli import main
from yunwei.commands.run import run_readonly
from yunwei.errors import InputError, YunweiError
from yunwei.jobs import CHANGE, READ_ONLY, get_job, load_catalogue


def test_repository_catalogue(monkeypatch):
    monkeypatch.delenv("YUNWEI_JOBS", raising=False)
    jobs = load_catalogue()
    assert jobs["ping"].job_class == READ_ONLY and jobs["ping"].playbook == "playbooks/lab_ping.yml"
    assert jobs["inspect"].job_class == READ_ONLY
    assert jobs["login_banner"].job_class == CHANGE and jobs["login_banner"].playbook_path().is_file()
    assert all(j.inventory == "inventories/lab" for j in jobs.values() if j.name != "ticket_watch")
    assert jobs["ticket_watch"].inventory == "inventories/controller"     # the bastion only (service desk)
    # written with a hyphen, as in the contract's documents: the same job, recorded under its own name
    assert get_job("login-banner").name == "login_banner" and get_job("ticket-watch").name == "ticket_watch"
    with pytest.raises(InputError, match="unknown job"):
        get_job("login--banner")


def test_validation_does_not_need_the_playbook(tmp_path):
    site = tmp_path / "site.yml"
    site.write_text("jobs:\n  later:\n    class: read-only\n    playbook: playbooks/not_written_yet.yml\n"
                    "    inventory: inventories/lab\n")
    job = get_job("later", site)
    assert not job.playbook_path().exists()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("jobs:\n  x:\n    class: sometimes\n    playbook: a.yml\n    inventory: i\n", "jobs.x.class"),
        ("jobs:\n  x:\n    class: change\n    inventory: i\n", "jobs.x.playbook"),
        ("jobs:\n  x:\n    class: change\n    playbook: a.yml\n", "jobs.x.inventory"),
        ("jobs:\n  x:\n    class: change\n    playbook: a.yml\n    inventory: i\n    colour: red\n", "jobs.x.colour"),
        ("jobs:\n  X-bad:\n    class: change\n    playbook: a.yml\n    inventory: i\n", "jobs.X-bad"),
        ("jobs:\n  x:\n    class: change\n    playbook: a.yml\n    inventory: i\n    vars: [1]\n", "jobs.x.vars"),
        ("jobs:\n  x:\n    class: change\n    playbook: a.yml\n    inventory: i\n    timeout: -1\n", "jobs.x.timeout"),
        ("jobz: {}\n", "jobz"),
        ("jobs: [\n", "line 2"),  # YAML errors name the line
    ],
)
def test_bad_catalogue_names_file_and_key(tmp_path, text, key):
    site = tmp_path / "site.yml"
    site.write_text(text)
    with pytest.raises(InputError) as info:
        load_catalogue(site)
    assert info.value.source == str(site) and info.value.key == key


def test_site_catalogue_overrides_by_name(tmp_path, monkeypatch):
    site = tmp_path / "site.yml"
    site.write_text("defaults:\n  inventory: /etc/yunwei/inventory\n"
                    "jobs:\n  ping:\n    class: read-only\n    playbook: playbooks/lab_ping.yml\n")
    monkeypatch.setenv("YUNWEI_JOBS", str(site))
    jobs = load_catalogue()
    assert jobs["ping"].inventory == "/etc/yunwei/inventory" and jobs["ping"].source == str(site)
    assert jobs["inspect"].inventory == "inventories/lab"


def test_unknown_job_exits_2_and_audits_refusal_only(env, capsys):  # noqa: F811
    assert main(["run", "no_such_job"]) == 2
    err = capsys.readouterr().err
    assert str(env.jobs) in err and "jobs.no_such_job" in err
    assert [r["event"] for r in default_log().records()] == ["refusal"]


def test_change_job_refuses_to_run_directly(env):  # noqa: F811
    with pytest.raises(YunweiError, match="change job"):
        run_readonly("local_change")
    assert not env.target.exists()
    recs = list(default_log().records())
    assert [r["event"] for r in recs] == ["refusal"] and recs[0]["action"] == "run"


def test_missing_playbook_exits_2_when_run(env, capsys):  # noqa: F811
    env.jobs.write_text(env.jobs.read_text() + "  ghost:\n    class: read-only\n    playbook: playbooks/ghost.yml\n"
                        "    inventory: inventories/lab\n")
    assert main(["run", "ghost"]) == 2
    assert "jobs.ghost.playbook" in capsys.readouterr().err


def test_jobs_command_lists_catalogue(env, capsys):  # noqa: F811
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "login_banner" in out and "local_change" in out and "change" in out


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # a repository change job redefined as read-only
        ("jobs:\n  login_banner:\n    class: read-only\n    playbook: playbooks/login_banner.yml\n", "jobs.login_banner.class"),
        ("jobs:\n  login_banner:\n    class: read-only\n    playbook: playbooks/lab_ping.yml\n", "jobs.login_banner.class"),
        # a new read-only job running a change job's playbook (however the path is spelt)
        ("jobs:\n  banner_now:\n    class: read-only\n    playbook: playbooks/login_banner.yml\n", "jobs.banner_now.playbook"),
        ("jobs:\n  banner_now:\n    class: read-only\n    playbook: ./playbooks/../playbooks/login_banner.yml\n",
         "jobs.banner_now.playbook"),
        ("jobs:\n  banner_now:\n    class: read-only\n    playbook: {root}/playbooks/login_banner.yml\n",
         "jobs.banner_now.playbook"),
        # ... or of a change job of the site catalogue itself
        ("jobs:\n  fix:\n    class: change\n    playbook: site/fix.yml\n"
         "  fix_now:\n    class: read-only\n    playbook: site/fix.yml\n", "jobs.fix_now.playbook"),
    ],
)
def test_site_catalogue_cannot_bypass_review(tmp_path, monkeypatch, capsys, text, key):
    from yunwei.paths import project_root

    monkeypatch.setenv("YUNWEI_JOBS", str(tmp_path / "unused.yml"))
    site = tmp_path / "site.yml"
    site.write_text("defaults: {inventory: inventories/lab}\n" + text.format(root=project_root()))
    with pytest.raises(InputError) as info:
        load_catalogue(site)
    assert info.value.source == str(site) and info.value.key == key
    assert info.value.exit_code == 2
    # a change job may be redefined as a change job by the site
    site.write_text("defaults: {inventory: /etc/yunwei/inv}\n"
                    "jobs:\n  login_banner:\n    class: change\n    playbook: playbooks/login_banner.yml\n")
    assert load_catalogue(site)["login_banner"].inventory == "/etc/yunwei/inv"
