"""The broken inputs of issue 11, one case each, written into a temporary folder by the test.

Each case builds its input from the tiny valid scenario (tests/scenario_factory.py) or the
bundled station specs and says what must happen: exit 2 with a located problem (the file and
where in it, and a phrase of the message), or acceptance (exit 0).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from scenario_factory import PLACES_CSV, SCENARIO_YAML, SITES_CSV, write_scenario
from tests_paths import REPO

STATIONS = REPO / "examples" / "stations"


@dataclass(frozen=True)
class Case:
    """One broken (or legitimate) input: how to build the command line, and what to expect."""

    name: str
    kind: str
    """files, yaml, numbers, tables, variants, command line, valid"""
    build: Callable[[Path], list[str]]
    """Writes the input under the folder given; returns the command's arguments."""
    expect: tuple[str, ...] = ()
    """Substrings of stderr (location and message); empty for a valid input."""
    exit_code: int = 2


def _scenario(
    tmp: Path,
    yaml_old: str | None = None,
    yaml_new: str = "",
    sites: str = SITES_CSV,
    places: str = PLACES_CSV,
) -> Path:
    text = SCENARIO_YAML
    if yaml_old is not None:
        assert yaml_old in text, yaml_old
        text = text.replace(yaml_old, yaml_new)
    return write_scenario(tmp / "s", text, sites, places)


def validate(
    yaml_old: str | None = None,
    yaml_new: str = "",
    sites: str = SITES_CSV,
    places: str = PLACES_CSV,
) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return ["validate", str(_scenario(tmp, yaml_old, yaml_new, sites, places))]

    return build


def spec(text: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        path = tmp / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        return ["simulate", str(path), "-n", "2"]

    return build


def _berlin(old: str, new: str) -> str:
    text = (STATIONS / "berlin-2024.yaml").read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new)


ISSUE = (STATIONS / "issue-example.yaml").read_text(encoding="utf-8")


def _issue(old: str, new: str) -> str:
    assert old in ISSUE, old
    return ISSUE.replace(old, new)


def _places_row(old: str, new: str) -> str:
    assert old in PLACES_CSV, old
    return PLACES_CSV.replace(old, new)


def _sites_row(old: str, new: str) -> str:
    assert old in SITES_CSV, old
    return SITES_CSV.replace(old, new)


# --- files -----------------------------------------------------------------------------------


def _yaml_is_a_folder(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "scenario.yaml").unlink()
    (folder / "scenario.yaml").mkdir()
    return ["validate", str(folder)]


def _yaml_symlink_loop(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "scenario.yaml").unlink()
    os.symlink("scenario.yaml", folder / "scenario.yaml")
    return ["validate", str(folder)]


def _table_symlink_loop(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "places.csv").unlink()
    os.symlink("loop-b.csv", folder / "places.csv")
    os.symlink("places.csv", folder / "loop-b.csv")
    return ["validate", str(folder)]


