"""The report of ``abroad sweep``: each swept parameter against votes cast, voters not served,
waits and staff (means with 95 % intervals), the best point under the stated criterion, and
briefing plots (PNG) beside the HTML report.

An adapter: the figures come computed from ``abroad.sweep.summary``; this module only lays them
out (the HTML report of ``abroad.report`` and matplotlib figures, no pyplot state).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from abroad.queueing.outcome import Estimate
from abroad.report.charts import _RC, PALETTE
from abroad.report.data import Cell, Chart, KeyFigure, ReportData, Series, Table
from abroad.report.html import write_report
from abroad.sweep.summary import (
    LABELS,
    SUMMARY_METRICS,
    SweepSummary,
    slice_through,
    variants_of,
)

PANELS = ("votes_cast", "not_served", "wait_minutes_p95_worst", "staff")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def _ci(e: Estimate, fmt: str = ",.0f") -> str:
    if not math.isfinite(e.mean):
        return "–"
    if not math.isfinite(e.ci_low):
        return f"{e.mean:{fmt}}"
    return f"{e.mean:{fmt}} [{e.ci_low:{fmt}}, {e.ci_high:{fmt}}]"


def _fmt(metric: str) -> str:
    return ".1%" if metric == "service_level" else (",.1f" if "wait" in metric else ",.0f")


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def parameter_figure(summary: SweepSummary, path: str) -> Figure:
    """Four panels (votes cast, not served, worst p95 wait, staff) against one parameter, a
    line per variant with its 95 % interval, other parameters at the best point's values."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.0, 6.0), layout="constrained")
        axes = fig.subplots(2, 2)
        for ax, metric in zip(axes.flat, PANELS, strict=True):
            for i, variant in enumerate(variants_of(summary)):
                pts = slice_through(summary, path, variant)
                if not pts:
                    continue
                xs_raw = [p.value(path) for p in pts]
                xs = [float(x) for x in xs_raw] if _numeric(xs_raw) else list(range(len(xs_raw)))
                est = [p.metrics[metric] for p in pts]
                mean = [e.mean for e in est]
                lo = [e.ci_low if math.isfinite(e.ci_low) else e.mean for e in est]
                hi = [e.ci_high if math.isfinite(e.ci_high) else e.mean for e in est]
                color = PALETTE[i % len(PALETTE)]
                ax.plot(xs, mean, marker="o", markersize=4, color=color, label=variant)
                ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
                if not _numeric(xs_raw):
                    ax.set_xticks(xs, [str(x) for x in xs_raw])
            if metric == "wait_minutes_p95_worst" and summary.criterion.wait_p95_max_minutes:
                cap = summary.criterion.wait_p95_max_minutes
                ax.axhline(cap, color="#c62828", linestyle="--", linewidth=1.1)
            ax.set_title(LABELS[metric], fontsize=10, loc="left")
            ax.set_xlabel(path)
            ax.set_ylim(bottom=0)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if len(labels) > 1:
            fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False)
        fig.suptitle(
            f"{path}: means with 95 % intervals over replications"
            + ("" if len(summary.grid.parameters) < 2 else " (others at the best point)"),
            fontsize=11,
        )
    return fig


def sweep_report_data(
    summary: SweepSummary, scenario_name: str, failures: list[dict[str, Any]]
) -> ReportData:
    grid = summary.grid
    best = summary.best
    figures = [
        KeyFigure("points", f"{len(summary.points):,}", f"{grid.replications} replications each"),
        KeyFigure(
            "failed points",
            f"{len(failures):,}",
            "see the table below" if failures else "",
            tone="bad" if failures else "good",
        ),
    ]
    if best is not None:
        figures.append(
            KeyFigure(
                "best point",
                best.label(),
                f"votes cast {_ci(best.metrics['votes_cast'])}; criterion: {summary.best_note}",
                tone="good",
            )
        )
    params = [p.path for p in grid.parameters]
    columns = ("point", "variant", *params, *(LABELS[m] for m in SUMMARY_METRICS), "stations")
    rows: list[tuple[Cell, ...]] = []
    highlight = []
    for k, p in enumerate(summary.points):
        if best is not None and p.point_id == best.point_id:
            highlight.append(k)
        cells: list[Cell] = [p.index, p.variant]
        cells += [v if not isinstance(v, bool) else str(v) for _, v in p.values]
        cells += [_ci(p.metrics[m], _fmt(m)) for m in SUMMARY_METRICS]
        cells.append(p.stations_open)
        rows.append(tuple(cells))
    tables = [
        Table(
            "Every point (mean [95 % interval] over replications)",
            columns,
            tuple(rows),
            note="The highlighted row is the best point.",
            highlight_rows=tuple(highlight),
        )
    ]
    if failures:
        tables.append(
            Table(
                "Failed points (they are run again when the sweep is resumed)",
                ("point", "error", "message"),
                tuple(
                    (f["point"], f["error_type"], str(f["message"]).splitlines()[0][:300])
                    for f in failures
                ),
            )
        )
    charts = []
    for path in params:
        for metric in ("votes_cast", "wait_minutes_p95_worst"):
            series = []
            xs: list[Any] = []
            for variant in variants_of(summary):
                pts = slice_through(summary, path, variant)
                if not pts:
                    continue
                xs = [p.value(path) for p in pts]
                series.append(Series(variant, tuple(p.metrics[metric].mean for p in pts)))
            if not series or not _numeric(xs) or any(len(s.values) != len(xs) for s in series):
                continue
            charts.append(
                Chart(
                    title=f"{LABELS[metric]} against {path}",
                    x=tuple(float(x) for x in xs),
                    series=tuple(series),
                    x_label=path,
                    y_label=LABELS[metric],
                    reference=(
                        (grid.best.wait_p95_max_minutes, "wait cap")
                        if metric == "wait_minutes_p95_worst"
                        and grid.best.wait_p95_max_minutes is not None
                        else None
                    ),
                )
            )
    return ReportData(
        title=f"{scenario_name}: sweep ({grid.run})",
        scenario_name=scenario_name,
        generated_at=dt.datetime.now(dt.UTC),
        subtitle=(
            f"{len(summary.points)} points x {grid.replications} replications, seed {grid.seed}; "
            f"run: {grid.run}"
        ),
        key_figures=tuple(figures),
        tables=tuple(tables),
        charts=tuple(charts),
        notes=(
            f"Best point: {summary.best_note}.",
            "Intervals are 95 % Student-t intervals of the mean over replications.",
            "Plots per parameter hold the other parameters at the best point's values; "
            "briefing figures with intervals: plots/*.png.",
            "Each point's random streams derive from the sweep seed and the point itself, so a "
            "point's rows are the same alone, locally or on any number of workers.",
        ),
    )


def write_sweep_report(
    summary: SweepSummary, scenario_name: str, failures: list[dict[str, Any]], out_dir: Path
) -> dict[str, Path]:
    """Write OUT/report.html and OUT/plots/PARAMETER.png; returns the paths."""
    paths: dict[str, Path] = {}
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    for param in summary.grid.parameters:
        fig = parameter_figure(summary, param.path)
        path = plots / f"{_slug(param.path)}.png"
        fig.savefig(path, dpi=150, metadata={"Software": None})
        paths[f"plot:{param.path}"] = path
    report = out_dir / "report.html"
    write_report(sweep_report_data(summary, scenario_name, failures), report)
    paths["report"] = report
    return paths
