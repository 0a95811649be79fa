"""Arrivals over the day: curves, day shares, surges, time zones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from demand_factory import place, scenario, site

from abroad.demand import DemandModel, curves, day_profile, default_day_shares, hourly_weights
from abroad.model import DemandParams, Surge


def test_calibrated_curves_are_shares_within_calibrated_hours() -> None:
    for shares in [curves.POOLED_HOURLY_SHARES, *curves.COUNTRY_HOURLY_SHARES.values()]:
        a = np.array(shares)
        assert a.size == 24
        assert a.sum() == pytest.approx(1.0, abs=1e-3)
        assert np.all(a[: curves.CALIBRATED_OPEN_HOUR] == 0)
        assert np.all(a[curves.CALIBRATED_CLOSE_HOUR :] == 0)
        # A daytime peak: the busiest hour is between late morning and afternoon.
        assert 10 <= int(np.argmax(a)) <= 16


def test_held_out_error_beats_a_flat_curve() -> None:
    assert curves.HELD_OUT_MAE_PP < curves.HELD_OUT_MAE_PP_POOLED_ONLY < curves.HELD_OUT_MAE_PP_FLAT


@pytest.mark.parametrize("bin_minutes", [60, 30, 15])
def test_day_profile_sums_to_one_and_is_zero_when_closed(bin_minutes: int) -> None:
    shares = day_profile(hourly_weights("DE"), 8 * 60, 20 * 60, bin_minutes=bin_minutes)
    assert shares.sum() == pytest.approx(1.0)
    start = np.arange(shares.size) * bin_minutes
    assert np.all(shares[(start < 8 * 60) | (start >= 20 * 60)] == 0)
    assert np.all(shares[(start >= 8 * 60) & (start < 20 * 60)] > 0)


def test_half_hour_opening_gets_half_an_hour() -> None:
    w = np.ones(24)
    shares = day_profile(w, 8 * 60 + 30, 10 * 60)
    np.testing.assert_allclose(shares[8:10], [1 / 3, 2 / 3])


def test_surge_puts_its_share_around_its_time() -> None:
    surge = Surge(at=dt.time(12, 0), share=0.4, width_minutes=20)
    plain = day_profile(hourly_weights(None), 8 * 60, 20 * 60)
    surged = day_profile(hourly_weights(None), 8 * 60, 20 * 60, [surge], bin_minutes=60)
    assert surged.sum() == pytest.approx(1.0)
    # About 0.4 * 0.95 of a narrow noon surge lands in 11:00-13:00, on top of 0.6 x the curve.
    extra = surged[11:13].sum() - 0.6 * plain[11:13].sum()
    assert extra == pytest.approx(0.4 * 0.9973, abs=0.01)
    assert int(np.argmax(surged)) in (11, 12)


def test_default_day_shares_last_day_busiest() -> None:
    for n in (2, 3, 4):
        s = default_day_shares([720.0] * n)
        assert s.sum() == pytest.approx(1.0)
        assert np.argmax(s) == n - 1
        assert s[-1] > 0.5
    np.testing.assert_allclose(default_day_shares([720.0]), [1.0])


def test_los_angeles_and_new_york_peak_at_the_same_local_hour() -> None:
    sites = [
        site("ny", 40.78, -73.96, "America/New_York", "US"),
        site("la", 34.05, -118.24, "America/Los_Angeles", "US"),
    ]
    places = [
        place("pny", 40.7, -74.0, 5000),
        place("pla", 34.0, -118.3, 3000),
    ]
    model = DemandModel.from_scenario(scenario(sites, places))
    d = model.expected_demand()
    ny = model.arrival_profile(d, "ny", 0)
    la = model.arrival_profile(d, "la", 0)
    assert ny.peak_local_minutes == la.peak_local_minutes
    assert ny.utc_offset_minutes - la.utc_offset_minutes == 180  # three hours apart in UTC
    np.testing.assert_allclose(ny.share_per_bin, la.share_per_bin)
    assert ny.voters_per_bin.sum() == pytest.approx(d.voters_per_site[0])
    assert ny.rate_per_hour.max() > 0


def test_country_curve_differs_from_pooled() -> None:
    italy = day_profile(hourly_weights("IT"), 7 * 60, 21 * 60)
    spain = day_profile(hourly_weights("ESP"), 7 * 60, 21 * 60)
    unknown = day_profile(hourly_weights("ZZ"), 7 * 60, 21 * 60)
    pooled = day_profile(hourly_weights(None), 7 * 60, 21 * 60)
    np.testing.assert_allclose(unknown, pooled)
    # Italians abroad come earlier in the day than Spaniards' hosts (domain.md §4).
    hours = np.arange(24)
    assert (italy * hours).sum() < (spain * hours).sum()


def test_scenario_surges_and_site_hours_are_applied() -> None:
    params = DemandParams(surges=(Surge(day=-1, at=dt.time(12, 0), share=0.5, width_minutes=30),))
    sc = scenario([site("a", 50, 8)], [place("p", 50, 8, 10_000)], params, days=2)
    model = DemandModel.from_scenario(sc)
    d = model.expected_demand()
    first, last = model.arrival_profiles(d)
    assert first.share_per_bin[12] < 0.2 < last.share_per_bin[12]
    assert first.voters + last.voters == pytest.approx(d.total_voters)
    assert last.voters > first.voters


def test_demand_result_for_the_report() -> None:
    from abroad.results import DemandResult

    sites = [site("a", 50, 8), site("b", 52.5, 13.4)]
    sc = scenario(sites, [place("p", 50, 8, 1000), place("q", 52.5, 13.4, 3000)], days=2)
    model = DemandModel.from_scenario(sc)
    s = DemandResult.of(model, model.expected_demand())
    assert [st.site_id for st in s.stations] == ["a", "b"]
    for st in s.stations:
        assert len(st.arrivals_per_local_hour) == 2
        per_day = [sum(row) for row in st.arrivals_per_local_hour]
        np.testing.assert_allclose(per_day, st.voters_per_day, atol=0.2)
        assert st.peak_local_hour[0] == int(np.argmax(st.arrivals_per_local_hour[0]))
