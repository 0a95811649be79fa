"""Invariants of the demand model: monotonicity, conservation, signals, choice."""

from __future__ import annotations

import numpy as np
import pytest
from demand_factory import place, random_country, scenario, site
from hypothesis import given, settings
from hypothesis import strategies as st

from abroad.demand import DemandModel, decay_factor
from abroad.model import DemandParams, DistanceDecay, SignalWeights, SiteId, StationChoice

FAMILIES = ["exponential", "logistic"]


@pytest.mark.parametrize("family", FAMILIES)
def test_decay_is_one_at_zero_and_never_increases(family: str) -> None:
    d = np.linspace(0, 5000, 2001)
    decay = DistanceDecay(family=family, scale_km=80, midpoint_km=120)  # type: ignore[arg-type]
    f = decay_factor(d, decay)
    assert f[0] == pytest.approx(1.0)
    assert np.all(np.diff(f) <= 0)
    assert np.all(f[d < 2000] > 0)  # far voters decay smoothly, they are not dropped


@pytest.mark.parametrize("family", FAMILIES)
@settings(max_examples=40, deadline=None)
@given(
    near_km=st.floats(0, 2000),
    extra_km=st.floats(0.1, 2000),
    eligible=st.floats(1, 1e6),
)
def test_farther_never_means_more_voters(
    family: str, near_km: float, extra_km: float, eligible: float
) -> None:
    """The same place with its only station farther away sends no more voters."""
    params = DemandParams(decay=DistanceDecay(family=family))  # type: ignore[arg-type]
    km_per_deg = 111.195
    voters = []
    for km in (near_km, near_km + extra_km):
        sc = scenario(
            [site("a", 50.0, 0.0)], [place("p", 50.0 + km / km_per_deg, 0.0, eligible)], params
        )
        voters.append(DemandModel.from_scenario(sc).expected_demand().voters_per_place[0])
    assert voters[1] <= voters[0] + 1e-9 * eligible


def test_closing_a_station_never_adds_voters() -> None:
    sc = random_country(400, 30, seed=3)
    model = DemandModel.from_scenario(sc)
    rng = np.random.default_rng(1)
    for _ in range(20):
        mask = rng.random(30) < 0.5
        mask[rng.integers(30)] = True
        fewer = mask.copy()
        fewer[rng.choice(np.flatnonzero(mask))] = False
        if not fewer.any():
            continue
        more_v = model.expected_demand(mask).voters_per_place
        fewer_v = model.expected_demand(fewer).voters_per_place
        assert np.all(fewer_v <= more_v + 1e-9)
        assert fewer_v.sum() < more_v.sum() or np.allclose(fewer_v, more_v)


@pytest.mark.parametrize("choice", ["nearest", "logit"])
def test_voters_split_over_stations_add_up(choice: str) -> None:
    params = DemandParams(
        choice=StationChoice(model=choice, k_nearest=4),  # type: ignore[arg-type]
        day_shares=(0.3, 0.7),
    )
    sc = random_country(500, 40, seed=7, demand=params, days=2)
    model = DemandModel.from_scenario(sc)
    mask = np.random.default_rng(2).random(40) < 0.3
    wait = np.random.default_rng(3).uniform(0, 120, 40)
    d = model.expected_demand(mask, wait)
    total = d.voters_per_place.sum()
    assert total > 0
    assert d.voters_per_site.sum() == pytest.approx(total, rel=1e-12)
    assert d.voters_per_site_day.sum() == pytest.approx(total, rel=1e-12)
    assert d.flow_voters.sum() == pytest.approx(total, rel=1e-12)
    assert np.all(d.voters_per_site[~mask] == 0)
    np.testing.assert_allclose(
        np.bincount(d.flow_place, d.flow_voters, minlength=500), d.voters_per_place, rtol=1e-12
    )


def test_day_split_follows_day_shares() -> None:
    params = DemandParams(day_shares=(0.2, 0.3, 0.5))
    sc = random_country(50, 5, seed=1, demand=params, days=3)
    d = DemandModel.from_scenario(sc).expected_demand()
    open_rows = d.voters_per_site_day[d.voters_per_site > 0]
    np.testing.assert_allclose(
        open_rows / open_rows.sum(1, keepdims=True), [[0.2, 0.3, 0.5]] * len(open_rows)
    )


def test_nearest_matches_brute_force_argmin() -> None:
    sc = random_country(300, 25, seed=11)
    model = DemandModel.from_scenario(sc)
    mask = np.zeros(25, dtype=bool)
    mask[[2, 5, 9, 17]] = True
    d = model.expected_demand(mask)
    open_idx = np.flatnonzero(mask)
    expected = open_idx[np.argmin(model.distance_km[:, open_idx], axis=1)]
    np.testing.assert_array_equal(d.assigned_site, expected)
    np.testing.assert_allclose(
        d.voters_per_place, model.voters_if_assigned[np.arange(300), expected]
    )


def test_base_turnout_next_to_station() -> None:
    sc = scenario([site("a", 50, 8)], [place("p", 50, 8, 10_000)], DemandParams(base_turnout=0.2))
    d = DemandModel.from_scenario(sc).expected_demand()
    assert d.voters_per_site[0] == pytest.approx(2000.0)


