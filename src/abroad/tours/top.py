"""The team orienteering problem (TOP) in its standard text format, as a ``RoutingProblem``.

The format of the Chao, Golden & Wasil (1996) benchmark: three lines ``n N``, ``m M``,
``tmax T``, then one line ``x y score`` per vertex; the first vertex is the start, the last the
end; travel time is the Euclidean distance; each of the M routes may last at most T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abroad.tours.routing import FloatArray, RoutingProblem, RoutingSolution, Vehicle


class TopFormatError(ValueError):
    """A TOP file that does not follow the format; carries the 1-based line number."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


@dataclass(frozen=True)
class TopInstance:
    """A parsed TOP instance."""

    n_vertices: int
    n_routes: int
    tmax: float
    x: FloatArray
    y: FloatArray
    score: FloatArray

    def to_problem(self) -> RoutingProblem:
        """Vertices 1..n-2 are the optional nodes; 0 and n-1 are the start and the end."""
        pts = np.column_stack([self.x, self.y])
        dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
        n = self.n_vertices
        prize = self.score.astype(np.float64).copy()
        prize[0] = prize[n - 1] = 0.0
        return RoutingProblem(
            location=np.arange(n, dtype=np.int64),
            prize=prize,
            service=np.zeros(n),
            node_cost=np.zeros(n),
            travel=dist,
            vehicles=tuple(Vehicle(0, n - 1, self.tmax) for _ in range(self.n_routes)),
        )

    def full_routes(self, solution: RoutingSolution) -> list[list[int]]:
        """Routes as vertex lists from the start vertex 0 to the end vertex n-1."""
        end = self.n_vertices - 1
        return [[0, *r, end] for r in solution.routes]


def parse_top(text: str) -> TopInstance:
    """Read the text format; TopFormatError names the line of the first problem."""
    lines = [(i + 1, ln.split()) for i, ln in enumerate(text.splitlines()) if ln.strip()]
    header: dict[str, float] = {}
    for key in ("n", "m", "tmax"):
        if not lines:
            raise TopFormatError(0, f"missing the {key!r} line")
        number, parts = lines.pop(0)
        if len(parts) != 2 or parts[0].lower() != key:
            raise TopFormatError(number, f"expected '{key} VALUE', got {' '.join(parts)!r}")
        try:
            header[key] = float(parts[1])
        except ValueError:
            raise TopFormatError(number, f"{key} must be a number, got {parts[1]!r}") from None
    n, m, tmax = int(header["n"]), int(header["m"]), header["tmax"]
    if n < 2 or n != header["n"]:
        raise TopFormatError(1, f"n must be an integer >= 2, got {header['n']}")
    if m < 1 or m != header["m"]:
        raise TopFormatError(2, f"m must be an integer >= 1, got {header['m']}")
    if not tmax >= 0:
        raise TopFormatError(3, f"tmax must be >= 0, got {tmax}")
    if len(lines) != n:
        where = lines[n][0] if len(lines) > n else (lines[-1][0] if lines else 4)
        raise TopFormatError(where, f"expected {n} vertex lines 'x y score', found {len(lines)}")
    data = np.zeros((n, 3))
    for k, (number, parts) in enumerate(lines):
        if len(parts) != 3:
            raise TopFormatError(number, f"expected 'x y score', got {' '.join(parts)!r}")
        try:
            data[k] = [float(v) for v in parts]
        except ValueError:
            raise TopFormatError(
                number, f"expected three numbers, got {' '.join(parts)!r}"
            ) from None
        if not np.isfinite(data[k]).all() or data[k, 2] < 0:
            raise TopFormatError(number, "coordinates must be finite and the score >= 0")
    return TopInstance(n, m, tmax, data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy())
