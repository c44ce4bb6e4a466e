"""Figures for the reports: matplotlib without a display, saved as SVG with stable bytes.

Reports are rebuilt from the ledger at any time, so a figure must come out the same each time:
the SVG element ids are salted with a fixed value and the file carries no creation date.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from pipeline.report import reports_dir

PLOTS_DIR = "plots"
plt.rcParams.update({"svg.hashsalt": "corpusaudit", "svg.fonttype": "none", "figure.dpi": 100})


def save_figure(figure: Figure, run_dir: Path, name: str) -> str:
    """Write ``figure`` to ``reports/plots/<name>.svg``; the path relative to ``reports/``."""
    folder = reports_dir(run_dir) / PLOTS_DIR
    folder.mkdir(exist_ok=True)
    figure.savefig(folder / f"{name}.svg", format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return f"{PLOTS_DIR}/{name}.svg"


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    horizontal: bool = True,
) -> Figure:
    """Grouped (or single) bars, one group per label and one bar per series; horizontal by default
    because labels are source ids, rule ids and terms that read badly rotated."""
    count = max(len(labels), 1)
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.32 * count * max(len(series), 1) ** 0.5))
    height = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series.items()):
        positions = [i + index * height for i in range(len(labels))]
        if horizontal:
            axes.barh(positions, values, height=height, label=name)
        else:
            axes.bar(positions, values, width=height, label=name)
    ticks = [i + height * (len(series) - 1) / 2 for i in range(len(labels))]
    if horizontal:
        axes.set_yticks(ticks, labels)
        axes.invert_yaxis()
        axes.set_xlabel(xlabel)
    else:
        axes.set_xticks(ticks, labels)
        axes.set_ylabel(xlabel)
    axes.set_title(title)
    if len(series) > 1:
        axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def stacked_bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
) -> Figure:
    """One horizontal bar per label, its segments the series stacked in order (shares of a whole,
    so the bar's length is their sum). A series that is zero everywhere gets no legend entry, and
    keeps its colour slot, so a series has the same colour whatever the others hold."""
    figure, axes = plt.subplots(figsize=(7, 1.4 + 0.36 * max(len(labels), 1)))
    left = [0.0] * len(labels)
    for index, (name, values) in enumerate(series.items()):
        if any(values):
            axes.barh(range(len(labels)), values, left=left, height=0.6, label=name, color=f"C{index % 10}")
            left = [start + value for start, value in zip(left, values, strict=True)]
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.set_title(title)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small", loc="best")
    figure.tight_layout()
    return figure
