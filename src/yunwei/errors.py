"""Errors the CLI turns into a clear message and a non-zero exit code."""

from __future__ import annotations


class YunweiError(Exception):
    """A failure the operator can act on. ``exit_code`` 2 means bad input or usage."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(YunweiError):
    """Malformed input (file, key, value). Always names the file and the key."""

    exit_code = 2

    def __init__(self, source: str, key: str | None, problem: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem
