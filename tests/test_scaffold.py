"""`abroad scaffold`, the district rule, and city lookup by alternate names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.geo.agglomeration import residents
from abroad.geo.gazetteer import City, UnknownCityError, lookup_city
from abroad.io.scenario import load_scenario
from abroad.model import CountryCode, TimeZoneName

runner = CliRunner()


def _city(i: int, pop: int, lat: float, lon: float) -> City:
    return City(i, f"c{i}", CountryCode("DE"), "01", lat, lon, pop, TimeZoneName("Europe/Berlin"))


def test_districts_are_not_added_to_their_city() -> None:
    # A city of 1M (radius 10 km) listing two districts (200k each) 5 km out, and a town of
    # 50k 30 km away: the city's point keeps 600k, the districts theirs, the town its own.
    city, d1, d2 = (
        _city(1, 1_000_000, 0, 0),
        _city(2, 200_000, 0.045, 0),
        _city(3, 200_000, 0, 0.045),
    )
    town = _city(4, 50_000, 0.27, 0)
    out = {r.city.geoname_id: r for r in residents([town, d2, city, d1])}
    assert out[1].people == 600_000 and out[1].part_of is None
    assert out[2].people == 200_000 and out[2].part_of == city
    assert out[4].people == 50_000 and out[4].part_of is None
    assert sum(r.people for r in out.values()) == 1_050_000


def test_a_city_listed_by_its_districts_is_counted_by_them_only() -> None:
    city = _city(1, 400_000, 0, 0)
    parts = [_city(10 + k, 100_000, 0.01 * k, 0) for k in range(1, 6)]  # 500k within 2 km
    out = residents([city, *parts])
    assert [r.city.geoname_id for r in out if r.part_of is None] == []
    assert sum(r.people for r in out) == 500_000


@pytest.mark.parametrize(
    ("name", "country", "admin1", "expected"),
    [
        ("München", "DE", None, "Munich"),
        ("Cologne", "DE", None, "Köln"),
        ("Нью-Йорк", "US", None, "New York City"),
        ("New York City", "US", "US-NY", "New York City"),
        ("Houston", "US", "TX", "Houston"),
    ],
)
def test_lookup_accepts_alternate_names_and_iso_admin1(
    name: str, country: str, admin1: str | None, expected: str
) -> None:
    assert lookup_city(name, country, admin1).name == expected


def test_lookup_with_the_wrong_admin1_is_unknown() -> None:
    with pytest.raises(UnknownCityError):
        lookup_city("Houston", "US", "US-NY")


def test_scaffold_writes_a_valid_scenario_with_every_citizen_once(tmp_path: Path) -> None:
    out = tmp_path / "ru-de"
    args = ["scaffold", "--citizens-of", "RU", "--host", "DE", "--citizens", "300000"]
    result = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["timezones"] == ["Europe/Berlin"] and info["capital"] == "Berlin"
    sc = load_scenario(out)
    assert sc.total_eligible_citizens == pytest.approx(
        300_000, abs=0.05 * len(sc.places)
    )  # 0.1 round-off
    with (out / "places.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["name"] for r in rows}
    # Berlin is listed by its districts (Kreuzberg, Neukölln, ...): its own point is not added.
    assert "Kreuzberg" in names and "Berlin" not in names
    assert any("district of Berlin" in r["notes"] for r in rows)
    assert "0.01 x sqrt(population)" in (out / "README.md").read_text(encoding="utf-8")
    again = runner.invoke(app, [*args, "--out", str(out)])
    assert again.exit_code == 2 and "already holds a scenario.yaml" in again.stderr


def test_scaffold_rejects_an_unknown_host(tmp_path: Path) -> None:
    args = ["scaffold", "--citizens-of", "RU", "--host", "XX", "--citizens", "10"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown country code" in result.stderr


def test_the_germany_example_written_with_scaffold_is_valid() -> None:
    from tests_paths import REPO

    result = runner.invoke(app, ["validate", str(REPO / "examples" / "de-2024")])
    assert result.exit_code == 0, result.output