def _table_link_outside(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    outside = tmp / "elsewhere.csv"
    outside.write_text(PLACES_CSV, encoding="utf-8")
    (folder / "places.csv").unlink()
    os.symlink(outside, folder / "places.csv")
    return ["validate", str(folder)]


def _table_link_inside(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "data").mkdir()
    (folder / "places.csv").rename(folder / "data" / "places-2024.csv")
    os.symlink(Path("data") / "places-2024.csv", folder / "places.csv")
    return ["validate", str(folder)]


def _spec_path(path: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return ["simulate", path]

    return build


def _spec_folder(tmp: Path) -> list[str]:
    return ["simulate", str(tmp)]


# --- tables ----------------------------------------------------------------------------------

UNCLOSED_QUOTE = SITES_CSV.replace(
    "site_id,name,kind,country,lat,lon,timezone,available,host_permits,max_desks,max_booths,"
    "staff_available",
    "site_id,name,kind,country,lat,lon,timezone,available,host_permits,max_desks,max_booths,"
    "staff_available,notes",
).replace("14,10\n", '14,10,"closed on Sundays\n', 1)


def _xlsx(tmp: Path, mutate: Callable[[openpyxl.worksheet.worksheet.Worksheet], None]) -> Path:
    folder = _scenario(tmp, "table: sites.csv", "table: sites.xlsx")
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    for line in SITES_CSV.strip().splitlines():
        ws.append([_num(c) for c in line.split(",")])
    mutate(ws)
    book.save(folder / "sites.xlsx")
    return folder


def _num(cell: str) -> str | float:
    try:
        return float(cell)
    except ValueError:
        return cell


def _xlsx_formula(tmp: Path) -> list[str]:
    def mutate(ws: openpyxl.worksheet.worksheet.Worksheet) -> None:
        ws["J3"] = "=J2-2"  # max_desks of row 3, no saved value

    return ["validate", str(_xlsx(tmp, mutate))]


def _xlsx_merged(tmp: Path) -> list[str]:
    def mutate(ws: openpyxl.worksheet.worksheet.Worksheet) -> None:
        ws.merge_cells("J4:K4")

    return ["validate", str(_xlsx(tmp, mutate))]


def _xlsx_broken(tmp: Path) -> list[str]:
    folder = _scenario(tmp, "table: sites.csv", "table: sites.xlsx")
    with zipfile.ZipFile(folder / "sites.xlsx", "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types")
    return ["validate", str(folder)]


def _xlsx_not_zip(tmp: Path) -> list[str]:
    folder = _scenario(tmp, "table: sites.csv", "table: sites.xlsx")
    (folder / "sites.xlsx").write_bytes(b"site_id,name\n" * 10)
    return ["validate", str(folder)]


def _csv_not_utf8(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "places.csv").write_bytes(
        PLACES_CSV.replace("Houston", "H\xf6uston").encode("latin-1")
    )
    return ["validate", str(folder)]


def _csv_nul(tmp: Path) -> list[str]:
    folder = _scenario(tmp)
    (folder / "places.csv").write_text(PLACES_CSV.replace("Houston", "Hou\0ston"))
    return ["validate", str(folder)]


# --- command line ----------------------------------------------------------------------------

BERLIN = str(STATIONS / "berlin-2024.yaml")


def _cli(*args: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return [a.replace("{tmp}", str(tmp)) for a in args]

    return build


def _out_is_file(tmp: Path) -> list[str]:
    (tmp / "taken").write_text("x")
    return ["demo", str(_scenario(tmp)), "--out", str(tmp / "taken")]


def _out_under_file(tmp: Path) -> list[str]:
    (tmp / "taken").write_text("x")
    return ["plan", str(_scenario(tmp)), "--out", str(tmp / "taken" / "plan")]


BOMB = "description: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{k}: &{chr(98 + k)} [{', '.join(['*' + chr(97 + k)] * 9)}]\n" for k in range(8)
)

CASES: list[Case] = [
    # files
    Case("scenario.yaml is a folder", "files", _yaml_is_a_folder, ("scenario.yaml", "folder")),
    Case("scenario.yaml symlink loop", "files", _yaml_symlink_loop, ("scenario.yaml", "loop")),
    Case("table symlink loop", "files", _table_symlink_loop, ("places.csv", "loop")),
    Case(
        "table link leading outside",
        "files",
        _table_link_outside,
        ("voters.table", "inside the scenario folder"),
    ),
    Case(
        "table path outside the folder",
        "files",
        validate("table: places.csv", "table: ../places.csv"),
        ("voters.table", "inside the scenario folder"),
    ),
    Case(
        "table is /dev/zero",
        "files",
        validate("table: places.csv", "table: /dev/zero"),
        ("voters.table", "inside the scenario folder"),
    ),
    Case("/dev/zero as a spec", "files", _spec_path("/dev/zero"), ("/dev/zero", "not a regular")),
    Case("a folder as a spec", "files", _spec_folder, ("is a folder",)),
    Case("missing spec", "files", _spec_path("/nonexistent/x.yaml"), ("file not found",)),
    # YAML
    Case(
        "alias bomb in the description",
        "yaml",
        validate("description: A tiny valid scenario for tests.\n", BOMB),
        ("scenario.yaml", "alias"),
    ),
    Case(
        "5,000 nested brackets",
        "yaml",
        validate("description: A tiny valid scenario for tests.", "description: " + "[" * 5000),
        ("scenario.yaml", "nested deeper"),
    ),
    Case(
        "duplicate policies key",
        "yaml",
        validate("variants:", "policies: {staff_budget: 3}\nvariants:"),
        ("scenario.yaml", "duplicate key 'policies'"),
    ),
    Case(
        "unquoted clock numbers",
        "yaml",
        validate(
            '{date: 2024-03-15, open: "08:00", close: "20:00"}',
            "{date: 2024-03-15, open: 8, close: 20}",
        ),
        ("election.days[0].open", "clock time as text"),
    ),
    Case(
        "election: null",
        "yaml",
        validate("election:\n  name: Test election\n", "election: null\nxelection:\n  name: x\n"),
        ("election", "required section is empty"),
    ),
    Case(
        "empty service",
        "yaml",
        validate(
            "service:\n  checkin: {dist: lognormal, mean_minutes: 2.0, cv: 0.6}\n"
            "  booth: {dist: exponential, mean_minutes: 3.0}\n"
            "  patience: {dist: uniform, low_minutes: 30, high_minutes: 90}\n",
            "service:\n",
        ),
        ("service", "required section is empty"),
    ),
    Case(
        "closing at 25:00",
        "yaml",
        validate('close: "21:00"', 'close: "25:00"'),
        ("election.site_hours[0].close", "between 00:00 and 24:00"),
    ),
    Case("spec: invalid YAML", "yaml", spec("days: [\n"), ("spec.yaml", "line 2")),
    Case("spec: a list", "yaml", spec("- 1\n- 2\n"), ("spec.yaml", "expected a mapping")),
    # numbers
    # (and the eligible citizens of the places: see CITIZENS below)
    Case(
        "cost inf",
        "numbers",
        validate(
            sites=SITES_CSV.replace("staff_available", "staff_available,cost_per_day").replace(
                ",14,10\n", ",14,10,inf\n"
            )
        ),
        ("sites.csv, row 2, column 'cost_per_day'", "finite"),
    ),
    Case(
        "service time .inf",
        "numbers",
        validate(
            "{dist: exponential, mean_minutes: 3.0}", "{dist: exponential, mean_minutes: .inf}"
        ),
        ("service.booth.exponential.mean_minutes", "finite"),
    ),
    Case(
        "day share .nan",
        "numbers",
        validate("variants:", "demand: {day_shares: [.nan, 1.0]}\nvariants:"),
        ("demand.day_shares[0]", "finite"),
    ),
    Case(
        "extend_minutes 1e12",
        "numbers",
        validate("{extend_minutes: 60}", "{extend_minutes: 1e12}"),
        ("policies.close_policy.extend_minutes", "1440"),
    ),
    Case(
        "lognormal cv 1e155 (scenario)",
        "numbers",
        validate("cv: 0.6}", "cv: 1e155}"),
        ("service.checkin.lognormal.cv", "100"),
    ),
    Case(
        "max_desks 1e9",
        "numbers",
        validate(sites=_sites_row("true,true,6,14,10", "true,true,1000000000,14,10")),
        ("sites.csv, row 2, column 'max_desks'", "1000"),
    ),
    Case(
        "spec: lognormal cv 1e155",
        "numbers",
        spec(_berlin("mean_minutes: 2.5, cv: 0.6", "mean_minutes: 2.5, cv: 1e155")),
        ("stages[2].service.lognormal.cv", "100"),
    ),
    Case(
        "spec: a day of 1e12 minutes",
        "numbers",
        spec(
            _issue('close: "20:00"', "close: 1000000000000").replace(
                "arrivals_per_hour: [90, 110, 130, 150, 160, 150, 130, 110, 90, 70, 50, 40]",
                "arrivals_per_hour: 10",
            )
        ),
        ("days[0].close", "1,000,000"),
    ),
    # (and the station-spec numbers of SPEC_NUMBERS below)
    Case(
        "spec: 1e8 arrivals per hour all day",
        "numbers",
        spec(
            _issue(
                "[90, 110, 130, 150, 160, 150, 130, 110, 90, 70, 50, 40]",
                "900000",
            )
        ),
        ("spec.yaml", "expected arrivals"),
    ),
    # tables
    Case(
        "unclosed quote in a notes cell",
        "tables",
        validate(sites=UNCLOSED_QUOTE),
        ("sites.csv, row 2", "unclosed quote", "line 2"),
    ),
    Case(
        "value under an empty header",
        "tables",
        validate(
            places=_places_row("pre_registered_site\n", "pre_registered_site,,notes\n")
            .replace(",emb\n", ",emb,oops,\n")
            .replace(",,\n", ",,,,\n")
        ),
        ("places.csv, row 2", "no header"),
    ),
    Case(
        "XLSX formula without a saved value",
        "tables",
        _xlsx_formula,
        ("sites.xlsx, row 3, column 'max_desks'", "formula"),
    ),
    Case(
        "XLSX merged cells",
        "tables",
        _xlsx_merged,
        ("sites.xlsx, row 4, column 'max_desks'", "merged cells J4:K4"),
    ),
    # (and the broken files of BROKEN_FILES below)
    Case(
        "row longer than the header",
        "tables",
        validate(places=_places_row(",1200,,\n", ",1200,,,x\n")),
        ("places.csv, row 3", "cells but the header has"),
    ),
    Case(
        "unknown country ZZ",
        "tables",
        validate(
            sites=_sites_row(
                "cg,Consulate,consulate_general,US", "cg,Consulate,consulate_general,ZZ"
            )
        ),
        ("sites.csv, row 3, column 'country'", "unknown country code 'ZZ'"),
    ),
    Case(
        "citizen_country XX",
        "tables",
        validate("citizen_country: RU", "citizen_country: XX"),
        ("citizen_country", "unknown country code 'XX'"),
    ),
    # variants
    Case(
        "misspelt key in a patch",
        "variants",
        validate(
            "    description: the venue is permitted\n",
            "    description: the venue is permitted\n    patch: {polices: {staff_budget: 3}}\n",
        ),
        ("variants.open-venue.patch.polices", "unknown section"),
    ),
    Case(
        "misspelt nested key in a patch",
        "variants",
        validate(
            "    description: the venue is permitted\n",
            "    description: the venue is permitted\n    patch: {policies: {staf_budget: 3}}\n",
        ),
        ("[variant open-venue]", "policies.staf_budget"),
    ),
    Case(
        "scale by abc",
        "variants",
        validate("        set: {host_permits: true}", "        scale: {max_desks: abc}"),
        ("variants.open-venue.site_updates[0].scale.max_desks", "expected a number"),
    ),
    Case(
        "scale by NaN",
        "variants",
        validate("        set: {host_permits: true}", "        scale: {max_desks: .nan}"),
        ("variants.open-venue.site_updates[0].scale.max_desks", "finite factor"),
    ),
    Case(
        "scaling a boolean",
        "variants",
        validate("        set: {host_permits: true}", "        scale: {available: 2}"),
        ("variants.open-venue.site_updates[0].scale.available", "cannot be scaled"),
    ),
    Case(
        "set to inf",
        "variants",
        validate("        set: {host_permits: true}", "        set: {cost_per_day: .inf}"),
        ("[variant open-venue]", "finite"),
    ),
    Case(
        "variant is a list",
        "variants",
        validate("  open-venue:\n", "  open-venue: [1, 2]\n  other:\n"),
        ("variants.open-venue", "expected a mapping"),
    ),
    # command line: see COMMAND_LINE below
    # valid inputs that must be accepted
    Case(
        "line_stages in a station spec",
        "valid",
        spec(_berlin("line_stages: 2", "line_stages: 1")),
        exit_code=0,
    ),
    Case("closing at 24:00", "valid", validate('close: "21:00"', 'close: "24:00"'), exit_code=0),
    Case("table through a link inside the folder", "valid", _table_link_inside, exit_code=0),
    Case(
        "aliases for a repeated distribution",
        "valid",
        validate(
            "  checkin: {dist: lognormal, mean_minutes: 2.0, cv: 0.6}\n"
            "  booth: {dist: exponential, mean_minutes: 3.0}\n",
            "  checkin: &d {dist: exponential, mean_minutes: 3.0}\n  booth: *d\n",
        ),
        exit_code=0,
    ),
    Case(
        "XK (Kosovo) as the citizens' country",
        "valid",
        validate("citizen_country: RU", "citizen_country: XK"),
        exit_code=0,
    ),
]

COMMAND_LINE: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("--seed -1", ["simulate", BERLIN, "--seed", "-1"], ("--seed -1",)),
    ("--time-limit 0", ["compare", BERLIN, "--time-limit", "0"], ("--time-limit",)),
    ("--time-limit nan", ["plan", BERLIN, "--time-limit", "nan"], ("--time-limit nan",)),
    ("--replications 0", ["plan", BERLIN, "--replications", "0"], ("--replications 0",)),
    ("--replications 1e9", ["simulate", BERLIN, "-n", "1000000000"], ("10,000",)),
    ("--out /dev/null", ["demo", BERLIN, "--out", "/dev/null"], ("--out /dev/null", "device")),
    ("--target-wait-minutes inf", ["size", BERLIN, "--target-wait-minutes", "inf"], ("1,440",)),
]
CASES += [Case(name, "command line", _cli(*args), expect) for name, args, expect in COMMAND_LINE]
CASES += [
    Case("--out an existing file", "command line", _out_is_file, ("--out", "existing file")),
    Case("--out under a file", "command line", _out_under_file, ("--out", "not a folder")),
]

CITIZENS: list[tuple[str, str, int, str]] = [
    ("citizens inf", ",5000,", 2, "finite"),
    ("citizens nan", ",1200,", 3, "finite"),
    ("citizens 1e309", ",3000,", 4, "finite"),
    ("citizens 1e15", ",800,", 5, "100000000"),
]
"""(case, the cell replaced, its row, a phrase of the message)."""
CASES += [
    Case(
        name,
        "numbers",
        validate(places=_places_row(cell, "," + name.split()[1] + ",")),
        (f"places.csv, row {row}, column 'eligible_citizens'", phrase),
    )
    for name, cell, row, phrase in CITIZENS
]

SPEC_NUMBERS: list[tuple[str, str, str, str]] = [
    ("spec: 1e9 servers", _issue("servers: 8", "servers: 1e9"), "stages[1].servers", "1000"),
    (
        "spec: 1e9 early voters",
        _berlin("early_voters: 250", "early_voters: 1e9"),
        "days[0].early_voters",
        "1000000",
    ),
    (
        "spec: queue_step_minutes 1e-6",
        _berlin("ballots: 10000", "ballots: 10000\nqueue_step_minutes: 1e-6"),
        "spec.yaml",
        "line-length samples",
    ),
    ("spec: rate inf", _issue("[90, 110,", "[.inf, 110,"), "days[0].arrivals_per_hour", "finite"),
]
"""(case, spec text, where, a phrase of the message)."""
CASES += [
    Case(n, "numbers", spec(text), (where, phrase)) for n, text, where, phrase in SPEC_NUMBERS
]

BROKEN_FILES = {
    "XLSX broken zip": (_xlsx_broken, "sites.xlsx", "cannot read as XLSX"),
    "XLSX that is not a zip": (_xlsx_not_zip, "sites.xlsx", "cannot read as XLSX"),
    "CSV not UTF-8": (_csv_not_utf8, "places.csv", "UTF-8"),
    "CSV with a NUL byte": (_csv_nul, "places.csv", "NUL"),
}
CASES += [Case(n, "tables", b, (f, m)) for n, (b, f, m) in BROKEN_FILES.items()]
