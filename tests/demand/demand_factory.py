"""Scenarios for demand tests, built in Python (no files)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from abroad.model import (
    DemandParams,
    Election,
    Exponential,
    PlaceId,
    Scenario,
    ServiceModel,
    Site,
    SiteId,
    SiteKind,
    VoterPlace,
    VotingDay,
)

SERVICE = ServiceModel(checkin=Exponential(mean_minutes=2.0), booth=Exponential(mean_minutes=3.0))


def site(
    site_id: str,
    lat: float,
    lon: float,
    tz: str = "Europe/Berlin",
    country: str = "DE",
    can_open: bool = True,
) -> Site:
    return Site(
        site_id=SiteId(site_id),
        name=site_id,
        kind=SiteKind.CONSULATE,
        country=country,
        lat=lat,
        lon=lon,
        timezone=tz,
        available=can_open,
    )


def place(place_id: str, lat: float, lon: float, eligible: float, **extra: object) -> VoterPlace:
    return VoterPlace(
        place_id=PlaceId(place_id),
        name=place_id,
        country="DE",
        lat=lat,
        lon=lon,
        timezone="Europe/Berlin",
        eligible_citizens=eligible,
        **extra,  # type: ignore[arg-type]
    )


def scenario(
    sites: list[Site],
    places: list[VoterPlace],
    demand: DemandParams | None = None,
    days: int = 1,
) -> Scenario:
    start = dt.date(2024, 3, 15)
    return Scenario(
        name="t",
        description="",
        citizen_country="RU",
        election=Election(
            name="e",
            days=tuple(VotingDay(date=start + dt.timedelta(days=i)) for i in range(days)),
        ),
        sites=tuple(sites),
        places=tuple(places),
        service=SERVICE,
        demand=demand or DemandParams(),
    )


def random_country(
    n_places: int, n_sites: int, seed: int = 0, demand: DemandParams | None = None, days: int = 1
) -> Scenario:
    """Places and sites scattered over a 1,500 km square around Germany."""
    rng = np.random.default_rng(seed)
    plat = rng.uniform(45, 58, n_places)
    plon = rng.uniform(0, 20, n_places)
    slat = rng.uniform(45, 58, n_sites)
    slon = rng.uniform(0, 20, n_sites)
    eligible = rng.lognormal(6, 1.2, n_places)
    return scenario(
        [site(f"s{i}", slat[i], slon[i]) for i in range(n_sites)],
        [place(f"p{i}", plat[i], plon[i], float(eligible[i])) for i in range(n_places)],
        demand,
        days,
    )
