"""A valid scenario loads into the typed model, with variants, gazetteer lookups and XLSX."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from abroad.io.errors import InputError
from abroad.io.scenario import list_variants, load_scenario, validate_scenario
from abroad.model import ClosePolicyKind, SiteKind

from scenario_factory import PLACES_CSV, SITES_CSV, write_scenario
from tests_paths import EXAMPLE


def test_tiny_scenario_loads_into_typed_values(tiny_scenario: Path) -> None:
    sc = load_scenario(tiny_scenario)
    assert [s.site_id for s in sc.openable_sites] == ["emb", "cg"]
    assert sc.site("hall").kind is SiteKind.VENUE and not sc.site("hall").can_open
    assert sc.policies.close_policy.kind is ClosePolicyKind.EXTEND
    assert sc.policies.close_policy.extend_minutes == 60
    assert sc.election.days[0].open == dt.time(8, 0)
    day2 = sc.election.days[1]
    assert sc.election.hours(sc.site("emb").site_id, day2) == (dt.time(8), dt.time(21))
    assert sc.election.hours(sc.site("cg").site_id, day2) == (dt.time(8), dt.time(20))
    assert sc.places[0].pre_registered_site == "emb"
    assert sc.place_arrays.eligible_citizens.sum() == pytest.approx(10_000)
    assert sc.service.patience is not None and sc.service.patience.mean == 60


def test_variant_applies_site_updates(tiny_scenario: Path) -> None:
    assert [v.name for v in list_variants(tiny_scenario)] == ["open-venue"]
    sc = load_scenario(tiny_scenario, "open-venue")
    assert sc.site("hall").can_open
    assert sc.variant == "open-venue"


def test_clock_times_are_not_read_as_base_60_numbers(tmp_path: Path) -> None:
    text = Path(EXAMPLE / "scenario.yaml").read_text()
    assert text  # the example exists
    folder = write_scenario(
        tmp_path / "s",
        scenario_yaml=(
            "name: t\ncitizen_country: RU\nelection:\n  name: e\n  days:\n"
            "    - {date: 2024-03-17, open: 8:00, close: 20:00}\n"
            "voters: {table: places.csv}\nsites: {table: sites.csv}\n"
            "service:\n  checkin: {dist: exponential, mean_minutes: 2}\n"
            "  booth: {dist: exponential, mean_minutes: 3}\n"
        ),
    )
    sc = load_scenario(folder)
    assert sc.election.days[0].open == dt.time(8, 0)
    assert sc.election.days[0].close == dt.time(20, 0)


def test_city_names_are_resolved_with_time_zones(tmp_path: Path) -> None:
    places = "place_id,name,country,eligible_citizens\nq1,Denver,US,100\nq2,Anchorage,US,50\n"
    sc = load_scenario(write_scenario(tmp_path / "s", places_csv=places))
    denver, anchorage = sc.places
    assert denver.timezone == "America/Denver"
    assert anchorage.timezone == "America/Anchorage"
    assert 39 < denver.lat < 40.5 and -105.5 < denver.lon < -104.5


def test_time_zone_is_derived_from_coordinates(tmp_path: Path) -> None:
    places = "place_id,name,country,lat,lon,eligible_citizens\nq1,Somewhere,US,41.88,-87.63,10\n"
    sc = load_scenario(write_scenario(tmp_path / "s", places_csv=places))
    assert sc.places[0].timezone == "America/Chicago"


def test_tables_may_be_xlsx(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s")
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    for line in SITES_CSV.strip().splitlines():
        ws.append([_num(c) for c in line.split(",")])
    book.save(folder / "sites.xlsx")
    text = (folder / "scenario.yaml").read_text().replace("sites.csv", "sites.xlsx")
    (folder / "scenario.yaml").write_text(text)
    (folder / "sites.csv").unlink()
    sc = load_scenario(folder)
    assert [s.site_id for s in sc.sites] == ["emb", "cg", "old", "hall"]
    assert sc.site("emb").max_desks == 6


def _num(cell: str) -> str | float:
    try:
        return float(cell)
    except ValueError:
        return cell


def test_bundled_example_and_all_its_variants_are_valid() -> None:
    assert validate_scenario(EXAMPLE) == []
    sc = load_scenario(EXAMPLE)
    assert sc.total_eligible_citizens == pytest.approx(104_000, rel=1e-3)
    assert {s.site_id for s in sc.openable_sites} == {
        "us-washington-embassy",
        "us-new-york-cg",
        "us-houston-cg",
    }
    permissive = load_scenario(EXAMPLE, "permissive-host")
    assert len(permissive.openable_sites) == 3 + 14
    cut = load_scenario(EXAMPLE, "staff-cut")
    assert cut.site("us-washington-embassy").staff_available == 8  # floor(14 x 0.6)
    assert {v.name for v in list_variants(EXAMPLE)} >= {
        "permissive-host",
        "staff-cut",
        "noon-surge",
    }


def test_unknown_variant_is_an_error(tiny_scenario: Path) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(tiny_scenario, "nope")
    assert "open-venue" in str(err.value)


def test_places_without_pre_registration_keep_it_unknown(tiny_scenario: Path) -> None:
    sc = load_scenario(tiny_scenario)
    assert sc.places[1].pre_registrations is None
    assert PLACES_CSV.count("\n") == len(sc.places) + 1
