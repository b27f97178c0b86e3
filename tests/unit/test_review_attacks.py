"""The red-team attacks of issue #11 that one OS user can try (lab mode, and admin mode as root).

Each test is an attack that worked before: it must now be refused, and the refusal audited.
The attacks that need two OS logins and the PostgreSQL store are in
tests/integration/test_review_team.py; the off-site anchor in tests/integration/test_audit_anchor.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from runner_helpers import env, fake_run_job, make_key, write_allowed  # noqa: F401  (fixture)

from yunwei.audit import anchor_text, default_log
from yunwei.cli import main
from yunwei.errors import InputError, YunweiError
from yunwei.review import signing, workflow
from yunwei.review.store import review_store
from yunwei.runner import run_job as real_run_job


@pytest.fixture(autouse=True)
def _fast_runner(monkeypatch):
    monkeypatch.setattr(workflow, "run_job", fake_run_job)


def rdir(request_id: str) -> Path:
    return review_store().requests_dir / request_id


def records(event: str | None = None) -> list[dict]:
    return [r for r in default_log().records() if event is None or r["event"] == event]


def approved(env, **kw) -> dict:  # noqa: F811
    env.as_operator("alice")
    req = workflow.create_request("local_change", quiet=True, **kw)
    env.as_operator("bob")
    workflow.approve(req["id"])
    env.as_operator("alice")
    return req


def refused_execute(req: dict, match: str) -> None:
    before = len(records())
    with pytest.raises(YunweiError, match=match):
        workflow.execute(req["id"], quiet=True)
    assert [r["event"] for r in records()[before:]] == ["refusal"]


# -- 1. self-approval -------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["two lines", "one line"])
def test_one_key_listed_under_two_names_is_refused(env, layout):  # noqa: F811
    """alice lists her own second key as bob's too: the file is refused, nobody signs with it."""
    pub = " ".join(env.keys["alice"].with_suffix(".pub").read_text().split()[:2])
    if layout == "two lines":
        env.allowed.write_text(f'alice namespaces="yunwei-approval" {pub}\nbob namespaces="yunwei-approval" {pub}\n')
    else:
        env.allowed.write_text(f'alice,bob namespaces="yunwei-approval" {pub}\n')
    env.monkeypatch.setenv("YUNWEI_SIGNING_KEY", str(env.keys["alice"]))
    with pytest.raises(InputError, match="belongs to one operator only") as info:
        workflow.create_request("local_change", quiet=True)
    assert info.value.source == str(env.allowed) and info.value.key.startswith("line ")
    assert records() and records()[-1]["event"] == "refusal"
    with pytest.raises(InputError, match="one operator only"):
        signing.verify({"a": "b"}, "sig", "bob", env.allowed)


# -- 2. changes after approval ----------------------------------------------------------------

EVIL_CALLBACK = '''
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "evil"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        open("{marker}", "w").write("loaded")
'''

FLAGS_PLAYBOOK = """\
- name: Record what decides privilege escalation
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the become flags and the plugin path in effect
      ansible.builtin.copy:
        content: "flags={{ lookup('ansible.builtin.config', 'DEFAULT_BECOME_FLAGS') }}\\n{{
          lookup('ansible.builtin.config', 'DEFAULT_MODULE_PATH') | join(':') }}\\n"
        dest: "{{ target }}"
        mode: "0644"
"""


def test_environment_set_after_approval_does_not_reach_the_run(env, monkeypatch):  # noqa: F811
    """ANSIBLE_BECOME_FLAGS and an unreviewed callback (ANSIBLE_CALLBACK_PLUGINS +
    ANSIBLE_CALLBACKS_ENABLED) set at execute time change nothing: the job gets yunwei's environment."""
    (env.root / "pb.yml").write_text(FLAGS_PLAYBOOK)
    req = approved(env)
    plugins = env.root / "evil_plugins"
    plugins.mkdir()
    marker = env.root / "callback-was-loaded"
    (plugins / "evil.py").write_text(EVIL_CALLBACK.format(marker=marker))
    monkeypatch.setenv("ANSIBLE_BECOME_FLAGS", "-H -S -n; touch /tmp/pwned")
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", str(plugins))
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "evil")
    monkeypatch.setenv("PYTHONPATH", str(plugins))
    monkeypatch.setattr(workflow, "run_job", real_run_job)
    execution = workflow.execute(req["id"], quiet=True)
    assert execution["status"] == "successful", execution
    flags, module_path = env.target.read_text().splitlines()
    assert flags == "flags="  # ansible-core's default (none), not the operator's
    assert not marker.exists()
    assert str(Path.home()) not in module_path  # nothing from the operator's ~/.ansible/plugins


