"""tools/build_assets.py: the TopoJSON decoder on hand-made input, and the real build."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "web" / "node_modules"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_assets", REPO / "tools/build_assets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_assets"] = module
    spec.loader.exec_module(module)
    return module


ba = _load_tool()

# Two squares sharing an edge, quantized on a 0.5-degree grid from (10, 20).
# arc 0: the shared edge (2,0)->(2,2); arc 1: left square's other sides; arc 2: right square's.
TOPO: dict[str, Any] = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10.0, 20.0]},
    "arcs": [
        [[2, 0], [0, 2]],
        [[2, 2], [-2, 0], [0, -2], [2, 0]],
        [[2, 0], [2, 0], [0, 2], [-2, 0]],
    ],
    "objects": {
        "areas": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0, 1]], "id": "L", "properties": {"name": "Left"}},
                {"type": "Polygon", "arcs": [[2, ~0]], "id": "R", "properties": {"name": "Right"}},
                {"type": None, "id": "N"},
            ],
        }
    },
}


def test_arcs_are_dequantized_and_delta_decoded() -> None:
    arcs = ba.decode_arcs(TOPO)
    assert arcs[0] == [(11.0, 20.0), (11.0, 21.0)]
    assert arcs[1] == [(11.0, 21.0), (10.0, 21.0), (10.0, 20.0), (11.0, 20.0)]
    assert arcs[2] == [(11.0, 20.0), (12.0, 20.0), (12.0, 21.0), (11.0, 21.0)]


def test_rings_join_arcs_and_reverse_negative_indices() -> None:
    fc = ba.topology_to_features(TOPO, "areas", decimals=3)
    assert [f["id"] for f in fc["features"]] == ["L", "R"]  # the null geometry is skipped
    left, right = (f["geometry"]["coordinates"][0] for f in fc["features"])
    assert left == [[11, 20], [11, 21], [10, 21], [10, 20], [11, 20]]
    # ~0 is arc 0 reversed: (11,21) -> (11,20), closing the right square
    assert right == [[11, 20], [12, 20], [12, 21], [11, 21], [11, 20]]
    assert fc["features"][1]["properties"] == {"name": "Right"}


def test_simplify_keeps_ends_and_drops_what_is_within_tolerance() -> None:
    arc = [(0.0, 0.0), (1.0, 0.001), (2.0, -0.001), (3.0, 0.0), (3.5, 1.0), (4.0, 0.0)]
    assert ba.simplify_arc(arc, 0.01) == [(0.0, 0.0), (3.0, 0.0), (3.5, 1.0), (4.0, 0.0)]
    assert ba.simplify_arc(arc, 0.0) == arc
    assert ba.simplify_arc(arc, 10.0) == [(0.0, 0.0), (4.0, 0.0)]


def test_leaflet_rules_fail_loudly_on_an_unknown_version() -> None:
    with pytest.raises(ba.AssetError, match="expected text not found"):
        ba.neutralise_leaflet_js("var x = 'https://example.org';")
    css = ".a{background-image:url(images/x.png);color:red}/* see https://x.org */"
    assert ba.neutralise_leaflet_css(css) == ".a{color:red}"


@pytest.mark.skipif(not NODE_MODULES.is_dir(), reason="web/node_modules missing: run make assets")
def test_real_build_is_deterministic_small_and_plausible(tmp_path: Path) -> None:
    first = ba.build(NODE_MODULES, tmp_path / "a")
    second = ba.build(NODE_MODULES, tmp_path / "b")
    assert first == second
    for name in first["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sizes = {name: info["bytes"] for name, info in first["files"].items()}
    assert sizes["world-countries.geojson"] < 1_000_000
    assert sizes["us-states.geojson"] < 300_000
    world = json.loads((tmp_path / "a" / "world-countries.geojson").read_text())
    names = {f["properties"]["name"]: f for f in world["features"]}
    assert len(names) >= 230
    # Italy's outline lies where Italy is (a wrong decoder puts it anywhere else)
    lons, lats = _coords(names["Italy"]["geometry"])
    assert 6.0 < min(lons) < 7.5 and 18.0 < max(lons) < 19.0
    assert 35.0 < min(lats) < 37.0 and 46.5 < max(lats) < 47.5
    states = json.loads((tmp_path / "a" / "us-states.geojson").read_text())
    assert len(states["features"]) == 56
    texas = next(f for f in states["features"] if f["properties"]["name"] == "Texas")
    lons, lats = _coords(texas["geometry"])
    assert -107.0 < min(lons) < -106.3 and -93.8 < max(lons) < -93.3
    for name in ("leaflet.js", "leaflet.css", "NOTICE.txt"):
        text = (tmp_path / "a" / name).read_text()
        assert "http://" not in text and "https://" not in text


def _coords(geometry: dict[str, Any]) -> tuple[list[float], list[float]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    pts = [p for poly in polys for ring in poly for p in ring]
    return [p[0] for p in pts], [p[1] for p in pts]
