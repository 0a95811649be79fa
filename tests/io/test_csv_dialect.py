"""CSV files from a European Excel: semicolons and decimal commas read, or rejected with why."""

from __future__ import annotations

from pathlib import Path

import pytest

from abroad.io.errors import InputError
from abroad.io.scenario import load_scenario

from scenario_factory import PLACES_CSV, write_scenario


def _european(csv_text: str) -> str:
    """The same table as a German Excel saves it: ';' between cells, ',' before decimals."""
    lines = []
    for line in csv_text.splitlines():
        lines.append(";".join(c.replace(".", ",") for c in line.split(",")))
    return "\n".join(lines) + "\n"


def test_semicolons_and_decimal_commas_read_as_the_comma_file(tmp_path: Path) -> None:
    plain = load_scenario(write_scenario(tmp_path / "plain"))
    euro = load_scenario(write_scenario(tmp_path / "euro", places_csv=_european(PLACES_CSV)))
    assert [(p.place_id, p.lat, p.lon, p.eligible_citizens) for p in euro.places] == [
        (p.place_id, p.lat, p.lon, p.eligible_citizens) for p in plain.places
    ]


def test_windows_1252_is_rejected_with_the_excel_diagnosis(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "sc")
    text = _european(PLACES_CSV).replace("New York", "Zürich")
    (folder / "places.csv").write_bytes(text.encode("cp1252"))
    with pytest.raises(InputError) as exc:
        load_scenario(folder)
    message = str(exc.value)
    assert "not UTF-8" in message and "Windows-1252" in message and "CSV UTF-8" in message


def test_a_dotted_number_in_a_decimal_comma_file_is_ambiguous(tmp_path: Path) -> None:
    text = _european(PLACES_CSV).replace(";5000;", ";5.000;")
    folder = write_scenario(tmp_path / "sc", places_csv=text)
    with pytest.raises(InputError) as exc:
        load_scenario(folder)
    (problem,) = exc.value.problems
    assert problem.row == 2 and problem.column == "eligible_citizens"
    assert "ambiguous number '5.000'" in problem.message