def test_group_vars_beside_an_inventory_file_are_reviewed(env):  # noqa: F811
    (env.root / "group_vars").mkdir()
    (env.root / "group_vars" / "all.yml").write_text("greeting: reviewed\n")
    req = approved(env)
    (env.root / "group_vars" / "all.yml").write_text("greeting: changed after approval\n")
    refused_execute(req, r"digest differs.*group_vars/all\.yml")
    assert "group_vars/all.yml" in records()[-1]["reason"]
    assert not env.target.exists()


def _dir_inventory_job(env) -> None:  # noqa: F811
    """An inventory folder whose group_vars is a link, as in every non-default lab."""
    inv = env.root / "inv.d"
    inv.mkdir()
    shutil.copy(env.root / "inv.yml", inv / "hosts.yml")
    shared = env.root / "shared_vars"
    shared.mkdir()
    (shared / "all.yml").write_text("greeting: reviewed\n")
    (inv / "group_vars").symlink_to(shared)
    env.jobs.write_text(env.jobs.read_text().replace(f"inventory: {env.root}/inv.yml\n    vars: {{target: {env.target}",
                                                     f"inventory: {inv}\n    vars: {{target: {env.target}"))


def test_a_symlinked_group_vars_folder_is_reviewed(env):  # noqa: F811
    _dir_inventory_job(env)
    req = approved(env)
    (env.root / "shared_vars" / "all.yml").write_text("greeting: changed after approval\n")
    refused_execute(req, r"digest differs.*inv\.d/group_vars/all\.yml")


def test_a_re_pointed_link_is_a_change_even_with_equal_content(env):  # noqa: F811
    _dir_inventory_job(env)
    req = approved(env)
    other = env.root / "other_vars"
    shutil.copytree(env.root / "shared_vars", other)
    link = env.root / "inv.d" / "group_vars"
    link.unlink()
    link.symlink_to(other)
    refused_execute(req, r"digest differs.*inv\.d/group_vars")


def test_the_collection_link_target_is_reviewed(env, tmp_path):  # noqa: F811
    """.collections/ansible_collections/yunwei/ops pointed at another copy of the collection."""
    root = tmp_path / "checkout"
    coll = root / ".collections" / "ansible_collections" / "yunwei"
    coll.mkdir(parents=True)
    for name in ("copy_a", "copy_b"):
        module = tmp_path / name / "plugins" / "modules"
        module.mkdir(parents=True)
        (module / "m.py").write_text("# reviewed module\n")
    (coll / "ops").symlink_to(tmp_path / "copy_a")
    env.monkeypatch.setenv("YUNWEI_ROOT", str(root))
    req = approved(env)
    (coll / "ops").unlink()
    (coll / "ops").symlink_to(tmp_path / "copy_b")  # same content, another target
    refused_execute(req, r"digest differs.*\.collections/ansible_collections/yunwei/ops")
    (coll / "ops").unlink()
    (coll / "ops").symlink_to(tmp_path / "copy_a")
    (tmp_path / "copy_a" / "plugins" / "modules" / "m.py").write_text("# edited after approval\n")
    refused_execute(req, r"digest differs.*yunwei/ops/plugins/modules/m\.py")


def test_the_yunwei_package_the_plugins_import_is_reviewed(env, tmp_path, monkeypatch):  # noqa: F811
    """Since issue 12 the check catalogue, the judge and the journal live in the yunwei package the
    collection's plugins import, not under plugins/: a change to it after approval is refused.
    (The package location is the one thing faked: the real one is this checkout's src/yunwei.)"""
    from yunwei.review import digest

    package = tmp_path / "site" / "yunwei"
    (package / "catalogue" / "data").mkdir(parents=True)
    (package / "catalogue" / "data" / "vocabulary.yml").write_text("statuses: {}\n")
    assert digest.package_dir() == Path(__file__).resolve().parents[2] / "src" / "yunwei"
    monkeypatch.setattr(digest, "package_dir", lambda: package)
    req = approved(env)
    (package / "catalogue" / "data" / "vocabulary.yml").write_text("statuses: {ok: {rank: 9}}\n")
    refused_execute(req, r"digest differs.*site/yunwei/catalogue/data/vocabulary\.yml")


