"""The demand model: expected voters per station and day for a set of open stations.

Build once per scenario with ``DemandModel.from_scenario``; call ``evaluate`` for each open set
(the planner does so thousands of times). Every assumption is a ``DemandParams`` field; the
model is explained in docs/background/demand.md.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from abroad.demand._kernels import k_nearest_open, nearest_among, nearest_open
from abroad.demand.arrivals import (
    ArrivalProfile,
    day_profile,
    default_day_shares,
    hourly_weights,
    surges_for_day,
    utc_offset_minutes,
)
from abroad.demand.turnout import combine_signals, decay_factor
from abroad.geo.distance import distance_matrix_km
from abroad.geo.travel import travel_time_hours
from abroad.model import Scenario, SiteId
from abroad.model.clock import clock_minutes

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Demand:
    """Expected voters for one set of open stations. Arrays are aligned to the scenario's sites
    (``site_ids``) or places; closed sites get zero voters."""

    site_ids: tuple[SiteId, ...]
    open_mask: BoolArray
    voters_per_site: FloatArray
    """Expected voters over the whole election, per site."""
    voters_per_site_day: FloatArray
    """Shape (sites, voting days)."""
    voters_per_place: FloatArray
    """Expected voters from each place (whatever station they use)."""
    travel_km_per_place: FloatArray
    """Distance to the station used (share-weighted mean under logit; inf with no station)."""
    assigned_site: IntArray
    """Site index each place mostly goes to (nearest open, or the likeliest under logit); -1
    with no open station."""
    flow_place: IntArray
    """Place-to-station breakdown as triplets: place index, site index, expected voters."""
    flow_site: IntArray
    flow_voters: FloatArray

    @property
    def total_voters(self) -> float:
        return float(self.voters_per_site.sum())

    def voters_by_site(self) -> dict[SiteId, float]:
        """Expected voters per open site id."""
        return {
            sid: float(v)
            for sid, v, o in zip(self.site_ids, self.voters_per_site, self.open_mask, strict=True)
            if o
        }


@dataclass(frozen=True, eq=False)
class DemandModel:
    """Precomputed place x site matrices for one scenario; ``evaluate`` is the fast part."""

    scenario: Scenario
    distance_km: FloatArray
    """Shape (places, sites): great-circle distance."""
    decay: FloatArray
    """Shape (places, sites): share of base turnout left when that site is the station."""
    place_potential: FloatArray
    """Voters each place would send with a station next door (signals combined)."""
    prereg_voters: FloatArray
    """Pre-registered voters of each place bound for their registered station (0 if none)."""
    prereg_site: IntArray
    """Site index a place pre-registered for, -1 if none."""
    openable: BoolArray
    day_shares: FloatArray
    site_hourly_weights: FloatArray
    """Shape (sites, 24): relative arrival weight by local clock hour for each site."""
    _order: npt.NDArray[np.int32] = field(repr=False)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> DemandModel:
        """Precompute distances, decay, combined signals, day shares and hourly curves.

        Cost: O(places x sites) time and about 20 bytes per pair of memory (3,000 x 200: 12 MB,
        ~30 ms). Signals (previous votes, pre-registrations, consular estimates) are read as
        observed under the reference network of every openable site.
        """
        params = scenario.demand
        pa = scenario.place_arrays
        dist = distance_matrix_km(
            pa.lat_deg, pa.lon_deg, scenario.site_lat_deg, scenario.site_lon_deg
        ).reshape(len(scenario.places), len(scenario.sites))
        if params.decay_on == "travel_time":
            decay = decay_factor(travel_time_hours(dist, scenario.travel), params.decay, "hours")
        else:
            decay = decay_factor(dist, params.decay, "km")
        openable = np.array([s.can_open for s in scenario.sites], dtype=bool)
        if openable.any():
            ref_decay = decay[:, openable].max(axis=1)
        else:
            ref_decay = np.ones(len(scenario.places))
        combined = combine_signals(
            params,
            pa.eligible_citizens,
            ref_decay,
            pa.previous_votes,
            pa.pre_registrations,
            pa.consular_estimate,
        )
        tiny = np.finfo(np.float64).tiny
        potential = np.where(
            ref_decay > tiny, combined / np.maximum(ref_decay, tiny), combined
        ).astype(np.float64)
        prereg_site = np.array(
            [
                -1 if p.pre_registered_site is None else scenario.site_index[p.pre_registered_site]
                for p in scenario.places
            ],
            dtype=np.int64,
        )
        prereg = np.nan_to_num(pa.pre_registrations) * params.signals.pre_registered_turnout
        days = scenario.election.days
        if params.day_shares is not None:
            if len(params.day_shares) != len(days):
                raise ValueError(f"{len(params.day_shares)} day shares for {len(days)} days")
            day_shares = np.array(params.day_shares, dtype=np.float64)
        else:
            day_shares = default_day_shares([d.close_minutes - d.open_minutes for d in days])
        weights = np.array(
            [hourly_weights(params.hourly_curve_country or s.country) for s in scenario.sites]
        ).reshape(len(scenario.sites), 24)
        return cls(
            scenario=scenario,
            distance_km=dist,
            decay=decay,
            place_potential=potential,
            prereg_voters=np.where(prereg_site >= 0, prereg, 0.0),
            prereg_site=prereg_site,
            openable=openable,
            day_shares=day_shares,
            site_hourly_weights=weights,
            _order=np.argsort(dist, axis=1, kind="stable").astype(np.int32),
        )

    @cached_property
    def site_ids(self) -> tuple[SiteId, ...]:
        return tuple(s.site_id for s in self.scenario.sites)

    @cached_property
    def voters_if_assigned(self) -> FloatArray:
        """Shape (places, sites): voters a place would send if that site were its station.

        For incremental evaluation by a planner: under nearest choice, a place's voters are
        ``voters_if_assigned[p, nearest open site]`` (before pre-registered routing).
        """
        return np.asarray(self.place_potential[:, None] * self.decay)

    def open_mask(self, open_sites: Collection[SiteId] | BoolArray | None) -> BoolArray:
        """A boolean mask over sites from site ids, a mask, or None (every openable site)."""
        if open_sites is None:
            return self.openable.copy()
        if isinstance(open_sites, np.ndarray) and open_sites.dtype == np.bool_:
            mask = open_sites.astype(bool)
            if mask.shape != self.openable.shape:
                raise ValueError(
                    f"open mask has shape {mask.shape}, expected {self.openable.shape}"
                )
        else:
            index = self.scenario.site_index
            unknown = [str(s) for s in open_sites if s not in index]
            if unknown:
                raise ValueError(f"unknown site id(s): {', '.join(unknown)}")
            mask = np.zeros(len(self.scenario.sites), dtype=bool)
            mask[[index[s] for s in open_sites]] = True
        closed = np.flatnonzero(mask & ~self.openable)
        if closed.size:
            names = ", ".join(self.scenario.sites[i].site_id for i in closed)
            raise ValueError(f"site(s) cannot open (unavailable or not permitted): {names}")
        return mask

    def expected_demand(
        self,
        open_sites: Collection[SiteId] | BoolArray | None = None,
        expected_wait_minutes: FloatArray | None = None,
    ) -> Demand:
        """Expected voters per station and day for a set of open stations.

        ``open_sites``: site ids or a boolean mask over ``scenario.sites`` (None: every openable
        site). ``expected_wait_minutes`` (per site) only matters with logit choice.
        Cost with nearest choice: O(places x steps to the first open site) in compiled code plus
        two bincounts: ~50 µs for 3,000 places x 200 sites (see tests/demand/test_speed.py).
        """
        mask = self.open_mask(open_sites)
        n_sites = mask.size
        if not mask.any():
            zeros_p = np.zeros(self.place_potential.size)
            empty_i = np.zeros(0, dtype=np.int64)
            return Demand(
                site_ids=self.site_ids,
                open_mask=mask,
                voters_per_site=np.zeros(n_sites),
                voters_per_site_day=np.zeros((n_sites, self.day_shares.size)),
                voters_per_place=zeros_p,
                travel_km_per_place=np.full_like(zeros_p, np.inf),
                assigned_site=np.full(zeros_p.size, -1, dtype=np.int64),
                flow_place=empty_i,
                flow_site=empty_i,
                flow_voters=np.zeros(0),
            )
        if self.scenario.demand.choice.model == "logit":
            fp, fs, fv, assigned, travel = self._logit(mask, expected_wait_minutes)
        else:
            open_idx = np.flatnonzero(mask)
            if open_idx.size * open_idx.size < n_sites:  # few open: scan their columns
                assigned, travel, voters = nearest_among(
                    open_idx, self.distance_km, self.voters_if_assigned
                )
            else:  # many open: walk each place's distance order to the first open site
                assigned, travel, voters = nearest_open(
                    self._order, mask, self.distance_km, self.voters_if_assigned
                )
            fp = np.arange(assigned.size, dtype=np.int64)
            fs, fv = assigned, voters
        # Pre-registered voters go to the station they registered for, when it is open.
        n_places = self.place_potential.size
        voters_per_place = np.bincount(fp, weights=fv, minlength=n_places).astype(np.float64)
        reg_open = (self.prereg_site >= 0) & mask[np.maximum(self.prereg_site, 0)]
        registered = np.where(reg_open, np.minimum(self.prereg_voters, voters_per_place), 0.0)
        if registered.any():
            keep = 1.0 - np.divide(
                registered[fp],
                voters_per_place[fp],
                out=np.zeros(fp.size),
                where=voters_per_place[fp] > 0,
            )
            reg_places = np.flatnonzero(registered > 0)
            fp = np.concatenate([fp, reg_places])
            fs = np.concatenate([fs, self.prereg_site[reg_places]])
            fv = np.concatenate([fv * keep, registered[reg_places]])
        per_site = np.bincount(fs, weights=fv, minlength=n_sites).astype(np.float64)
        return Demand(
            site_ids=self.site_ids,
            open_mask=mask,
            voters_per_site=per_site,
            voters_per_site_day=per_site[:, None] * self.day_shares[None, :],
            voters_per_place=voters_per_place,
            travel_km_per_place=travel,
            assigned_site=assigned,
            flow_place=fp,
            flow_site=fs,
            flow_voters=fv,
        )

    def _logit(
        self, mask: BoolArray, wait: FloatArray | None
    ) -> tuple[IntArray, IntArray, FloatArray, IntArray, FloatArray]:
        choice = self.scenario.demand.choice
        k = min(choice.k_nearest, int(mask.sum()))
        sites = k_nearest_open(self._order, mask, k)  # (P, k), nearest first
        rows = np.arange(sites.shape[0])[:, None]
        d_k = self.distance_km[rows, sites]
        utility = -choice.beta_per_km * d_k
        if wait is not None:
            utility = utility - choice.beta_per_wait_minute * np.asarray(wait, np.float64)[sites]
        utility -= utility.max(axis=1, keepdims=True)
        share = np.exp(utility)
        share /= share.sum(axis=1, keepdims=True)
        voters = self.place_potential[:, None] * share * self.decay[rows, sites]
        assigned = sites[np.arange(sites.shape[0]), np.argmax(share, axis=1)]
        travel = (share * d_k).sum(axis=1)
        fp = np.repeat(np.arange(sites.shape[0], dtype=np.int64), k)
        return fp, sites.reshape(-1).astype(np.int64), voters.reshape(-1), assigned, travel

    # -----------------------------------------------------------------------------------------
    # Arrivals over the day

    def arrival_profile(
        self,
        demand: Demand,
        site: SiteId | int,
        day_index: int,
        bin_minutes: int = 60,
        hours_minutes: tuple[float, float] | None = None,
    ) -> ArrivalProfile:
        """Expected arrivals at one station on one voting day, by its local clock time.

        ``hours_minutes``: opening and closing time (minutes after local midnight) the planner
        chose instead of the election's; the day's voters come within them."""
        i = site if isinstance(site, int) else self.scenario.site_index[site]
        s = self.scenario.sites[i]
        election = self.scenario.election
        day = election.days[day_index]
        if hours_minutes is None:
            opens, closes = election.hours(s.site_id, day)
            open_m, close_m = clock_minutes(opens), clock_minutes(closes)
        else:
            open_m, close_m = hours_minutes
        surges = surges_for_day(self.scenario.demand.surges, day_index, len(election.days))
        shares = day_profile(self.site_hourly_weights[i], open_m, close_m, surges, bin_minutes)
        return ArrivalProfile(
            site_id=s.site_id,
            date=day.date,
            timezone=s.timezone,
            utc_offset_minutes=utc_offset_minutes(s.timezone, day.date, open_m),
            bin_minutes=bin_minutes,
            open_minutes=open_m,
            close_minutes=close_m,
            voters=float(demand.voters_per_site_day[i, day_index]),
            share_per_bin=shares,
        )

    def arrival_profiles(self, demand: Demand, bin_minutes: int = 60) -> list[ArrivalProfile]:
        """Profiles of every open station on every voting day (site order, then day order)."""
        return [
            self.arrival_profile(demand, int(i), d, bin_minutes)
            for i in np.flatnonzero(demand.open_mask)
            for d in range(self.day_shares.size)
        ]
