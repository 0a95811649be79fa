"""How many of the gazetteer's first-level divisions (admin1) can be named by ISO 3166-2 code
and by name (abroad.geo.admin1), measured on the bundled data.

    .venv/bin/python tools/admin1_coverage.py

Counts the (country, GeoNames admin1 code) pairs that the gazetteer's cities use, and for each
checks that its ISO code, its local name and its English name (pycountry's English
translation of ISO's name) resolve back to it; weighted by cities and by population too.
"""

from __future__ import annotations

import gettext
from collections import Counter
from pathlib import Path

import pycountry

from abroad.geo.admin1 import Admin1Error, divisions, resolve_admin1
from abroad.geo.gazetteer import all_cities


def _resolves(country: str, text: str, code: str) -> bool:
    try:
        return resolve_admin1(country, text).geonames_code == code
    except Admin1Error:
        return False


def main() -> None:
    english = gettext.translation(
        "iso3166-2", str(Path(pycountry.LOCALES_DIR)), languages=["en"], fallback=True
    )
    cities: Counter[tuple[str, str]] = Counter()
    people: Counter[tuple[str, str]] = Counter()
    for city in all_cities():
        if city.admin1 and city.admin1 != "00":  # 00: GeoNames' "no division"
            cities[(city.country, city.admin1)] += 1
            people[(city.country, city.admin1)] += city.population
    ok: dict[str, set[tuple[str, str]]] = {k: set() for k in ("named", "iso", "name", "english")}
    ambiguous: list[str] = []
    for cc, code in cities:
        division = next(d for d in divisions(cc) if d.geonames_code == code)
        if division.name == code:
            continue
        ok["named"].add((cc, code))
        if division.iso_code and _resolves(cc, division.iso_code, code):
            ok["iso"].add((cc, code))
        if _resolves(cc, division.name, code):
            ok["name"].add((cc, code))
        else:
            ambiguous.append(f"{cc} {division.name}")
        iso = division.iso_name or division.name
        if division.iso_code and _resolves(cc, english.gettext(iso), code):
            ok["english"].add((cc, code))
    total, n_cities, pop = len(cities), sum(cities.values()), sum(people.values())
    countries = {cc for cc, _ in cities}
    print(
        f"gazetteer: {total:,} admin1 divisions in {len(countries)} countries, {n_cities:,} cities"
    )
    for key, label in (
        ("named", "linked to a name"),
        ("iso", "ISO 3166-2 code resolves back"),
        ("name", "local name resolves back"),
        ("english", "English name resolves back"),
    ):
        hit = ok[key]
        full = sum(1 for cc in countries if all((cc, c) in hit for k, c in cities if k == cc))
        print(
            f"{label:32s} {len(hit):5,} divisions ({len(hit) / total:6.1%}), "
            f"{sum(cities[p] for p in hit) / n_cities:6.1%} of cities, "
            f"{sum(people[p] for p in hit) / pop:6.1%} of people, {full} countries in full"
        )
    unlinked = sorted(f"{cc}.{code}" for cc, code in cities if (cc, code) not in ok["named"])
    print(f"no link ({len(unlinked)}): {' '.join(unlinked)}")
    print(f"local name not unique ({len(ambiguous)}): {'; '.join(sorted(ambiguous))}")


if __name__ == "__main__":
    main()