def test_pre_registration_alone_never_sets_demand() -> None:
    """Montreuil, Moldova 2024: 67 registrations, 1,569 voters. Demand follows the model."""
    params = DemandParams(base_turnout=0.2)
    few = place("p", 48.86, 2.44, 8000, pre_registrations=67, pre_registered_site="a")
    none = place("p", 48.86, 2.44, 8000)
    sites = [site("a", 48.86, 2.44, "Europe/Paris", "FR")]
    with_reg = (
        DemandModel.from_scenario(scenario(sites, [few], params)).expected_demand().total_voters
    )
    without = (
        DemandModel.from_scenario(scenario(sites, [none], params)).expected_demand().total_voters
    )
    uplifted = params.signals.pre_registration_uplift * 67
    assert without == pytest.approx(1600.0)
    assert with_reg > 5 * uplifted  # far from what registrations alone would say
    assert uplifted < with_reg < without  # moved towards it, by its weight only
    # Even a huge weight on pre-registration keeps the model estimate in the mix.
    heavy = DemandParams(base_turnout=0.2, signals=SignalWeights(pre_registrations=1000))
    v = DemandModel.from_scenario(scenario(sites, [few], heavy)).expected_demand().total_voters
    assert v != pytest.approx(uplifted, rel=1e-6)
    assert v > uplifted


def test_signals_are_weighted_means() -> None:
    params = DemandParams(
        base_turnout=0.25,
        signals=SignalWeights(model=1, previous_votes=3, pre_registrations=0, consular_estimate=1),
    )
    p = place("p", 50, 8, 4000, previous_votes=600, consular_estimate=8000)
    d = DemandModel.from_scenario(scenario([site("a", 50, 8)], [p], params)).expected_demand()
    # model 1000, previous 600 (x3), consular 2000: (1000 + 1800 + 2000) / 5
    assert d.total_voters == pytest.approx(960.0)


def test_pre_registered_voters_go_to_their_station() -> None:
    params = DemandParams(base_turnout=0.2)
    p = place("p", 50, 8, 10_000, pre_registrations=500, pre_registered_site="far")
    sites = [site("near", 50, 8), site("far", 52.5, 13.4)]
    model = DemandModel.from_scenario(scenario(sites, [p], params))
    d = model.expected_demand()
    reg = 500 * params.signals.pre_registered_turnout
    assert d.voters_per_site[1] == pytest.approx(reg)
    assert d.voters_per_site.sum() == pytest.approx(d.voters_per_place.sum())
    only_near = model.expected_demand([SiteId("near")])
    assert only_near.voters_per_site[0] == pytest.approx(only_near.total_voters)


def test_logit_crowded_station_pushes_voters_away() -> None:
    params = DemandParams(choice=StationChoice(model="logit", k_nearest=2))
    sites = [site("a", 50, 8), site("b", 50.3, 8)]
    places = [place("p", 50.1, 8, 5000)]
    model = DemandModel.from_scenario(scenario(sites, places, params))
    calm = model.expected_demand(None, np.array([0.0, 0.0]))
    crowded = model.expected_demand(None, np.array([120.0, 0.0]))
    assert calm.voters_per_site[0] > calm.voters_per_site[1]
    assert crowded.voters_per_site[0] < calm.voters_per_site[0]
    assert crowded.voters_per_site[1] > calm.voters_per_site[1]


def test_rejects_sites_that_cannot_open_and_unknown_ids() -> None:
    sc = scenario([site("a", 50, 8), site("b", 51, 8, can_open=False)], [place("p", 50, 8, 10)])
    model = DemandModel.from_scenario(sc)
    with pytest.raises(ValueError, match=r"cannot open.*b"):
        model.expected_demand([SiteId("b")])
    with pytest.raises(ValueError, match="unknown site"):
        model.expected_demand([SiteId("zzz")])
    assert model.expected_demand([]).total_voters == 0.0


def test_travel_time_decay_is_used() -> None:
    """Voters fall off as the decay of the travel time (hours), not of the distance (km): the
    two give different ratios between a near and a far place, and the model gives the first."""
    from abroad.geo.distance import haversine_km
    from abroad.geo.travel import travel_time_hours

    sites = [site("a", 50, 8)]
    near_p, far_p = place("p", 50.5, 8, 1000), place("p", 55, 8, 1000)
    voters = {}
    for on in ("travel_time", "distance"):
        params = DemandParams(decay_on=on)  # type: ignore[arg-type]
        voters[on] = [
            DemandModel.from_scenario(scenario(sites, [p], params)).expected_demand().total_voters
            for p in (near_p, far_p)
        ]
    sc = scenario(sites, [near_p])
    d = np.array([haversine_km(p.lat, p.lon, 50, 8) for p in (near_p, far_p)])
    by_hours = decay_factor(travel_time_hours(d, sc.travel), sc.demand.decay, "hours")
    by_km = decay_factor(d, sc.demand.decay, "km")
    assert by_hours[1] / by_hours[0] != pytest.approx(by_km[1] / by_km[0], rel=0.05)
    near_t, far_t = voters["travel_time"]
    near_d, far_d = voters["distance"]
    assert far_t / near_t == pytest.approx(by_hours[1] / by_hours[0], rel=1e-6)
    assert far_d / near_d == pytest.approx(by_km[1] / by_km[0], rel=1e-6)
