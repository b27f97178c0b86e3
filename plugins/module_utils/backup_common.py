# -*- coding: utf-8 -*-
# Copyright: yunwei maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces the backup modules share: running a tool as its service user with a bounded time,
state files on the repository hosts, times for evidence, and error text safe to record.

Secrets never go on a command line: restic reads RESTIC_PASSWORD_FILE, pgBackRest its
configuration file (0640, owned by its service user).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import tempfile
import time

STATE_DIR = "/var/lib/yunwei-backup"
# Row counts of every table of one database in one repeatable-read transaction, with the WAL position:
# recorded with each backup (pgbackrest counts) and compared after a restore (restore_drill).
COUNT_SQL = r"""
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT json_build_object(
  'lsn', pg_current_wal_lsn()::text, 'time', extract(epoch from now()),
  'tables', coalesce((SELECT json_object_agg(n.nspname || '.' || c.relname,
      (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname),
                                           false, true, '')))[1]::text::bigint)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'), '{}'::json));
COMMIT;
"""
_FRAME = re.compile(r"(^\s|\.go:\d+|^runtime\.|^main\.|^github\.com/|^goroutine )")
_ERROR = re.compile(r"(fatal|error|denied|no space|refused|timed? ?out|unable|cannot|failed|wrong password|no such)", re.I)


class ToolResult(object):
    def __init__(self, rc, out, err, seconds, timed_out=False):
        self.rc = rc
        self.out = out
        self.err = err
        self.seconds = seconds
        self.timed_out = timed_out

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def tail(self, lines=6):
        """What an operator needs to see, short: the error lines of stderr (else stdout) without
        Go stack frames (restic prints them), else its last lines."""
        text = (self.err or "").strip() or (self.out or "").strip()
        rows = [r for r in text.splitlines() if r.strip() and not _FRAME.search(r)]
        errors = [r.strip() for r in rows if _ERROR.search(r)]
        picked = list(dict.fromkeys(errors))[-lines:] if errors else rows[-lines:]
        if self.timed_out:
            picked.append("timed out after %.0f s" % self.seconds)
        return "\n".join(picked)


def probe_user(module, tool, user):
    """Who reads an existing repository before the setup ran on this host, or None to skip the probe.

    A backup host rebuilt around a kept repository disk has the repository but neither the tool nor
    its service account yet. The probe then reads as root (read-only commands); the tool itself is
    installed by the setup's package step, which runs before the probe. In check mode the packages
    were not installed, so the probe is skipped (None): the real run probes before it writes."""
    import pwd
    import shutil

    if shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") is None:
        if module.check_mode:
            return None
        module.fail_json(msg="%s is not installed on this host: cannot open the existing repository "
                             "(nothing was changed)" % tool)
    try:
        pwd.getpwnam(user)
    except KeyError:
        return "root"
    return user


def run(cmd, user=None, env=None, timeout=None, cwd="/"):
    """Run ``cmd`` (a list) as ``user`` (runuser when we are root and it is another user).

    ``env`` is added to a minimal environment (PATH, LANG, HOME of the user); nothing of the
    module's own environment leaks into the tool. Returns a ToolResult; never raises on failure.
    """
    full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    if user:
        try:
            import pwd

            full_env["HOME"] = pwd.getpwnam(user).pw_dir
        except KeyError:
            return ToolResult(127, "", "user %s does not exist (run the backup_setup job first)" % user, 0.0)
    full_env.update(env or {})
    if user and os.geteuid() == 0 and _current_user() != user:
        # runuser keeps the environment we pass (no login shell), so secrets stay out of argv
        cmd = ["runuser", "-u", user, "--"] + list(cmd)
    started = time.time()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd,
                                start_new_session=True)
    except OSError as exc:
        return ToolResult(127, "", "%s: %s" % (cmd[0], exc), 0.0)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    return ToolResult(proc.returncode, _text(out), _text(err), time.time() - started, timed_out)


def _kill_group(proc):
    import signal

    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _current_user():
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def _text(data):
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def read_state(name):
    """A JSON state file under STATE_DIR, or None."""
    try:
        with open(os.path.join(STATE_DIR, name)) as fh:
            return json.load(fh)
    except (IOError, OSError, ValueError):
        return None


def write_state(name, data):
    """Write a JSON state file atomically (0600 root): a crash never leaves half a file."""
    path = os.path.join(STATE_DIR, name)
    if not os.path.isdir(STATE_DIR):
        os.makedirs(STATE_DIR, 0o700)
    fd, tmp = tempfile.mkstemp(dir=STATE_DIR, prefix=".%s." % name)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, sort_keys=True)
        os.rename(tmp, path)
    except Exception:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def fmt_time(epoch):
    """An epoch as ISO UTC (``2026-12-01T02:05:00Z``): the reports show it in the client's zone."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(epoch))) if epoch else "无"


def disk_usage(path):
    """(total, used, free) bytes of the filesystem holding ``path`` (free: available to non-root)."""
    st = os.statvfs(path)
    total = st.f_blocks * st.f_frsize
    free = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return total, used, free


def manifest(paths, exclude_dir, root=""):
    """sha256 manifest lines ("<sha256>  <path>", symlinks as "symlink:<target>") of every entry under ``paths``.

    ``root``: the paths were restored under this folder (a restore test); the manifest names them
    without it, as they were named when the snapshot was taken, so the two can be compared."""
    lines = []
    for top in paths:
        for dirpath, dirs, files in os.walk(root + top if root else top):
            dirs.sort()
            if os.path.abspath(dirpath).startswith(exclude_dir):
                continue
            for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    lines.append("symlink:%s  %s" % (os.readlink(path), path[len(root):]))
                elif stat.S_ISREG(st.st_mode):
                    h = hashlib.sha256()
                    try:
                        with open(path, "rb") as fh:
                            for chunk in iter(lambda: fh.read(1 << 20), b""):
                                h.update(chunk)
                    except (IOError, OSError):
                        continue
                    lines.append("%s  %s" % (h.hexdigest(), path[len(root):]))
    lines.sort(key=lambda x: x.split("  ", 1)[1])
    return "\n".join(lines) + "\n"
