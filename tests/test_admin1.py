"""admin1 by GeoNames code, ISO 3166-2 code or name, on the bundled data (abroad.geo.admin1),
and its use by the gazetteer's city lookup and the scenario loader."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.geo.admin1 import (
    AmbiguousAdmin1Error,
    UnknownAdmin1Error,
    admin1_candidates,
    divisions,
    name_key,
    resolve_admin1,
)
from abroad.geo.gazetteer import UnknownCityError, all_cities, lookup_city
from abroad.io.errors import InputError
from abroad.io.scenario import load_scenario
from abroad.jobs.scaffold import write_scaffold


@pytest.mark.parametrize(
    ("country", "text", "geonames", "iso"),
    [
        ("DE", "DE-BY", "02", "DE-BY"),
        ("DE", "Bayern", "02", "DE-BY"),
        ("DE", "bavaria", "02", "DE-BY"),
        ("DE", "Бавария", "02", "DE-BY"),  # pycountry's Russian translation of ISO's name
        ("DE", "02", "02", "DE-BY"),  # the GeoNames code, as before
        ("DE", "DE.02", "02", "DE-BY"),
        ("DE", "BY", "02", "DE-BY"),  # ISO code without its country
        ("DE", "baden wurttemberg", "01", "DE-BW"),  # accents, case and hyphens ignored
        ("US", "US-CA", "CA", "US-CA"),
        ("US", "California", "CA", "US-CA"),
        ("US", "ca", "CA", "US-CA"),
        ("RU", "RU-MOW", "48", "RU-MOW"),
        ("RU", "Moskva", "48", "RU-MOW"),
        ("RU", "Москва", "48", "RU-MOW"),
        ("RO", "RO-CJ", "13", "RO-CJ"),
        ("RO", "Cluj", "13", "RO-CJ"),
        ("FR", "FR-IDF", "11", "FR-IDF"),
        ("FR", "Ile de France", "11", "FR-IDF"),
        ("FR", "FR-69", "84", "FR-ARA"),  # a department: its region
        ("GB", "GB-ENG", "ENG", "GB-ENG"),  # GeoNames' ENG / SCT are ISO's countries of GB
        ("GB", "Scotland", "SCT", "GB-SCT"),
        ("GB", "GB-LND", "ENG", "GB-ENG"),  # the City of London: in England
        ("IN", "IN-MH", "16", "IN-MH"),
        ("IN", "Maharashtra", "16", "IN-MH"),
        ("IN", "महाराष्ट्र", "16", "IN-MH"),
        ("ES", "ES-M", "29", "ES-MD"),  # the province of Madrid: its community
    ],
)
def test_admin1_by_code_or_name(country: str, text: str, geonames: str, iso: str) -> None:
    division = resolve_admin1(country, text)
    assert (division.geonames_code, division.iso_code) == (geonames, iso)


def test_unknown_admin1_suggests_close_names() -> None:
    with pytest.raises(UnknownAdmin1Error) as info:
        resolve_admin1("DE", "Bavaira")
    assert info.value.suggestions[0] == "Bayern (DE-BY)"
    assert "did you mean Bayern (DE-BY)" in str(info.value)
    with pytest.raises(UnknownAdmin1Error, match="US is another country"):
        resolve_admin1("DE", "US-CA")
    with pytest.raises(UnknownAdmin1Error, match="FR-971 is ISO's Guadeloupe"):
        resolve_admin1("FR", "FR-971")  # the gazetteer lists Guadeloupe as a country, GP


def test_a_name_of_two_divisions_is_ambiguous() -> None:
    # "Moscow" is an English name of both the city (RU-MOW) and the oblast (RU-MOS).
    assert {d.iso_code for d in admin1_candidates("RU", "Moscow")} == {"RU-MOW", "RU-MOS"}
    with pytest.raises(AmbiguousAdmin1Error) as info:
        resolve_admin1("RU", "Moscow")
    assert "Moskva (RU-MOW)" in str(info.value) and "RU-MOS" in str(info.value)


def test_every_linked_division_resolves_back_by_iso_code_and_name() -> None:
    """Over the whole gazetteer: each admin1 its cities use is found again by its ISO code, and
    by its local name unless another division of the country has that name too."""
    used = Counter((c.country, c.admin1) for c in all_cities() if c.admin1 not in ("", "00"))
    linked = iso_back = name_back = 0
    for country, code in used:
        division = next(d for d in divisions(country) if d.geonames_code == code)
        if division.name == code:
            continue  # no link to a name: GeoNames' code only
        linked += 1
        if division.iso_code:
            assert resolve_admin1(country, division.iso_code) == division
            iso_back += 1
        found = admin1_candidates(country, division.name)
        assert division in found
        name_back += len(found) == 1
    assert linked / len(used) > 0.99 and iso_back / len(used) > 0.94
    assert name_back / linked > 0.99


def test_lookup_city_with_admin1_names() -> None:
    assert lookup_city("München", "DE", "Bavaria").name == "Munich"
    assert lookup_city("Munich", None, "DE-BY").country == "DE"  # the ISO code gives the country
    assert lookup_city("Frankfurt", "DE", "Brandenburg").name == "Frankfurt (Oder)"
    assert lookup_city("Springfield", "US", "Illinois").admin1 == "IL"
    assert lookup_city("London", "GB", "GB-LND").admin1 == "ENG"
    # Ambiguous, but only one of the two holds a city called Moscow.
    assert lookup_city("Moscow", "RU", "Moscow").admin1 == "48"


def test_lookup_city_in_the_wrong_division_names_where_it_is() -> None:
    with pytest.raises(UnknownCityError) as info:
        lookup_city("Houston", "US", "New York")
    assert info.value.suggestions[0] == "Houston (Texas, US-TX)"
    with pytest.raises(UnknownAdmin1Error, match="did you mean Nordrhein-Westfalen"):
        lookup_city("Köln", "DE", "Nordrhein-Westfahlen")


def test_name_key_ignores_case_accents_and_punctuation() -> None:
    assert name_key("Baden-Württemberg") == name_key("baden wurttemberg")
    assert name_key("Yaroslavskaya oblast'") == "yaroslavskayaoblast"


def _scaffold(tmp_path: Path) -> Path:
    import datetime as dt

    out = tmp_path / "de"
    write_scaffold("RU", "DE", 1000, out, election_date=dt.date(2024, 3, 17))
    return out


def _set_site(folder: Path, **cells: str) -> None:
    path = folder / "sites.csv"
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(cells)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def test_scenario_sites_accept_admin1_names_and_locate_bad_ones(tmp_path: Path) -> None:
    folder = _scaffold(tmp_path)
    _set_site(folder, city="München", admin1="Bavaria", lat="", lon="", timezone="")
    site = load_scenario(folder).sites[0]
    assert (round(site.lat, 2), round(site.lon, 2)) == (48.14, 11.58)
    _set_site(folder, admin1="Bavaira")
    with pytest.raises(InputError) as info:
        load_scenario(folder)
    [problem] = info.value.problems
    assert (problem.file, problem.row, problem.column) == ("sites.csv", 2, "admin1")
    assert "did you mean Bayern (DE-BY)" in problem.message
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2
    assert "sites.csv, row 2, column 'admin1': unknown admin1 'Bavaira' in DE" in result.stderr


def test_scaffold_writes_iso_admin1_that_resolves_back(tmp_path: Path) -> None:
    folder = _scaffold(tmp_path)
    with (folder / "places.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {f"g{c.geoname_id}": c for c in all_cities()}
    assert all(r["admin1"].startswith("DE-") for r in rows)
    for row in rows:
        city = by_id[row["place_id"]]
        assert resolve_admin1("DE", row["admin1"]).geonames_code == city.admin1
    assert "ISO 3166-2 code" in (folder / "README.md").read_text(encoding="utf-8")
