import tomllib

import pytest

from yunwei_dev.lab.quirks import Quirk, apply, classify

CRUN_ERR = 'Error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2: OCI runtime error'
RLIMIT_ERR = (
    "Error: runc: runc create failed: unable to start container process: error during container init: "
    "error setting rlimits for ready process: error setting rlimit type 7: operation not permitted"
)


def test_classify_known_messages():
    assert classify(CRUN_ERR) == {Quirk.CRUN_HYBRID_CGROUPS}
    assert classify(RLIMIT_ERR) == {Quirk.RLIMITS_ABOVE_HARD_LIMIT}
    assert classify(CRUN_ERR + "\n" + RLIMIT_ERR) == set(Quirk)


def test_classify_unknown_error_is_not_a_quirk():
    assert classify("Error: image not known") == set()


def test_apply_to_empty_file_sets_both_fixes():
    conf = tomllib.loads(apply("", set(Quirk)))
    assert conf["engine"]["runtime"] == "runc"
    assert conf["containers"]["default_ulimits"] == ["nofile=20000:20000", "nproc=4096:4096"]


def test_apply_keeps_other_settings_and_replaces_existing_key():
    text = '# site settings\n[containers]\nlog_driver = "k8s-file"\ndefault_ulimits = ["nofile=1:1"]\n\n[engine]\nevents_logger = "file"\n'
    out = apply(text, {Quirk.RLIMITS_ABOVE_HARD_LIMIT, Quirk.CRUN_HYBRID_CGROUPS})
    conf = tomllib.loads(out)
    assert conf["containers"]["log_driver"] == "k8s-file"
    assert conf["containers"]["default_ulimits"] == ["nofile=20000:20000", "nproc=4096:4096"]
    assert conf["engine"] == {"events_logger": "file", "runtime": "runc"}
    assert out.startswith("# site settings\n")
    assert out.count("default_ulimits") == 1


def test_apply_only_what_was_detected():
    conf = tomllib.loads(apply("", {Quirk.CRUN_HYBRID_CGROUPS}))
    assert "containers" not in conf


def test_apply_is_idempotent():
    once = apply("", set(Quirk))
    assert apply(once, set(Quirk)) == once


def test_apply_refuses_invalid_toml():
    with pytest.raises(ValueError):
        apply("[containers\nbroken", {Quirk.CRUN_HYBRID_CGROUPS})
