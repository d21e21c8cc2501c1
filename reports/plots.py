"""matplotlib figures rendered to inline SVG: text kept as text (small, searchable, no font files),
every figure with a title and a text alternative for the report to place beside it."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display: render to SVG only
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402,F401

plt.rcParams.update({"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "gptoss-bench"})
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


@dataclass(frozen=True)
class Figure:
    title: str
    alt: str   # what the figure shows, in words, for readers who cannot see it
    svg: str


def _svg(fig, title: str, alt: str) -> Figure:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: inline SVG in HTML takes the element alone
    svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{_attr(alt)}" ', svg, count=1)
    return Figure(title, alt, svg)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _legend_outside(ax) -> None:
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def one_minus_pcc(series: dict[str, list[tuple[int, float]]], thresholds: dict[str, float], title: str,
                  alt: str) -> Figure:
    """Per-layer 1 - PCC on a log axis (PCCs of a good model all sit near 1.0), thresholds drawn."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    floor = 1e-7
    for (name, points), color in zip(series.items(), PALETTE):
        xs = [x for x, _ in points]
        ys = [max(floor, 1 - v) for _, v in points]
        ax.plot(xs, ys, marker="o", ms=3, lw=1.2, label=name, color=color,
                ls="--" if "isolated" in name else "-")
    for (name, limit), color in zip(thresholds.items(), ("#555555", "#999999")):
        ax.axhline(1 - limit, color=color, lw=0.8, ls=":", label=f"threshold {name} (PCC {limit:g})")
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("1 - PCC (log)")
    ax.set_title(title)
    _legend_outside(ax)
    return _svg(fig, title, alt)


def heatmap(rows: list[str], cols: list[str], values: list[list[float | None]], title: str, alt: str) -> Figure:
    """Worst PCC per (layer, module), coloured by -log10(1 - PCC), each cell written out."""
    fig, ax = plt.subplots(figsize=(1.1 + 0.95 * len(cols), 0.9 + 0.32 * len(rows)))
    grid = [[(-math.log10(max(1e-7, 1 - v)) if v is not None else float("nan")) for v in row] for row in values]
    # pcolormesh, not imshow: cells stay vector shapes (imshow embeds a bitmap in the SVG)
    image = ax.pcolormesh(grid, cmap="viridis", vmin=0, vmax=7, edgecolors="white", linewidth=0.5)
    ax.invert_yaxis()
    ax.set_xticks([j + 0.5 for j in range(len(cols))], cols, rotation=30, ha="right")
    ax.set_yticks([i + 0.5 for i in range(len(rows))], rows)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.text(j + 0.5, i + 0.5, "-" if v is None else f"{v:.4f}", ha="center", va="center", fontsize=6.5,
                    color="white" if (grid[i][j] == grid[i][j] and grid[i][j] < 3.5) else "black")
    bar = fig.colorbar(image, ax=ax, label="-log10(1 - PCC)")
    bar.solids.set_rasterized(False)  # vector, like the cells: no bitmap in the page
    ax.set_title(title)
    return _svg(fig, title, alt)


def grouped_bars(groups: list[str], series: dict[str, list[float | None]], title: str, ylabel: str, alt: str,
                 ylim: tuple[float, float] | None = None, hlines: dict[str, float] | None = None) -> Figure:
    fig, ax = plt.subplots(figsize=(max(4.5, 0.8 * len(groups) * max(1, len(series)) / 2 + 2), 3.0))
    width = 0.8 / max(1, len(series))
    for k, ((name, values), color) in enumerate(zip(series.items(), PALETTE)):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width, label=name, color=color)
    for name, y in (hlines or {}).items():
        ax.axhline(y, color="#555555", lw=0.8, ls=":")
        ax.text(len(groups) - 0.5, y, f" {name}", va="bottom", ha="right", fontsize=7, color="#555555")
    ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    _legend_outside(ax)
    return _svg(fig, title, alt)


def stacked_shares(groups: list[str], categories: list[str], shares: list[list[float]], title: str,
                   alt: str) -> Figure:
    """One horizontal bar per group, split by category share (fractions summing to about 1)."""
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.45 * len(groups)))
    left = [0.0] * len(groups)
    for j, (category, color) in enumerate(zip(categories, PALETTE * 3)):
        widths = [row[j] for row in shares]
        ax.barh(range(len(groups)), widths, left=left, color=color, label=category)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of device time")
    ax.legend(fontsize=7, ncol=4, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.set_title(title)
    return _svg(fig, title, alt)


def trend(series: dict[str, list[tuple[str, float]]], highlight: str, title: str, ylabel: str, alt: str) -> Figure:
    """Values over stored runs (x: run time order), the current run marked."""
    fig, ax = plt.subplots(figsize=(7.5, 2.6))
    for (name, points), color in zip(series.items(), PALETTE):
        ax.plot(range(len(points)), [v for _, v in points], marker="o", ms=3, lw=1, label=name, color=color)
        for i, (run_id, v) in enumerate(points):
            if run_id == highlight:
                ax.plot([i], [v], marker="o", ms=9, mfc="none", mec="black", mew=1.5)
    ax.set_xlim(-0.5, max(len(points) for points in series.values()) - 0.5)
    ax.set_xlabel("stored runs, oldest to newest (ringed: this run)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend_outside(ax)
    return _svg(fig, title, alt)
