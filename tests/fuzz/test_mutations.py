"""Property-based mutation of the bundled inputs: whatever hypothesis does to them, reading
them either succeeds or raises ``InputError`` whose every problem names its file (and a row,
column or path where there is one) — never another exception, a hang or a crash of the
process. Station specs that stay valid are simulated (one short replication), so the numerical
kernels see every value the validation lets through.

Bounded in time: few examples each, no deadline (the machine is shared); the whole module runs
in well under a minute on two cores.
"""

from __future__ import annotations

import copy
import math
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abroad.io.errors import InputError
from abroad.io.scenario import validate_scenario
from abroad.io.station_spec import parse_station_spec, station_spec_from_data
from abroad.queueing import simulate_station

from tests_paths import EXAMPLE, REPO

STATIONS = sorted((REPO / "examples" / "stations").glob("*.yaml"))
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
OUTCOMES: Counter[tuple[str, str]] = Counter()
"""(input class, outcome) -> count, printed at the end of the module (pytest -s)."""

NASTY: list[Any] = [
    None,
    True,
    0,
    -1,
    1e-9,
    1e9,
    1e15,
    1e155,
    1e309,
    math.inf,
    -math.inf,
    math.nan,
    "",
    "abc",
    "8",
    "25:00",
    "24:00",
    "-5:00",
    "2024-02-30",
    [],
    [1, "x"],
    {},
    {"dist": "lognormal", "mean_minutes": 1, "cv": 1e200},
    "x" * 5000,
]
values = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if OUTCOMES:
        print("\nfuzz outcomes:", dict(sorted(OUTCOMES.items())))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into nested mappings and lists."""
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(data: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "rename" and isinstance(parent, dict):
        parent[str(last) + "x"] = parent.pop(last)
    else:
        parent[last] = value
    return out


def _assert_located(exc: InputError) -> None:
    assert exc.problems
    for p in exc.problems:
        assert p.file and p.message


def _record(kind: str, outcome: str) -> None:
    OUTCOMES[(kind, outcome)] += 1


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with its first 60 places (fast to validate) and all its sites."""
    folder = tmp_path_factory.mktemp("fuzz") / "us"
    folder.mkdir()
    shutil.copy(EXAMPLE / "sites.csv", folder / "sites.csv")
    lines = (EXAMPLE / "places.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "places.csv").write_text("".join(lines[:61]), encoding="utf-8")
    return folder


BASE_YAML = yaml.safe_load((EXAMPLE / "scenario.yaml").read_text(encoding="utf-8"))
BASE_PATHS = _paths(BASE_YAML)


@SETTINGS
@given(
    path=st.sampled_from(BASE_PATHS),
    how=st.sampled_from(["replace", "replace", "delete", "rename"]),
    value=values,
)
def test_mutated_scenario_yaml(
    example_copy: Path, path: tuple[Any, ...], how: str, value: Any
) -> None:
    mutated = _mutate(BASE_YAML, path, how, value)
    text = yaml.safe_dump(mutated, allow_unicode=True)
    (example_copy / "scenario.yaml").write_text(text, encoding="utf-8")
    problems = validate_scenario(example_copy)
    for p in problems:
        assert p.file and p.message
    _record("scenario.yaml", "located error" if problems else "accepted")


CSV_NOISE = st.sampled_from(
    ['"', ",", "\n", "\r", "\0", "nan", "inf", "1e309", "-", "ZZ", "", "\ufeff"]
)


@SETTINGS
@given(
    table=st.sampled_from(["sites.csv", "places.csv"]),
    edits=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.integers(0, 3), CSV_NOISE),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_tables(
    example_copy: Path, table: str, edits: list[tuple[float, int, str]]
) -> None:
    original = (example_copy / table).read_text(encoding="utf-8")
    text = original
    try:
        for where, cut, noise in edits:
            i = int(where * len(text))
            text = text[:i] + noise + text[i + cut :]
        (example_copy / table).write_text(text, encoding="utf-8")
        problems = validate_scenario(example_copy)
        for p in problems:
            assert p.file and p.message
        _record("tables", "located error" if problems else "accepted")
    finally:
        (example_copy / table).write_text(original, encoding="utf-8")


SPECS = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in STATIONS}
SPEC_PATHS = [(name, path) for name, data in SPECS.items() for path in _paths(data)]


@SETTINGS
@given(
    target=st.sampled_from(SPEC_PATHS),
    how=st.sampled_from(["replace", "replace", "delete", "rename"]),
    value=values,
)
def test_mutated_station_specs(target: tuple[str, tuple[Any, ...]], how: str, value: Any) -> None:
    name, path = target
    mutated = _mutate(SPECS[name], path, how, value)
    try:
        spec = station_spec_from_data(mutated, name)
    except InputError as exc:
        _assert_located(exc)
        _record("station spec", "located error")
        return
    _record("station spec", "accepted")
    if spec.expected_arrivals < 50_000 and all(
        d.close_minutes - d.open_minutes < 5_000 for d in spec.days
    ):
        outcome = simulate_station(spec, replications=1, seed=0)
        assert outcome.total.arrivals.mean >= 0
        _record("station spec", "simulated")


@SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("[]{}:,-&*!|>'\"#\n a1.")), max_size=200))
def test_random_yaml_text(text: str) -> None:
    try:
        parse_station_spec(text, "spec.yaml")
    except InputError as exc:
        _assert_located(exc)
        _record("random YAML text", "located error")
        return
    _record("random YAML text", "accepted")
