"""Charts (matplotlib, Agg) with a CJK font, returned as PNG bytes."""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from yunwei.errors import YunweiError  # noqa: E402

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd")


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The family name of an installed CJK font; raises a clear error when none is found."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    if shutil.which("fc-match"):
        try:
            path = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"], capture_output=True,
                                  text=True, timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            path = ""
        if path:
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            if "CJK" in name or "Hei" in name or "Han" in name:
                return name
    raise YunweiError("no CJK font for the report charts: install Debian's fonts-noto-cjk "
                      "(apt-get install fonts-noto-cjk; scripts/bootstrap.sh does) so that 'Noto Sans CJK SC' "
                      "is found by fc-match")


def _figure(width: float = 8.0, height: float = 3.0) -> Figure:
    matplotlib.rcParams["font.family"] = [cjk_font(), "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(width, height), dpi=150)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def line_chart(title: str, unit: str, series: list[dict[str, Any]], *, label_every: int | None = None) -> bytes:
    """Lines of ``series`` = [{label, points: [{t, mean, max}]}]: mean solid, max dashed."""
    fig = _figure()
    _lines(fig.add_subplot(1, 1, 1), title, unit, series, label_every, percent=unit == "%")
    return _png(fig)


def trend_panel(trends: list[dict[str, Any]], suffix: str) -> bytes:
    """One figure, one row per trend (cpu, mem, disk, net, load): cheaper than a figure each."""
    shown = [t for t in trends if not t["empty"]]
    fig = _figure(8.0, 2.2 * max(1, len(shown)))
    for i, t in enumerate(shown, start=1):
        unit = f"，{t['unit']}" if t["unit"] else ""
        _lines(fig.add_subplot(len(shown), 1, i), f"{t['title']}（{suffix}{unit}）", "", t["series"], None,
               percent=t["unit"] == "%")
    return _png(fig)


def _gapped(points: list[dict[str, Any]], gap: float) -> tuple[list[Any], list[float]]:
    """x/y with a break (NaN) wherever two samples are further apart than ``gap`` seconds."""
    xs: list[Any] = []
    ys: list[float] = []
    prev = None
    for p in points:
        if prev is not None and (p["time"] - prev).total_seconds() > gap:
            xs.append(prev + (p["time"] - prev) / 2)
            ys.append(float("nan"))
        xs.append(p["time"])
        ys.append(p["value"])
        prev = p["time"]
    return xs, ys


def run_panel(trends: list[dict[str, Any]], label: str) -> bytes:
    """The health daily's continuous trends: one row per metric, one line per host, one point per
    run; a line breaks where no run sampled for more than 2.5 times the usual interval (a gap)."""
    import statistics

    from matplotlib import dates as mdates

    shown = [t for t in trends if not t["empty"]]
    rows = (len(shown) + 1) // 2
    fig = _figure(7.6, 2.0 * max(1, rows))
    for i, t in enumerate(shown, start=1):
        ax = fig.add_subplot(rows, 2, i)
        tz = None
        scale, unit = 1.0, t["unit"]
        if unit == "B/s":
            top = max(p["value"] for line in t["lines"] for p in line["points"])
            scale, unit = (1e6, "MB/s") if top >= 1e6 else (1e3, "KB/s")
        for j, line in enumerate(t["lines"]):
            pts = line["points"]
            tz = tz or pts[0]["time"].tzinfo
            steps = [(b["time"] - a["time"]).total_seconds() for a, b in zip(pts, pts[1:])]
            gap = max(3 * 3600.0, 2.5 * statistics.median(steps)) if steps else 0
            xs, ys = _gapped(pts, gap)
            ax.plot(xs, [y / scale for y in ys], color=COLORS[j % len(COLORS)] if j < len(COLORS) else None,
                    marker="o", markersize=2.5, linewidth=1, label=line["label"])
        ax.set_xlim(t["since"], t["until"])
        ax.set_title(f"{t['title']}{'（' + unit + '）' if unit else ''}", fontsize=8)
        ax.tick_params(labelsize=6)
        if t["unit"] == "%":
            ax.set_ylim(0, 100)
        else:
            ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=5, loc="upper left", ncol=3, framealpha=0.6)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M", tz=_client_zone()))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    return _png(fig)


def _client_zone() -> Any:
    from yunwei.reports.periods import client_tz

    return client_tz()


def _lines(ax: Any, title: str, unit: str, series: list[dict[str, Any]], label_every: int | None,
           percent: bool = False) -> None:
    xs_all = sorted({p["t"] for s in series for p in s["points"]})
    index = {t: i for i, t in enumerate(xs_all)}
    for i, s in enumerate(series):
        if not s["points"]:
            continue
        color = COLORS[i % len(COLORS)]
        xs = [index[p["t"]] for p in s["points"]]
        ax.plot(xs, [p["mean"] for p in s["points"]], color=color, marker="o", markersize=3,
                label=f"{s['label']} 平均")
        ax.plot(xs, [p["max"] for p in s["points"]], color=color, linestyle="--", linewidth=1,
                label=f"{s['label']} 最大")
    step = label_every or max(1, len(xs_all) // 10)
    ticks = list(range(0, len(xs_all), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([_short(xs_all[i]) for i in ticks], rotation=30, ha="right", fontsize=8)
    ax.set_title(title + (f"（{unit}）" if unit else ""))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    if percent:
        top = max([p["max"] for s in series for p in s["points"]] + [0])
        ax.set_ylim(0, 100 if top <= 100 else top * 1.05)
    elif all(p["mean"] >= 0 for s in series for p in s["points"]):
        ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")


def bar_chart(title: str, labels: list[str], values: list[float], *, unit: str = "",
              colors: list[str] | None = None) -> bytes:
    fig = _figure(8.0, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(values)), values, color=colors or COLORS[0])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center",
                       fontsize=8)
    ax.set_title(title + (f"（{unit}）" if unit else ""))
    ax.grid(True, axis="y", alpha=0.3)
    return _png(fig)


def _short(t: str) -> str:
    """'2026-11-25T08:00' -> '11-25 08:00'; '2026-11-25' -> '11-25'."""
    return t[5:].replace("T", " ")
