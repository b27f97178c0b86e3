"""wrk (Debian package ``wrk``) as the stress test's load generator: the command of one step, the
Lua script that paces each connection (``delay``) and prints the step's figures as one JSON line,
and the parser of that line. Latencies are in microseconds as wrk measures them."""

from __future__ import annotations

import json
from typing import Any

MARK = "YUNWEI-WRK "
# every request says what it is, so the site's logs and analytics can tell the test from real visitors
USER_AGENT = "yunwei-stress-test (wrk)"

# wrk calls delay() before each request of a connection: pacing every connection bounds the rate.
# done() prints the figures: wrk's percentiles come from its HdrHistogram of every response.
SCRIPT = """\
local pause = tonumber(os.getenv("YUNWEI_WRK_DELAY_MS") or "0")
function delay()
  return pause
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect_errors":%%d,'
    .. '"read_errors":%%d,"write_errors":%%d,"status_errors":%%d,"timeouts":%%d,'
    .. '"p50_us":%%d,"p90_us":%%d,"p95_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
""" % MARK


def command(wrk: str, url: str, script: str, *, seconds: int, connections: int, threads: int = 2,
            timeout_s: int = 2) -> list[str]:
    return [wrk, "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", f"{timeout_s}s", "-H", f"User-Agent: {USER_AGENT}", "-s", script, url]


def parse(stdout: str) -> dict[str, Any]:
    """The step's figures from wrk's output (ValueError when the line is missing: wrk failed)."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            raw = json.loads(line[len(MARK):])
            seconds = raw["duration_us"] / 1e6 if raw["duration_us"] else 0.0
            errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["status_errors"] \
                + raw["timeouts"]
            attempts = raw["requests"] + raw["connect_errors"] + raw["write_errors"]
            return {
                "requests": raw["requests"], "seconds": round(seconds, 3),
                "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
                "errors": errors, "error_pct": round(100.0 * errors / attempts, 3) if attempts else 0.0,
                "status_errors": raw["status_errors"], "timeouts": raw["timeouts"],
                "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"],
                "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000, "p95_ms": raw["p95_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
                "mean_ms": round(raw["mean_us"] / 1000, 3), "bytes": raw["bytes"],
            }
    raise ValueError("wrk printed no result line")