# -- 3. read-only jobs that change hosts -------------------------------------------------------

@pytest.mark.parametrize("how", ["copy", "hard link"])
def test_a_read_only_job_with_a_change_playbook_is_refused_whatever_its_path(env, capsys, how):  # noqa: F811
    sneaky = env.root / "inspect_more.yml"
    if how == "copy":
        shutil.copy(env.root / "pb.yml", sneaky)
    else:
        os.link(env.root / "pb.yml", sneaky)
    env.jobs.write_text(env.jobs.read_text() + "  sneaky:\n    class: read-only\n"
                        f"    playbook: {sneaky}\n    inventory: {env.root}/inv.yml\n    vars: {{target: {env.target}}}\n")
    assert main(["run", "sneaky"]) == 2
    assert "jobs.sneaky.playbook" in capsys.readouterr().err and "same content" in records()[-1]["reason"]
    assert not env.target.exists()


def test_inspect_refuses_privilege_variables(env, capsys, monkeypatch):  # noqa: F811
    """``yunwei inspect -e ansible_become_flags=...`` ran a root command; now nothing runs."""
    import yunwei.runner as runner_pkg

    def must_not_run(*a, **kw):
        raise AssertionError("the job ran")

    monkeypatch.setattr(runner_pkg, "run_job", must_not_run)
    monkeypatch.delenv("YUNWEI_JOBS")  # the repository's inspect job
    assert main(["inspect", "-e", "ansible_become_flags=-H -S -n; touch /tmp/pwned", "-q"]) == 2
    err = capsys.readouterr().err
    assert "ansible_become_flags" in err and "only the catalogue can set them" in err
    assert records()[-1]["event"] == "refusal" and "ansible_become_flags" in records()[-1]["reason"]


@pytest.mark.parametrize(("argv", "name"), [
    (["run", "local_read", "-e", "ansible_ssh_common_args=-o ProxyCommand=sh"], "ansible_ssh_common_args"),
    # not declared by local_read; a harmless path, so a regression cannot damage the test machine
    (["run", "local_read", "-e", "target=/tmp/yunwei-test-undeclared-target"], "target"),
    (["request", "local_change", "-e", "ansible_become_user=root", "-q"], "ansible_become_user"),
])
def test_undeclared_and_privilege_variables_are_refused(env, capsys, argv, name):  # noqa: F811
    assert main(argv) == 2
    assert not Path("/tmp/yunwei-test-undeclared-target").exists()
    assert f"-e: {name}:" in capsys.readouterr().err
    assert [r["event"] for r in records()] == ["refusal"]


# -- 4. runs once -----------------------------------------------------------------------------

def test_deleting_the_execution_record_does_not_allow_a_second_run(env):  # noqa: F811
    req = approved(env)
    workflow.execute(req["id"], quiet=True)
    env.target.unlink()
    for name in ("execution.json", "result.json"):
        (rdir(req["id"]) / name).unlink(missing_ok=True)
    refused_execute(req, "already ran")
    assert not env.target.exists()
    assert workflow.show(req["id"])["state"] == "executed (its execution record is missing)"


def test_a_copied_request_folder_is_not_a_request(env):  # noqa: F811
    req = approved(env)
    workflow.execute(req["id"], quiet=True)
    env.target.unlink()
    copy_id = "req-0123456789ab"
    shutil.copytree(rdir(req["id"]), rdir(copy_id))
    for name in ("execution.json", "result.json"):
        (rdir(copy_id) / name).unlink(missing_ok=True)
    assert main(["execute", copy_id, "-q"]) == 2  # the folder holds another request's signed id
    # ... and re-signed under the new id by its requester, it has neither approval nor audit record
    data = json.loads((rdir(copy_id) / "request.json").read_text())
    data["id"] = copy_id
    data["signature"] = signing.sign(workflow._signed_fields(data, "request", "alice"), env.keys["alice"])
    (rdir(copy_id) / "request.json").write_text(json.dumps(data))
    with pytest.raises(YunweiError, match="not in the audit log"):
        workflow.execute(copy_id, quiet=True)
    assert not env.target.exists()


