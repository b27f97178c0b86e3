import os
import subprocess
import sys

from yunwei.cli import build_parser, main


def test_every_command_module_registers():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"lab", "runs", "inspect", "report", "run", "audit", "schedule"} <= set(sub.choices)


def test_output_into_a_closed_pipe_is_quiet():
    """`yunwei ... | head` must not end in a BrokenPipeError traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    proc = subprocess.run(
        [sys.executable, "-m", "yunwei", "lab", "inventory"], stdout=write_end, stderr=subprocess.PIPE, text=True
    )
    os.close(write_end)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_unknown_command_exits_2(capsys):
    try:
        main(["no-such-command"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "invalid choice" in capsys.readouterr().err
