"""Matches per day as a PNG bar chart, one per rule (matplotlib, Agg backend, no display needed).

Byte-identical for identical input on the same matplotlib: no date or software stamp is written
into the file, and the figure size, DPI and fonts are fixed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: render to files only, never to a display

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "newswatch",
    "path.simplify": False,
}


def per_day_chart(
    path: Path,
    rule: str,
    per_day: Mapping[date, int],
    notified: Mapping[date, int] | None = None,
) -> Path:
    """Bars of matches per UTC day (and, overlaid, those that would have notified); returns `path`."""
    days = sorted(per_day)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 2.6), dpi=100)
        try:
            width = 0.8 if len(days) < 120 else 1.0
            ax.bar(days, [per_day[d] for d in days], width=width, color="#8fb3d9", label="matches")
            if notified is not None:
                ax.bar(
                    days,
                    [notified.get(d, 0) for d in days],
                    width=width * 0.5,
                    color="#1f4e79",
                    label="would have notified",
                )
                ax.legend(loc="upper left", frameon=False)
            ax.set_title(f"{rule}: matches per day (UTC)", loc="left")
            ax.set_ylabel("matches")
            ax.yaxis.get_major_locator().set_params(integer=True)
            locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.spines[["top", "right"]].set_visible(False)
            fig.tight_layout()
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="png", metadata={"Software": None})
        finally:
            plt.close(fig)
    return path
