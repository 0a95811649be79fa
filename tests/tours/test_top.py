"""The team orienteering format and `abroad tours solve-top` (human output and --json)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from abroad.cli import app
from abroad.tours.top import TopFormatError, parse_top

runner = CliRunner()

# Start (0,0), end (10,0); two routes of length at most 14. The far vertex (5,8) is worth a
# lot but a route through it is 2*sqrt(89) ~ 18.9 long: too long. Enumerated below.
TINY = """\
n 7
m 2
tmax 14
0 0 0
2 2 4
5 -3 6
8 2 5
5 8 50
5 0 1
10 0 0
"""


def _best_by_enumeration(text: str) -> float:
    inst = parse_top(text)
    pts = list(zip(inst.x, inst.y, strict=True))
    n, end = inst.n_vertices, inst.n_vertices - 1

    def length(route: tuple[int, ...]) -> float:
        seq = [0, *route, end]
        return sum(math.dist(pts[a], pts[b]) for a, b in itertools.pairwise(seq))

    best = 0.0
    for assign in itertools.product(range(inst.n_routes + 1), repeat=n - 2):
        ok = True
        for k in range(inst.n_routes):
            members = [v + 1 for v in range(n - 2) if assign[v] == k]
            if members and min(length(p) for p in itertools.permutations(members)) > inst.tmax:
                ok = False
                break
        if ok:
            score = sum(inst.score[v + 1] for v in range(n - 2) if assign[v] < inst.n_routes)
            best = max(best, float(score))
    return best


def test_parse_reads_the_standard_format() -> None:
    inst = parse_top(TINY)
    assert (inst.n_vertices, inst.n_routes, inst.tmax) == (7, 2, 14.0)
    assert inst.score.tolist() == [0, 4, 6, 5, 50, 1, 0]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("n 3\nm 1\n", 0, "missing the 'tmax' line"),
        ("n 3\nk 1\ntmax 5\n0 0 0\n1 1 1\n2 2 0\n", 2, "expected 'm VALUE'"),
        ("n 3\nm 1\ntmax 5\n0 0 0\n1 x 1\n2 2 0\n", 5, "three numbers"),
        ("n 3\nm 1\ntmax 5\n0 0 0\n1 1 1\n", 5, "expected 3 vertex lines"),
        ("n 3\nm 1\ntmax 5\n0 0 0\n1 1 -1\n2 2 0\n", 5, "score >= 0"),
    ],
)
def test_parse_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(TopFormatError, match=message) as info:
        parse_top(text)
    assert info.value.line == line


def test_solve_top_json_reaches_the_enumerated_optimum(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY, encoding="utf-8")
    result = runner.invoke(app, ["tours", "solve-top", str(f), "--seconds", "1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    optimum = _best_by_enumeration(TINY)
    assert optimum == 16  # every vertex but the far one
    assert payload["score"] == optimum
    inst = parse_top(TINY)
    seen: list[int] = []
    for route in payload["routes"]:
        assert route[0] == 0 and route[-1] == 6
        seen += route[1:-1]
        length = sum(
            math.dist((inst.x[a], inst.y[a]), (inst.x[b], inst.y[b]))
            for a, b in itertools.pairwise(route)
        )
        assert length <= inst.tmax + 1e-9
    assert len(seen) == len(set(seen))
    assert sum(inst.score[v] for v in seen) == payload["score"]


def test_solve_top_human_output(tmp_path: Path) -> None:
    f = tmp_path / "tiny.txt"
    f.write_text(TINY, encoding="utf-8")
    result = runner.invoke(app, ["tours", "solve-top", str(f), "--seconds", "0.5"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "score 16"
    assert lines[1].startswith("route 1 (length ") and lines[1].endswith(" 6")
    assert len(lines) == 3


def test_solve_top_bad_file_exits_2_with_the_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.txt"
    f.write_text("n 3\nm 1\ntmax 5\n0 0 0\n1 x 1\n2 2 0\n", encoding="utf-8")
    result = runner.invoke(app, ["tours", "solve-top", str(f), "--json"])
    assert result.exit_code == 2
    assert "line 5" in result.stderr
    assert result.stdout == ""
    missing = runner.invoke(app, ["tours", "solve-top", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2
