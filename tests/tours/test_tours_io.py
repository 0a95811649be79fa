"""The tours: section: validation with located problems, file references, itineraries."""

from __future__ import annotations

from pathlib import Path

import pytest

from abroad.io.errors import InputError
from abroad.io.scenario import load_scenario
from abroad.io.tours import read_itinerary
from conftest import TOURS_YAML, write_tours_scenario

from scenario_factory import SCENARIO_YAML, write_scenario


def _problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(folder)
    return [str(p) for p in info.value.problems]


def test_valid_section_is_read_from_its_file(tours_folder: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    assert sc.tours.file == "tours.yaml"
    assert [c.name for c in sc.tours.cities] == [
        "Los Angeles",
        "Seattle",
        "New York City",
        "Chicago",
    ]
    assert sc.tours.spec.teams[0].diplomats == 2


def test_inline_section(tmp_path: Path) -> None:
    inline = "tours:\n" + "".join(f"  {line}\n" for line in TOURS_YAML.splitlines())
    folder = write_scenario(tmp_path / "s", SCENARIO_YAML + inline)
    from conftest import PLACES_CSV

    (folder / "places.csv").write_text(PLACES_CSV, encoding="utf-8")
    sc = load_scenario(folder)
    assert sc.tours is not None and sc.tours.file == "scenario.yaml"


def test_problems_are_located(tmp_path: Path) -> None:
    broken = (
        TOURS_YAML.replace(
            "home: emb, diplomats: 2, days_available: 16",
            "home: nowhere, diplomats: 2, days_available: 16",
        )
        .replace(
            "home: emb, diplomats: 2, days_available: 12",
            "home: hall, diplomats: 0, days_available: 12",
        )
        .replace("{city: Chicago,", "{city: Chicagoo,")
        .replace("blackout: [2024-01-15,", "blackout: [2025-01-15,")
    )
    folder = write_tours_scenario(tmp_path / "t", broken)
    problems = _problems(folder)
    text = "\n".join(problems)
    assert "tours.yaml, teams[1].diplomats: Input should be greater than or equal to 1" in text
    # The model error stops the cross-checks: fix it and look again.
    folder = write_tours_scenario(tmp_path / "u", broken.replace("diplomats: 0", "diplomats: 1"))
    text = "\n".join(_problems(folder))
    assert "tours.yaml, teams[0].home: unknown site 'nowhere'" in text
    assert "tours.yaml, teams[1].home: 'hall' is not a working mission" in text
    assert "tours.yaml, candidates[3].city: unknown city 'Chicagoo'" in text
    assert "tours.yaml, horizon.blackout[0]: 2025-01-15 is outside the horizon" in text


def test_candidate_at_a_mission_is_refused(tmp_path: Path) -> None:
    near = TOURS_YAML.replace("{city: Seattle,", "{city: Washington,")
    text = "\n".join(_problems(write_tours_scenario(tmp_path / "t", near)))
    assert "candidates[1]: Washington is within 150 km of a working mission" in text


def test_missing_file_and_bad_shape(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", SCENARIO_YAML + "tours: nope.yaml\n")
    assert any("nope.yaml" in p for p in _problems(folder))
    folder = write_scenario(tmp_path / "t", SCENARIO_YAML + "tours: [1, 2]\n")
    assert any(
        "tours: expected a mapping, or the name of a YAML file" in p for p in _problems(folder)
    )


def test_itinerary_names_unknown_cities_and_teams(tours_folder: Path, tmp_path: Path) -> None:
    sc = load_scenario(tours_folder)
    assert sc.tours is not None
    f = tmp_path / "given.yaml"
    f.write_text(
        "trips:\n"
        "  - {team: a, visits: [{city: seattle, days: 2}]}\n"
        "  - {team: z, visits: [{city: Boise, days: 1}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        read_itinerary(f, sc.tours, sc.tours.spec.teams)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "given.yaml, trips[1].team: unknown team 'z'" in text
    assert "given.yaml, trips[1].visits[0].city: 'Boise' is not a candidate city" in text
    f.write_text("trips:\n  - {team: a, visits: [{city: seattle, days: 2}]}\n", encoding="utf-8")
    _itinerary, teams, trips = read_itinerary(f, sc.tours, sc.tours.spec.teams)
    assert trips[0].stops[0].days == 2 and teams == sc.tours.spec.teams


def test_candidate_admin1_by_name_or_iso_code(tmp_path: Path) -> None:
    named = TOURS_YAML.replace("{city: Chicago,", "{city: Chicago, admin1: Illinois,")
    sc = load_scenario(write_tours_scenario(tmp_path / "t", named))
    assert sc.tours is not None and round(sc.tours.cities[3].lat, 1) == 41.9
    misspelt = TOURS_YAML.replace("{city: Chicago,", "{city: Chicago, admin1: Illinoiz,")
    text = "\n".join(_problems(write_tours_scenario(tmp_path / "u", misspelt)))
    assert "tours.yaml, candidates[3].admin1: unknown admin1 'Illinoiz' in US" in text
    assert "did you mean Illinois (US-IL)" in text
    wrong = TOURS_YAML.replace("{city: Chicago,", "{city: Chicago, admin1: US-TX,")
    text = "\n".join(_problems(write_tours_scenario(tmp_path / "v", wrong)))
    assert "candidates[3].city: unknown city 'Chicago' in US, admin1 US-TX" in text
    assert "Chicago (Illinois, US-IL)" in text
