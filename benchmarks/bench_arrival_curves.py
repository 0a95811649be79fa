"""Arrival curves that generalise: leave-one-election-out error of the hourly curves, for every
election in ../shared/data/ro_abroad_hourly_turnout_by_country.csv, against the naive baseline.

For each election held out, the curves are fitted on the other three (tools/fit_arrival_curves.py:
per-country curves shrunk towards a pooled curve, EM on censored hourly counts) and scored on the
held-out election: the vote-weighted mean absolute error, in percentage points, of each observed
local hour's share of a country's observed votes. The naive baseline averages each country's
other elections with equal weight (each election's own curve for that country, fitted alone);
a country seen in no other election gets the pooled curve in both. Also printed: the flat curve,
and for each election what might explain its error (month, daylight at 50 N, voting days).

Run:  .venv/bin/python benchmarks/bench_arrival_curves.py
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import fit_arrival_curves as fit  # the fitting tool (not a package)


def naive_curves(train: list[fit.Series]) -> dict[str, fit.FloatArray]:
    """Country -> equal-weight average of its per-election curves (each fitted alone)."""
    per_country: dict[str, list[fit.FloatArray]] = defaultdict(list)
    for s in train:
        if s.observed >= fit.MIN_POOL_VOTERS:
            per_country[s.country].append(fit.fit_curve([s], normalise=True))
    return {c: np.mean(curves, axis=0) for c, curves in per_country.items()}


def daylight_hours(day: dt.date, latitude_deg: float = 50.0) -> float:
    """Hours between sunrise and sunset (declination approximation, no refraction)."""
    n = day.timetuple().tm_yday
    decl = math.radians(-23.44) * math.cos(2 * math.pi * (n + 10) / 365.0)
    x = -math.tan(math.radians(latitude_deg)) * math.tan(decl)
    return 24.0 / math.pi * math.acos(max(-1.0, min(1.0, x)))


def main() -> None:
    zone, _ = fit.country_tables()
    series = fit.read_series(zone)
    flat = np.full(fit.BINS.size, 1.0 / fit.BINS.size)
    print(f"{len(series)} (election, country) series from {fit.SOURCE.name}\n")
    head = (
        f"{'held-out election':<27} {'month':>5} {'daylight':>8} {'days':>4} "
        f"{'model':>6} {'naive':>6} {'pooled':>6} {'flat':>6} {'voters':>9}"
    )
    print("Leave-one-election-out MAE of hourly shares (pp, vote-weighted)")
    print(head)
    rows = []
    for election in fit.DAYS:
        train = [s for s in series if s.election != election]
        test = [s for s in series if s.election == election]
        pooled, countries = fit.fit_all(train)
        naive = naive_curves(train)
        e_model = fit.overall(fit.score_curves(test, countries, pooled))
        e_naive = fit.overall(fit.score_curves(test, naive, pooled))
        e_pooled = fit.overall(fit.score_curves(test, {}, pooled))
        e_flat = fit.overall(fit.score_curves(test, {}, flat))
        voters = sum(s.observed for s in test if s.observed >= fit.MIN_POOL_VOTERS)
        final = dt.datetime.strptime(election[-8:], "%d%m%Y").date()
        light = daylight_hours(final)
        rows.append((e_model, e_naive, voters))
        print(
            f"{election:<27} {final:%b} {light:>7.1f}h {fit.DAYS[election]:>4} "
            f"{e_model:>6.2f} {e_naive:>6.2f} {e_pooled:>6.2f} {e_flat:>6.2f} {voters:>9,.0f}"
        )
    print("\nShape of each election's day (pooled over its countries, local hours)")
    print(f"{'election':<27} {'peak':>5} {'07-12':>6} {'17-21':>6}")
    for election in fit.DAYS:
        own = [s for s in series if s.election == election and s.observed >= fit.MIN_POOL_VOTERS]
        p = fit.fit_curve(own, normalise=True)
        print(
            f"{election:<27} {int(fit.BINS[np.argmax(p)]):>4}h {p[fit.BINS < 12].sum():>6.1%} "
            f"{p[fit.BINS >= 17].sum():>6.1%}"
        )
    mean_model = float(np.mean([r[0] for r in rows]))
    mean_naive = float(np.mean([r[1] for r in rows]))
    print(
        f"\nmean over elections: model {mean_model:.2f} pp, naive {mean_naive:.2f} pp "
        f"({'beats' if mean_model < mean_naive else 'does NOT beat'} the naive baseline by "
        f"{mean_naive - mean_model:+.2f} pp)"
    )


if __name__ == "__main__":
    main()
