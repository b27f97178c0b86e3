"""Every job runs through ansible-runner: a private data dir per run under var/runner/."""

from yunwei.runner.run import RunResult, run_job

__all__ = ["RunResult", "run_job"]