# -- 5. bypassing the audit log ---------------------------------------------------------------

def test_the_audit_log_cannot_be_moved_by_the_environment(env, tmp_path):  # noqa: F811
    req = approved(env)
    elsewhere = tmp_path / "elsewhere.jsonl"
    env.monkeypatch.setenv("YUNWEI_AUDIT_LOG", str(elsewhere))
    workflow.execute(req["id"], quiet=True)
    assert not elsewhere.exists()
    assert [r["event"] for r in records()][-2:] == ["execution", "result"]
    assert default_log().verify().ok


# -- 6. the rest: TTL ceiling, denial, preview, file modes, full rewrite -----------------------

def test_approval_ttl_has_a_ceiling(env):  # noqa: F811
    env.monkeypatch.setenv("YUNWEI_APPROVAL_TTL_HOURS", "876000")
    env.as_operator("alice")
    req = workflow.create_request("local_change", quiet=True)
    env.as_operator("bob")
    with pytest.raises(InputError, match="exceeds the ceiling of 168 h"):
        workflow.approve(req["id"])
    # an approval signed (by bob's own key) with a far expiry, written by hand
    fields = workflow._signed_fields(req, "approve", "bob", {"expires": "2126-01-01T00:00:00Z"})
    (rdir(req["id"]) / "approval.json").write_text(json.dumps({
        "approver": "bob", "expires": fields["expires"], "fields": fields,
        "signature": signing.sign(fields, env.keys["bob"])}))
    env.as_operator("alice")
    refused_execute(req, "beyond the ceiling of 168 h")


def test_deleting_a_denial_does_not_undo_it(env):  # noqa: F811
    req = approved(env)
    env.as_operator("bob")
    workflow.deny(req["id"], "wrong window")
    (rdir(req["id"]) / "denial.json").unlink()
    env.as_operator("alice")
    refused_execute(req, "denied by bob: wrong window")
    assert workflow.show(req["id"])["state"] == "denied"
    assert not env.target.exists()


def test_a_preview_edited_by_the_requester_is_not_approved(env, capsys):  # noqa: F811
    env.as_operator("alice")
    req = workflow.create_request("local_change", quiet=True)
    path = rdir(req["id"]) / "preview.json"
    preview = json.loads(path.read_text())
    preview["changes"] = []  # "nothing to see here"
    path.write_text(json.dumps(preview))
    env.as_operator("bob")
    assert main(["review", req["id"]]) == 0
    assert "differs from the one the audit log recorded" in capsys.readouterr().out
    with pytest.raises(YunweiError, match="preview differs"):
        workflow.approve(req["id"])


def test_request_files_are_private(env):  # noqa: F811
    req = approved(env)
    workflow.execute(req["id"], quiet=True)
    d = rdir(req["id"])
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for name in ("request", "preview", "approval", "execution", "result"):
        assert stat.S_IMODE((d / f"{name}.json").stat().st_mode) == 0o600, name
    assert stat.S_IMODE(default_log().path.stat().st_mode) == 0o600


def test_a_rewritten_log_fails_against_the_head_printed_in_a_report(env, capsys):  # noqa: F811
    approved(env)
    text = anchor_text()
    assert text.startswith("审计日志锚点 ")
    head = text.split()[-1]
    log = default_log()
    count, digest = head.split(":")
    assert log.verify(f"{count}:{digest[:16]}").ok and not log.verify(f"{count}:{digest[:15]}").ok
    forged = type(log)(env.root / "forged" / "audit.jsonl")
    for rec in log.records():  # a consistent history with alice as approver
        fields = {k: v for k, v in rec.items() if k not in ("seq", "time", "event", "prev", "hash")}
        fields["operator"] = "alice"
        forged.append(rec["event"], **fields)
    log.path.write_bytes(forged.path.read_bytes())
    log.head_path.write_bytes(forged.head_path.read_bytes())
    assert log.verify().ok  # the chain alone cannot tell
    count, digest = head.split(":")
    for expected in (head, f"{count}:{digest[:16]}"):  # the full head, or a footer's short form
        assert main(["audit", "verify", "--expect-head", expected]) == 1
        assert "expected (externally anchored) head" in capsys.readouterr().out


