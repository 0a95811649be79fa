"""Charts as inline SVG (matplotlib, no pyplot state, no external reference in the markup)."""

from __future__ import annotations

import io
import math
import re

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from abroad.report.data import Chart

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, uses the page's fonts
    "svg.hashsalt": "abroad-report",  # deterministic ids
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#8a929b",
    "axes.labelcolor": "#333a42",
    "xtick.color": "#4a525b",
    "ytick.color": "#4a525b",
}


def _clean_svg(svg: str, prefix: str) -> str:
    """Inline-ready SVG: no XML prolog, DOCTYPE, metadata or namespace URLs; ids made unique."""
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    # scale with the page: keep the viewBox, drop the fixed size
    svg = re.sub(r'(<svg[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", svg, count=1)
    return svg.strip()


def chart_svg(chart: Chart, prefix: str = "c0-") -> str:
    """Draw one chart; returns an ``<svg>`` element for inlining into HTML."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(5.6, 3.2), layout="constrained")
        ax = fig.add_subplot()
        x = np.asarray(chart.x, dtype=np.float64)
        n = max(len(chart.series), 1)
        width = (float(np.min(np.diff(x))) if x.size > 1 else 1.0) * 0.8 / n
        for i, s in enumerate(chart.series):
            y = np.array([np.nan if v is None else v for v in s.values], dtype=np.float64)
            color = PALETTE[i % len(PALETTE)]
            if chart.kind == "bar":
                ax.bar(x + (i - (n - 1) / 2) * width, y, width=width, label=s.name, color=color)
            elif chart.kind == "step":
                ax.step(x, y, where="post", label=s.name, color=color, linewidth=1.8)
            else:
                ax.plot(x, y, label=s.name, color=color, linewidth=1.8, marker="o", markersize=3)
        if chart.reference is not None:
            value, label = chart.reference
            ax.axhline(value, color="#c62828", linestyle="--", linewidth=1.2)
            ax.annotate(
                label,
                xy=(1.0, value),
                xycoords=("axes fraction", "data"),
                xytext=(-4, 3),
                textcoords="offset points",
                ha="right",
                va="bottom",
                color="#c62828",
                fontsize=9,
            )
        if chart.x_tick_labels is not None:
            step = max(1, math.ceil(len(chart.x) / 7))  # at most 7 labels: no overlap
            ax.set_xticks(x[::step], list(chart.x_tick_labels)[::step])
        ax.set_xlabel(chart.x_label)
        ax.set_ylabel(chart.y_label)
        ax.set_ylim(bottom=0)
        if len(chart.series) > 1:
            ax.legend(
                frameon=False,
                fontsize=9,
                loc="upper center",
                bbox_to_anchor=(0.5, -0.2),
                ncols=2,
            )
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return _clean_svg(buf.getvalue(), prefix)
