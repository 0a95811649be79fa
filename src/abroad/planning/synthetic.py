"""Seeded synthetic planning instances for tests and benchmarks (no files, no network).

Geometry is planar (km); decay is exponential in distance; each station serves
``min(L, 0.15 c + 0.8 L, c)`` of its load ``L`` for a capacity ``c`` = desks x voters per desk
(so it starts losing voters at 75 % of capacity and saturates above it), and needs
``fixed + per_desk x desks`` staff with ``desks = ceil(L / voters_per_desk)`` up to the site's
maximum.
"""

from __future__ import annotations

import numpy as np

from abroad.planning.instance import PlanningInstance, preferences_from_distance
from abroad.planning.options import SiteOptions
from abroad.planning.rules import FloatArray, IntArray


def station_response(
    max_desks: IntArray,
    voters_per_desk: float,
    fixed_staff: float,
    staff_per_desk: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Served pieces and staff steps for stations with ``max_desks`` desks each."""
    cap = max_desks.astype(np.float64) * voters_per_desk
    n = cap.shape[0]
    si = np.stack([np.zeros(n), 0.15 * cap, cap], axis=1)
    ss = np.tile(np.array([1.0, 0.8, 0.0]), (n, 1))
    d_max = int(max_desks.max())
    breaks = np.full((n, d_max - 1 if d_max > 1 else 0), np.inf)
    levels = np.zeros((n, breaks.shape[1] + 1))
    for s in range(n):
        d = int(max_desks[s])
        breaks[s, : d - 1] = voters_per_desk * np.arange(1, d)
        levels[s, :d] = fixed_staff + staff_per_desk * np.arange(1, d + 1)
        levels[s, d:] = fixed_staff + staff_per_desk * d
    return si, ss, breaks, levels


def random_instance(
    seed: int,
    n_places: int = 60,
    n_sites: int = 10,
    *,
    k_nearest: int | None = None,
    max_open: int | None = None,
    with_staff: bool = True,
    with_cost: bool = True,
    n_must: int = 0,
) -> PlanningInstance:
    """A small random instance in a 400 km square: clustered places, sites near clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 400, size=(max(3, n_sites // 2), 2))
    who = rng.integers(0, centres.shape[0], n_places)
    xy = centres[who] + rng.normal(0, 30, size=(n_places, 2))
    site_xy = centres[rng.integers(0, centres.shape[0], n_sites)] + rng.normal(0, 40, (n_sites, 2))
    dist = np.hypot(xy[:, None, 0] - site_xy[None, :, 0], xy[:, None, 1] - site_xy[None, :, 1])
    decay = np.exp(-dist / rng.uniform(60, 200))
    weight = rng.lognormal(4.0, 1.0, n_places)
    ps, pd = preferences_from_distance(dist, decay, k_nearest)
    total = float((weight[:, None] * decay).max(axis=1).sum())
    desks = rng.integers(1, 5, n_sites)
    per_desk = total / max(1.0, float(desks.sum())) * rng.uniform(0.4, 1.2)
    si, ss, sb, sl = station_response(desks, per_desk, 2.0, 1.0)
    pools = rng.integers(0, 3, n_sites)
    must = np.zeros(n_sites, dtype=np.bool_)
    must[rng.choice(n_sites, n_must, replace=False)] = True
    k_open = max_open if max_open is not None else int(rng.integers(2, max(3, n_sites - 1)))
    return PlanningInstance.build(
        demand_weight=weight,
        pref_site=ps,
        pref_decay=pd,
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb if with_staff else None,
        staff_level=sl if with_staff else None,
        staff_pool=pools if with_staff else None,
        pool_staff_budget=rng.uniform(6, 16, 3) if with_staff else None,
        total_staff_budget=float(rng.uniform(12, 30)) if with_staff else float("inf"),
        open_cost=rng.uniform(1, 3, n_sites) if with_cost else None,
        cost_budget=float(rng.uniform(5, 15)) if with_cost else float("inf"),
        cost_weight=float(rng.uniform(0, 0.01) * total) if with_cost else 0.0,
        max_open=max(k_open, n_must),
        must_open=must,
    )


def country_instance(
    seed: int = 0,
    n_places: int = 3000,
    n_sites: int = 200,
    max_open: int = 40,
    *,
    k_nearest: int | None = None,
    decay_scale_km: float = 120.0,
) -> PlanningInstance:
    """Country-sized instance: places around ~200 lognormal cities in a 1,500 x 1,000 km region.

    Candidate sites sit in cities (one per city, the biggest first), up to 8 desks of 600
    voters each; 20 missions of 30 staff each and 260 staff in total; cost 1-3 per site with a
    weight of 50 votes per unit.
    """
    rng = np.random.default_rng(seed)
    n_cities = 200
    city_xy = rng.uniform([0, 0], [1500, 1000], size=(n_cities, 2))
    city_size = rng.lognormal(0.0, 1.3, n_cities)
    city_of = rng.choice(n_cities, n_places, p=city_size / city_size.sum())
    spread = 5 + 15 * np.sqrt(city_size[city_of] / city_size.max())
    xy = city_xy[city_of] + rng.normal(0, 1, (n_places, 2)) * spread[:, None]
    weight = rng.lognormal(0.0, 0.8, n_places)
    weight *= 250_000 / weight.sum()
    order = np.argsort(-city_size)
    site_city = order[np.arange(n_sites) % n_cities]
    site_xy = city_xy[site_city] + rng.normal(0, 3, (n_sites, 2))
    dist = np.hypot(xy[:, None, 0] - site_xy[None, :, 0], xy[:, None, 1] - site_xy[None, :, 1])
    decay = np.exp(-dist / decay_scale_km)
    ps, pd = preferences_from_distance(dist, decay, k_nearest)
    desks = rng.integers(2, 9, n_sites)
    si, ss, sb, sl = station_response(desks, 600.0, 2.0, 1.0)
    missions = rng.uniform([0, 0], [1500, 1000], size=(20, 2))
    pool = np.argmin(
        np.hypot(
            site_xy[:, None, 0] - missions[None, :, 0], site_xy[:, None, 1] - missions[None, :, 1]
        ),
        axis=1,
    )
    return PlanningInstance.build(
        demand_weight=weight,
        pref_site=ps,
        pref_decay=pd,
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb,
        staff_level=sl,
        staff_pool=pool,
        pool_staff_budget=np.full(20, 30.0),
        total_staff_budget=260.0,
        open_cost=rng.uniform(1, 3, n_sites),
        cost_weight=50.0,
        max_open=max_open,
    )


def options_of(base: PlanningInstance, rows: list[tuple[int, float]], seed: int) -> SiteOptions:
    """Alternatives ``(site, factor)``: a station of 1-3 desks (seeded per site) whose capacity
    and cost are ``factor`` times a reference, as longer or shorter hours would make them; its
    staff steps move with the capacity."""
    rng = np.random.default_rng(seed + 1)
    desks = rng.integers(1, 4, base.n_sites)
    total = float(base.max_load().sum())
    per_desk = total / max(1.0, float(desks.sum())) * 0.6
    si, ss, sb, sl = [], [], [], []
    for s, factor in rows:
        a, b, brk, lev = station_response(desks[s : s + 1], per_desk * factor, 2.0, 1.0)
        si.append(a[0])
        ss.append(b[0])
        pad = np.full(3, np.inf)
        pad[: brk.shape[1]] = brk[0]
        sb.append(pad)
        levels = np.full(4, lev[0, -1])
        levels[: lev.shape[1]] = lev[0]
        sl.append(levels)
    return SiteOptions.build(
        n_sites=base.n_sites,
        site=[s for s, _ in rows],
        served_intercept=si,
        served_slope=ss,
        staff_break_load=sb,
        staff_level=sl,
        open_cost=[float(base.open_cost[s]) * f for s, f in rows],
    )


def random_options(base: PlanningInstance, seed: int, n_alternatives: int) -> SiteOptions:
    """``n_alternatives`` per site, capacity and cost factors uniform in [0.5, 1.6]."""
    rng = np.random.default_rng(seed)
    rows = [
        (s, float(rng.uniform(0.5, 1.6)))
        for s in range(base.n_sites)
        for _ in range(n_alternatives)
    ]
    return options_of(base, rows, seed)