# -- admin mode, as root: the environment cannot choose what decides trust ---------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="root-owned admin files need root")


def admin_config(env, tmp_path) -> Path:  # noqa: F811
    admin = tmp_path / "etc-yunwei"
    admin.mkdir(mode=0o755)
    shutil.copy(env.allowed, admin / "allowed_signers")
    shutil.copy(env.jobs, admin / "jobs.yml")
    config = admin / "yunwei.yml"
    config.write_text(f"jobs: {admin / 'jobs.yml'}\nallowed_signers: {admin / 'allowed_signers'}\n"
                      f"review: {{store: {tmp_path / 'state'}}}\napproval: {{ttl_hours: 8, max_ttl_hours: 24}}\n")
    for p in (admin, *admin.iterdir()):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return config


@needs_root
@pytest.mark.parametrize(("name", "value"), [
    ("YUNWEI_ALLOWED_SIGNERS", "/home/alice/my_signers"),
    ("YUNWEI_AUDIT_LOG", "/tmp/elsewhere.jsonl"),
    ("YUNWEI_JOBS", "/home/alice/jobs.yml"),
    ("YUNWEI_APPROVAL_TTL_HOURS", "876000"),
    ("YUNWEI_OPERATOR", "bob"),
])
def test_admin_mode_refuses_trust_variables(env, tmp_path, capsys, name, value):  # noqa: F811
    env.monkeypatch.setenv("YUNWEI_CONFIG", str(admin_config(env, tmp_path)))
    env.monkeypatch.delenv("YUNWEI_JOBS")
    env.monkeypatch.delenv("YUNWEI_ALLOWED_SIGNERS")
    env.monkeypatch.delenv("YUNWEI_OPERATOR")
    assert main(["admin", "check"]) == 0
    assert "8 h (ceiling 24 h)" in capsys.readouterr().out
    env.monkeypatch.setenv(name, value)
    assert main(["approve", "req-0123456789ab"]) == 2
    assert f"${name}" in capsys.readouterr().err
    log = default_log()
    assert log.path == tmp_path / "state" / "audit" / "audit.jsonl"
    rec = list(log.records())[-1]
    assert rec["event"] == "refusal" and name in rec["reason"] and rec["operator"] == "root"


@needs_root
@pytest.mark.parametrize("weakness", ["group-writable file", "group-writable folder", "owned by nobody"])
def test_admin_configuration_must_be_root_owned_and_not_writable(env, tmp_path, capsys, weakness):  # noqa: F811
    config = admin_config(env, tmp_path)
    env.monkeypatch.setenv("YUNWEI_CONFIG", str(config))
    victim = config.parent / "allowed_signers"
    if weakness == "group-writable file":
        os.chmod(victim, 0o664)
    elif weakness == "group-writable folder":
        os.chmod(config.parent, 0o775)
        victim = config
    else:
        os.chown(victim, 65534, 65534)
    assert main(["requests"]) == 2
    err = capsys.readouterr().err
    assert "not trusted" in err and str(config) in err


def test_lab_mode_says_so(env, capsys):  # noqa: F811
    import yunwei.config as config

    env.monkeypatch.setattr(config, "_announced", False)
    env.as_operator("alice")
    assert main(["request", "local_change", "-q"]) == 0
    assert "lab mode" in capsys.readouterr().err


def test_interrupted_execution_is_recorded(env):  # noqa: F811
    """A claim whose process is gone (here: a pid that cannot exist) is interrupted, not running."""
    req = approved(env)
    from yunwei.review.store import write_private

    write_private(rdir(req["id"]) / "execution.json", {"operator": "alice", "status": "running",
                                                        "node": __import__("socket").gethostname(),
                                                        "pid": 2 ** 22 + 1, "pid_start": "1"})
    assert [r["state"] for r in workflow.list_requests()] == ["executed (interrupted)"]
    assert records()[-1]["event"] == "result" and records()[-1]["status"] == "interrupted"
    refused_execute(req, "already ran")
    assert sys.modules["yunwei.review.workflow"] is workflow
