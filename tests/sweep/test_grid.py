"""The sweep grid: validation with located errors, expansion, point identity and seeds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from abroad.io.errors import InputError
from abroad.sweep.grid import Point, apply_point, parse_grid, point_seed, range_values, set_path
from abroad.sweep.runner import load_sweep

from tests_paths import EXAMPLE


def _problems(raw: object, variants: tuple[str, ...] | None = ("noon-surge",)) -> list[str]:
    with pytest.raises(InputError) as err:
        parse_grid(raw, "grid.yaml", variants)
    return [str(p) for p in err.value.problems]


def test_the_minimal_contract_expands_to_every_combination() -> None:
    grid = parse_grid(
        {
            "run": "simulate",
            "parameters": {
                "policies.staff_budget": [30, 50, 70],
                "demand.base_turnout": {"from": 0.15, "to": 0.35, "steps": 3},
            },
            "variants": ["base", "noon-surge"],
            "replications": 20,
            "seed": 1,
        },
        "grid.yaml",
        ("noon-surge",),
    )
    points = grid.points()
    assert len(points) == 2 * 3 * 3
    assert [p.index for p in points] == list(range(18))
    assert points[0].variant is None and points[-1].variant == "noon-surge"
    assert dict(points[-1].values) == {"policies.staff_budget": 70, "demand.base_turnout": 0.35}
    assert grid.parameters[1].values == (0.15, 0.25, 0.35)
    assert len({p.point_id for p in points}) == 18


def test_ranges_are_whole_numbers_only_when_the_spacing_is_whole() -> None:
    assert range_values(30, 70, 3) == (30, 50, 70)
    assert range_values(30, 70, 4) == (30.0, 43.33333333, 56.66666667, 70.0)
    assert range_values(0.1, 0.3, 3) == (0.1, 0.2, 0.3)


def test_every_problem_is_reported_with_its_path() -> None:
    problems = _problems(
        {
            "run": "optimise",
            "parameters": {
                "policies.staff_budget": {"from": 30, "to": 70, "steps": 1, "by": 2},
                "variants.x": [1],
                "demand..turnout": [1],
                "demand.base_turnout": [0.1, 0.1],
            },
            "variants": ["base", "no-such-variant", "base"],
            "replications": 0,
            "colour": "red",
            "best": {"metric": "happiness"},
        }
    )
    text = "\n".join(problems)
    assert "grid.yaml, run: expected simulate or plan (got 'optimise')" in text
    assert "grid.yaml, parameters.policies.staff_budget.steps: expected a whole number" in text
    assert "grid.yaml, parameters.policies.staff_budget.by: unknown key" in text
    assert "grid.yaml, parameters.variants.x: variants cannot be swept" in text
    assert "grid.yaml, parameters.demand..turnout: expected a dotted YAML path" in text
    assert "grid.yaml, parameters.demand.base_turnout: values repeat" in text
    assert "grid.yaml, variants[1]: no variant named 'no-such-variant'" in text
    assert "grid.yaml, variants[2]: variant 'base' is listed twice" in text
    assert "grid.yaml, replications: expected a whole number >= 1 (got 0)" in text
    assert "grid.yaml, colour: unknown key" in text
    assert "grid.yaml, best.metric: unknown metric 'happiness'" in text


def test_a_value_the_scenario_rejects_is_located_in_the_grid(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "parameters:\n"
        "  policies.staff_budget: [30, -5]\n"
        "  demand.base_turnout: [0.2, 1.7]\n"
        "  election.days[3].close: ['21:00']\n"
        "replications: 2\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_sweep(EXAMPLE, grid)
    text = "\n".join(str(p) for p in err.value.problems)
    assert "grid.yaml, parameters.policies.staff_budget[1]: value -5: scenario.yaml, " in text
    assert "policies.staff_budget" in text
    assert "grid.yaml, parameters.demand.base_turnout[1]: value 1.7: scenario.yaml" in text
    assert "parameters.election.days[3].close[0]" in text and "no such list item" in text
    assert "[30]" not in text and "0.2:" not in text  # the good values pass


def test_a_point_is_named_by_what_it_is_not_where_it_sits() -> None:
    a = Point(0, None, (("x", 1), ("y", 0.5)))
    b = Point(7, None, (("y", 0.5), ("x", 1)))
    c = Point(0, "noon-surge", (("x", 1), ("y", 0.5)))
    assert a.point_id == b.point_id and point_seed(1, a) == point_seed(1, b)
    assert a.point_id != c.point_id and point_seed(1, a) != point_seed(1, c)
    assert point_seed(1, a) != point_seed(2, a)
    # Stable across processes and releases: a fixed value, not Python's salted hash().
    assert point_seed(1, a) == point_seed(1, Point(3, None, (("x", 1), ("y", 0.5))))
    key = '{"values":{"x":1,"y":0.5},"variant":"base"}'
    assert a.key == key and a.point_id == hashlib.sha256(key.encode()).hexdigest()[:16]


def test_parameters_are_set_in_a_copy_and_win_over_the_variant() -> None:
    doc = {
        "policies": {"staff_budget": 50},
        "demand": {"surges": [{"share": 0.4}]},
        "variants": {"cut": {"patch": {"policies": {"staff_budget": 30}}}},
    }
    point = Point(
        0, "cut", (("policies.staff_budget", 70), ("demand.surges[0].share", 0.2), ("travel.x", 1))
    )
    out = apply_point(doc, point)
    assert out["policies"]["staff_budget"] == 70
    assert out["variants"]["cut"]["patch"]["policies"]["staff_budget"] == 70
    assert out["demand"]["surges"][0]["share"] == 0.2
    assert out["travel"] == {"x": 1}
    assert doc["policies"]["staff_budget"] == 50 and "travel" not in doc
    with pytest.raises(KeyError, match=r"demand.surges\[2\]: no such list item"):
        set_path(out, "demand.surges[2].share", 0.1)
