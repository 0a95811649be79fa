"""Reading the ``tours:`` section (inline, or in its own YAML file) and given itineraries.

``tours: tours.yaml`` (or ``tours: {file: tours.yaml}``) reads the section from a file in the
scenario folder; a mapping is the section itself. Every problem is located (file and dotted
path) and reported together with the rest of the scenario's. See
docs/reference/scenario-format.md, "tours".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from abroad.geo import gazetteer
from abroad.geo.admin1 import Admin1Error
from abroad.geo.distance import haversine_km
from abroad.io.errors import InputError, Problem, ProblemCollector
from abroad.io.yamlio import read_yaml
from abroad.model.scenario import Site, VoterPlace
from abroad.model.tours import Itinerary, Team, TourCity, Tours, ToursSpec
from abroad.model.types import TimeZoneName
from abroad.tours.itinerary import Stop, TripPlan

SCENARIO_FILE = "scenario.yaml"


def _section_source(folder: Path, raw: Any, col: ProblemCollector) -> tuple[str, str, Any] | None:
    """(file label, path prefix, mapping) of the section, or None after reporting a problem."""
    name: str | None = None
    if isinstance(raw, str):
        name = raw
    elif isinstance(raw, dict) and set(raw) == {"file"} and isinstance(raw["file"], str):
        name = raw["file"]
    elif isinstance(raw, dict):
        return SCENARIO_FILE, "tours", raw
    else:
        col.add(SCENARIO_FILE, "expected a mapping, or the name of a YAML file", path="tours")
        return None
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        col.add(SCENARIO_FILE, "the tours file must be inside the scenario folder", path="tours")
        return None
    try:
        data = read_yaml(target, name)
    except InputError as exc:
        col.extend(exc.problems)
        return None
    if not isinstance(data, dict):
        col.add(name, "expected a mapping of the tours settings at the top level")
        return None
    return name, "", data


def read_tours(
    folder: Path,
    raw: Any,
    sites: Sequence[Site],
    places: Sequence[VoterPlace],
    col: ProblemCollector,
) -> Tours | None:
    """Validate the section and locate its candidate cities; problems go to ``col``."""
    if raw is None:
        return None
    source = _section_source(folder, raw, col)
    if source is None:
        return None
    label, prefix, data = source
    try:
        spec = ToursSpec.model_validate(data)
    except ValidationError as exc:
        col.add_validation_error(label, exc, path_prefix=prefix)
        return None

    def at(path: str) -> str:
        return f"{prefix}.{path}" if prefix else path

    by_site = {s.site_id: s for s in sites}
    team_sets = [("teams", spec.teams)] + [
        (f"staffing.{k}.teams", s.teams) for k, s in spec.staffing.items()
    ]
    for where, teams in team_sets:
        for i, team in enumerate(teams):
            site = by_site.get(team.home)
            if sites and site is None:
                col.add(
                    label,
                    f"unknown site {team.home!r} (not in the sites table)",
                    path=at(f"{where}[{i}].home"),
                )
            elif site is not None and not (site.kind.is_mission and site.available):
                col.add(
                    label, f"{team.home!r} is not a working mission", path=at(f"{where}[{i}].home")
                )
            if team.max_trip_days > spec.horizon.days:
                col.add(
                    label,
                    "a trip cannot be longer than the horizon",
                    path=at(f"{where}[{i}].max_trip_days"),
                )
    for i, day in enumerate(spec.horizon.blackout):
        if not spec.horizon.start <= day <= spec.horizon.end:
            col.add(label, f"{day} is outside the horizon", path=at(f"horizon.blackout[{i}]"))
    cities = _resolve_cities(spec, sites, places, label, at, col)
    if not cities:
        col.add(
            label,
            "no candidate city: give candidates or candidate_places_min_citizens",
            path=at("candidates"),
        )
    return Tours(spec=spec, cities=tuple(cities), file=label)


def _resolve_cities(
    spec: ToursSpec,
    sites: Sequence[Site],
    places: Sequence[VoterPlace],
    label: str,
    at: Any,
    col: ProblemCollector,
) -> list[TourCity]:
    by_place = {p.place_id: p for p in places}
    default_country = sites[0].country if sites else None
    out: list[TourCity] = []
    seen: dict[str, int] = {}
    for i, cand in enumerate(spec.candidates):
        path = at(f"candidates[{i}]")
        if cand.place_id is not None:
            place = by_place.get(cand.place_id)
            if place is None:
                col.add(
                    label, f"unknown place {cand.place_id!r} (not in the voters table)", path=path
                )
                continue
            city = TourCity(
                place.place_id,
                place.name,
                place.lat,
                place.lon,
                place.timezone,
                cand.venue_cost_per_day,
            )
        else:
            assert cand.city is not None
            if cand.lat is not None and cand.lon is not None:
                tz = gazetteer.timezone_at(cand.lat, cand.lon)
                if tz is None:
                    col.add(label, "no time zone at these coordinates", path=path)
                    continue
                lat, lon = cand.lat, cand.lon
            else:
                try:
                    found = gazetteer.lookup_city(
                        cand.city, cand.country or default_country, cand.admin1
                    )
                except gazetteer.UnknownCityError as exc:
                    col.add(label, f"{exc}; or give lat and lon", path=f"{path}.city")
                    continue
                except Admin1Error as exc:
                    col.add(label, str(exc), path=f"{path}.admin1")
                    continue
                lat, lon, tz = found.lat, found.lon, found.timezone
            city = TourCity(
                _city_id(cand.city), cand.city, lat, lon, TimeZoneName(tz), cand.venue_cost_per_day
            )
        if city.city_id in seen:
            col.add(
                label,
                f"{city.name} is already a candidate (candidates[{seen[city.city_id]}])",
                path=path,
            )
            continue
        seen[city.city_id] = i
        out.append(city)
    missions = [s for s in sites if s.kind.is_mission and s.available]

    def near_mission(lat: float, lon: float) -> bool:
        return any(
            float(haversine_km(lat, lon, m.lat, m.lon)) <= spec.demand.mission_reach_km
            for m in missions
        )

    for city in list(out):
        if near_mission(city.lat, city.lon):
            col.add(
                label,
                f"{city.name} is within {spec.demand.mission_reach_km:g} km of a working mission "
                "(its citizens go there; see demand.mission_reach_km)",
                path=at(f"candidates[{seen[city.city_id]}]"),
            )
    if spec.candidate_places_min_citizens is not None:
        names = {c.name.casefold() for c in out}
        for place in places:
            if (
                not near_mission(place.lat, place.lon)
                and place.eligible_citizens >= spec.candidate_places_min_citizens
                and place.name.casefold() not in names
                and place.place_id not in seen
            ):
                out.append(
                    TourCity(
                        place.place_id,
                        place.name,
                        place.lat,
                        place.lon,
                        place.timezone,
                        spec.default_venue_cost_per_day,
                    )
                )
                names.add(place.name.casefold())
    return out


def _city_id(name: str) -> str:
    return "city-" + "-".join(name.casefold().split())


# ---------------------------------------------------------------------------------------------
# Given itineraries (--compare)


def read_itinerary(
    path: Path, tours: Tours, teams: tuple[Team, ...]
) -> tuple[Itinerary, tuple[Team, ...], list[TripPlan]]:
    """Read a YAML itinerary; its cities must be candidates, its teams known.

    Returns the itinerary, the teams it uses (its own ``teams`` or the given ones) and its
    trips. Raises InputError listing every problem.
    """
    label = path.name
    data = read_yaml(path, label)
    try:
        itinerary = Itinerary.model_validate(data)
    except ValidationError as exc:
        col = ProblemCollector()
        col.add_validation_error(label, exc)
        col.raise_if_any()
        raise AssertionError("unreachable") from exc
    used_teams = itinerary.teams or teams
    team_ids = {t.team_id for t in used_teams}
    by_name = {c.name.casefold(): i for i, c in enumerate(tours.cities)}
    problems: list[Problem] = []
    trips: list[TripPlan] = []
    for i, trip in enumerate(itinerary.trips):
        if trip.team not in team_ids:
            problems.append(
                Problem(
                    label,
                    f"unknown team {trip.team!r} (teams: {', '.join(sorted(team_ids))})",
                    path=f"trips[{i}].team",
                )
            )
        stops = []
        for j, visit in enumerate(trip.visits):
            city = by_name.get(visit.city.casefold())
            if city is None:
                problems.append(
                    Problem(
                        label,
                        f"{visit.city!r} is not a candidate city of the tours section",
                        path=f"trips[{i}].visits[{j}].city",
                    )
                )
                continue
            stops.append(Stop(city, visit.days))
        trips.append(TripPlan(trip.team, tuple(stops), trip.start))
    if problems:
        raise InputError(problems)
    return itinerary, used_teams, trips
