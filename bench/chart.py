"""The chart docs/performance.md shows: for every stack, requests per second
(the median, and a line across the rounds' range) beside the server's CPU
time per request, as horizontal bars in one SVG.

Written by hand rather than with a plotting library: a few rectangles and
labels, no dependency for the benchmark's virtualenv, and a file that diffs
as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from load import Figures

ROW = 22  # pixels per stack
LABEL_WIDTH = 250
PANEL_WIDTH = 300
GAP = 40
TOP = 48
FONT = "font-family='sans-serif' font-size='12'"
TITLE_FONT = "font-family='sans-serif' font-size='14' font-weight='bold'"

# Bar colours by what a stack is: the service, a reference, the peer.
COLOURS = {"baked": "#1f6fb4", "bare": "#9aa5b1", "peer": "#e07b24"}


def colour(name: str) -> str:
    for kind in ("peer", "bare"):
        if kind in name:
            return COLOURS[kind]
    return COLOURS["baked"]


def panel(
    x: float,
    title: str,
    values: Sequence[tuple[float, float, float]],
    names: Sequence[str],
    unit: str,
) -> list[str]:
    """One column of bars; each value is (median, low, high)."""
    top = max(high for _, _, high in values) or 1.0
    scale = (PANEL_WIDTH - 60) / top
    parts = [f"<text x='{x}' y='{TOP - 16}' {FONT} font-weight='bold'>{title}</text>"]
    for row, ((median, low, high), name) in enumerate(zip(values, names, strict=True)):
        y = TOP + row * ROW
        width = max(median * scale, 1.0)
        parts.append(
            f"<rect x='{x}' y='{y}' width='{width:.1f}' height='{ROW - 6}'"
            f" fill='{colour(name)}'/>"
        )
        if high > low:  # the range over rounds
            middle = y + (ROW - 6) / 2
            parts.append(
                f"<line x1='{x + low * scale:.1f}' x2='{x + high * scale:.1f}'"
                f" y1='{middle}' y2='{middle}' stroke='#222' stroke-width='1.5'/>"
            )
        parts.append(
            f"<text x='{x + max(width, high * scale) + 4:.1f}' y='{y + ROW - 10}'"
            f" {FONT}>{median:,.0f}{unit}</text>"
        )
    return parts


def svg(figures: dict[str, Figures], title: str) -> str:
    """The chart of `figures`, one row per stack in their order."""
    names = list(figures)
    rates = [
        (fig.median("rps"), min(r.rps for r in fig.runs), max(r.rps for r in fig.runs))
        for fig in figures.values()
    ]
    cpu = [
        (fig.median("cpu_us"),) * 3  # CPU per request: the median only
        for fig in figures.values()
    ]
    width = LABEL_WIDTH + 2 * PANEL_WIDTH + GAP
    height = TOP + len(names) * ROW + 24
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'"
        f" viewBox='0 0 {width} {height}'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='8' y='18' {TITLE_FONT}>{escape(title)}</text>",
    ]
    for row, name in enumerate(names):
        y = TOP + row * ROW + ROW - 10
        parts.append(
            f"<text x='{LABEL_WIDTH - 8}' y='{y}' {FONT} text-anchor='end'>"
            f"{escape(name)}</text>"
        )
    parts += panel(LABEL_WIDTH, "requests/s (higher is better)", rates, names, "")
    parts += panel(
        LABEL_WIDTH + PANEL_WIDTH + GAP,
        "server CPU µs per request (lower is better)",
        cpu,
        names,
        " µs",
    )
    parts.append(
        f"<text x='8' y='{height - 8}' {FONT} fill='#555'>Blue: the baked service;"
        " grey: bare Quart; orange: the FastAPI peer. Lines: the range over"
        " rounds. Written by bench/run.py.</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
