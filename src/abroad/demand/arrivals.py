"""When voters come: day shares, the daily curve by local clock hour, and surges.

Everything here is in a station's own local clock time: a curve calibrated per host country
(``abroad.demand.curves``) says which share of a day's voters arrive in each local hour, so a
station in Los Angeles and one in New York peak at the same local hour (three hours apart in
UTC). ``utc_offset_minutes`` gives the offset to line stations up on one clock when needed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from abroad.demand import curves
from abroad.model.clock import clock_minutes
from abroad.model.demand_params import Surge

FloatArray = npt.NDArray[np.float64]

MINUTES_PER_DAY = 24 * 60


def country_iso3(country: str) -> str:
    """ISO3 code for an ISO2 or ISO3 country code (upper-cased); unknown codes pass through."""
    code = country.strip().upper()
    if len(code) == 2:
        return curves.ISO2_TO_ISO3.get(code, code)
    return code


def has_country_curve(country: str) -> bool:
    """Whether a calibrated curve exists for this country (else the pooled one is used)."""
    return country_iso3(country) in curves.COUNTRY_HOURLY_SHARES


def hourly_weights(country: str | None) -> FloatArray:
    """Relative arrival weight of each local clock hour 0..23 for a host country.

    The calibrated curve (country's own where the data allowed, else pooled) covers 07-21; hours
    before 07 take the 07 weight and hours after 21 the 20 weight, so a station open longer than
    Romania's stations abroad still gets arrivals in its extra hours.
    """
    key = None if country is None else country_iso3(country)
    shares = np.array(
        curves.COUNTRY_HOURLY_SHARES.get(key, curves.POOLED_HOURLY_SHARES)
        if key is not None
        else curves.POOLED_HOURLY_SHARES,
        dtype=np.float64,
    )
    lo, hi = curves.CALIBRATED_OPEN_HOUR, curves.CALIBRATED_CLOSE_HOUR
    shares[:lo] = shares[lo]
    shares[hi:] = shares[hi - 1]
    return shares


def default_day_shares(open_minutes_per_day: Sequence[float]) -> FloatArray:
    """Share of an election's voters per voting day: the last day busiest.

    The last day's share comes from Romania's elections abroad (``curves.LAST_DAY_SHARE``:
    0.77 with two days, 0.74 with three; more days use the three-day figure); the earlier days
    share the rest in proportion to their opening minutes.
    """
    n = len(open_minutes_per_day)
    if n == 0:
        raise ValueError("no voting days")
    if n == 1:
        return np.ones(1)
    last = curves.LAST_DAY_SHARE.get(n, curves.LAST_DAY_SHARE[max(curves.LAST_DAY_SHARE)])
    earlier = np.asarray(open_minutes_per_day[:-1], dtype=np.float64)
    out = np.empty(n)
    out[:-1] = (1.0 - last) * earlier / earlier.sum()
    out[-1] = last
    return out


def _normal_cdf(x: FloatArray) -> FloatArray:
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return np.asarray(0.5 * (1.0 + erf(x / math.sqrt(2.0))))


def day_profile(
    weights_per_hour: FloatArray,
    open_minutes: float,
    close_minutes: float,
    surges: Sequence[Surge] = (),
    bin_minutes: int = 60,
) -> FloatArray:
    """Share of one day's arrivals in each local-time bin of ``bin_minutes`` (sums to 1).

    The hourly weights are spread evenly within each hour and cut to the opening window
    [open, close); each surge puts its ``share`` of the day's voters in a normal bump around its
    clock time (cut to the window and renormalised), the rest follow the curve. Bins outside
    the opening hours are zero.
    """
    if MINUTES_PER_DAY % bin_minutes:
        raise ValueError(f"bin_minutes must divide 1440, got {bin_minutes}")
    if close_minutes <= open_minutes:
        raise ValueError("closing must be after opening")
    edges = np.arange(0, MINUTES_PER_DAY + 1, bin_minutes, dtype=np.float64)
    lo, hi = edges[:-1], edges[1:]
    overlap = np.clip(np.minimum(hi, close_minutes) - np.maximum(lo, open_minutes), 0.0, None)
    hour = (lo // 60).astype(np.int64)
    base = np.asarray(weights_per_hour, dtype=np.float64)[hour] * overlap / 60.0
    if base.sum() <= 0:  # a curve with no weight in the window: spread evenly
        base = overlap.copy()
    base = base / base.sum()
    surge_total = sum(s.share for s in surges)
    if surge_total >= 1.0:
        raise ValueError(f"surges take {surge_total:.0%} of a day's voters (must be < 100%)")
    out = (1.0 - surge_total) * base
    for s in surges:
        at = clock_minutes(s.at)
        a = np.clip(lo, open_minutes, close_minutes)
        b = np.clip(hi, open_minutes, close_minutes)
        mass = _normal_cdf((b - at) / s.width_minutes) - _normal_cdf((a - at) / s.width_minutes)
        if mass.sum() <= 0:  # surge entirely outside the window: at the nearest open bin
            mass = np.zeros_like(mass)
            mass[np.argmax(overlap > 0) if at < open_minutes else np.flatnonzero(overlap)[-1]] = 1
        out = out + s.share * mass / mass.sum()
    return np.asarray(out)


def surges_for_day(surges: Sequence[Surge], day_index: int, n_days: int) -> tuple[Surge, ...]:
    """The surges that fall on a day (surge.day may count from the end, -1 = last)."""
    return tuple(s for s in surges if s.day % n_days == day_index)


def utc_offset_minutes(timezone: str, date: dt.date, local_minutes: float = 12 * 60) -> float:
    """Offset of local clock time from UTC (minutes) in ``timezone`` at a local date and time."""
    t = dt.datetime.combine(date, dt.time(0), tzinfo=ZoneInfo(timezone)) + dt.timedelta(
        minutes=local_minutes
    )
    offset = t.utcoffset()
    return 0.0 if offset is None else offset.total_seconds() / 60.0


@dataclass(frozen=True)
class ArrivalProfile:
    """Expected arrivals at one station on one day, by local clock time."""

    site_id: str
    date: dt.date
    timezone: str
    utc_offset_minutes: float
    bin_minutes: int
    open_minutes: float
    close_minutes: float
    voters: float
    """Expected voters that day."""
    share_per_bin: FloatArray
    """Share of the day's voters arriving in each bin, from local midnight (sums to 1)."""

    @property
    def bin_start_minutes(self) -> FloatArray:
        """Local clock time at the start of each bin, minutes after midnight."""
        return np.arange(self.share_per_bin.size, dtype=np.float64) * self.bin_minutes

    @property
    def voters_per_bin(self) -> FloatArray:
        return np.asarray(self.voters * self.share_per_bin)

    @property
    def rate_per_hour(self) -> FloatArray:
        """Arrival rate in voters per hour in each bin (for a non-homogeneous Poisson stream)."""
        return np.asarray(self.voters_per_bin * 60.0 / self.bin_minutes)

    @property
    def peak_local_minutes(self) -> float:
        """Local clock time (start of the busiest bin), minutes after midnight."""
        return float(self.bin_start_minutes[int(np.argmax(self.share_per_bin))])
