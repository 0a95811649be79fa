"""Reading a scenario folder into a validated ``Scenario``.

A scenario is a folder with ``scenario.yaml`` and two tables (CSV or XLSX): the voter places and
the sites. Everything is checked here, once; every problem found is reported together, each with
its file, row, column or YAML path. See docs/reference/scenario-format.md.
"""

from __future__ import annotations

import copy
import math
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from abroad.geo import gazetteer
from abroad.io.errors import InputError, Problem, ProblemCollector
from abroad.io.tables import Table, read_table
from abroad.io.yamlio import read_yaml
from abroad.model import (
    DemandParams,
    Election,
    Policies,
    Scenario,
    ServiceModel,
    Site,
    TravelModel,
    VoterPlace,
)
from abroad.model.types import CountryCode

SCENARIO_FILE = "scenario.yaml"
FORMAT_VERSION = 1

TOP_LEVEL_KEYS = {
    "format_version": "format version of this file (1)",
    "name": "short name of the scenario",
    "description": "one or two sentences",
    "citizen_country": "ISO 3166 alpha-2 code of the voters' country",
    "election": "voting days and hours",
    "voters": "the voter places table",
    "sites": "the sites table",
    "service": "service times and patience",
    "policies": "close policy, ballots, wait target, staff",
    "demand": "turnout and arrival parameters",
    "travel": "travel-time model",
    "variants": "named variants of this scenario",
}
REQUIRED_KEYS = ("name", "citizen_country", "election", "voters", "sites", "service")

SITE_COLUMNS = {
    "site_id": True,
    "name": True,
    "kind": True,
    "country": True,
    "city": False,
    "admin1": False,
    "lat": False,
    "lon": False,
    "timezone": False,
    "available": False,
    "host_permits": False,
    "max_desks": False,
    "max_booths": False,
    "max_queue_outside": False,
    "staff_available": False,
    "cost_per_day": False,
    "notes": False,
}
PLACE_COLUMNS = {
    "place_id": True,
    "name": True,
    "country": True,
    "city": False,
    "admin1": False,
    "lat": False,
    "lon": False,
    "timezone": False,
    "eligible_citizens": True,
    "pre_registrations": False,
    "pre_registered_site": False,
    "previous_votes": False,
    "consular_estimate": False,
    "notes": False,
}
_NOT_MODEL_FIELDS = {"city_lookup", "admin1", "notes"}

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class VariantInfo:
    """A variant declared in scenario.yaml."""

    name: str
    description: str


def scenario_folder(path: str | Path) -> Path:
    """The scenario folder for a path to the folder or to its scenario.yaml."""
    p = Path(path)
    return p.parent if p.suffix.lower() in (".yaml", ".yml") else p


def list_variants(path: str | Path) -> list[VariantInfo]:
    """Variants declared in a scenario (without validating the rest)."""
    raw = read_yaml(scenario_folder(path) / SCENARIO_FILE, SCENARIO_FILE)
    variants = raw.get("variants") if isinstance(raw, dict) else None
    if not isinstance(variants, dict):
        return []
    return [
        VariantInfo(str(k), str(v.get("description", "")) if isinstance(v, dict) else "")
        for k, v in variants.items()
    ]


def load_scenario(path: str | Path, variant: str | None = None) -> Scenario:
    """Read and validate a scenario folder (optionally one of its variants).

    Raises InputError listing every problem found.
    """
    folder = scenario_folder(path)
    if not folder.is_dir():
        raise InputError([Problem(str(path), "no such scenario folder")])
    raw = read_yaml(folder / SCENARIO_FILE, SCENARIO_FILE)
    return _build(folder, raw, variant)


def load_scenario_document(path: str | Path, raw: Any, variant: str | None = None) -> Scenario:
    """Validate a scenario document that was read (and perhaps changed, as ``abroad sweep``
    sets parameters) from the folder at ``path``; its tables are read from that folder."""
    folder = scenario_folder(path)
    if not folder.is_dir():
        raise InputError([Problem(str(path), "no such scenario folder")])
    return _build(folder, raw, variant)


def validate_scenario(path: str | Path) -> list[Problem]:
    """Every problem in a scenario and in each of its variants (empty when all is valid)."""
    problems: list[Problem] = []
    try:
        load_scenario(path)
    except InputError as exc:
        problems.extend(exc.problems)
    if problems:
        return problems
    for info in list_variants(path):
        try:
            load_scenario(path, info.name)
        except InputError as exc:
            problems.extend(
                Problem(p.file, f"[variant {info.name}] {p.message}", p.row, p.column, p.path)
                for p in exc.problems
            )
    return problems


# ---------------------------------------------------------------------------------------------


def _build(folder: Path, raw: Any, variant: str | None) -> Scenario:
    col = ProblemCollector()
    f = SCENARIO_FILE
    if not isinstance(raw, dict):
        raise InputError([Problem(f, "expected a mapping of sections at the top level")])
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            known = ", ".join(TOP_LEVEL_KEYS)
            col.add(f, f"unknown section (known sections: {known})", path=str(key))
    for key in REQUIRED_KEYS:
        if key not in raw:
            col.add(f, f"required section is missing ({TOP_LEVEL_KEYS[key]})", path=key)
    version = raw.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        col.add(f, f"unsupported format_version {version!r}; expected 1", path="format_version")

    variants_raw = raw.get("variants") or {}
    site_updates: list[Any] = []
    variant_names: tuple[str, ...] = ()
    if not isinstance(variants_raw, dict):
        col.add(f, "expected a mapping of variant name to its changes", path="variants")
        variants_raw = {}
    else:
        variant_names = tuple(str(k) for k in variants_raw)
    if variant is not None:
        if variant not in variants_raw:
            available = ", ".join(variant_names) or "none"
            col.add(f, f"no variant named {variant!r} (variants: {available})", path="variants")
        else:
            raw, site_updates = _apply_variant(raw, variant, variants_raw[variant], col)

    election = _section(col, raw, "election", Election)
    service = _section(col, raw, "service", ServiceModel)
    policies = _section(col, raw, "policies", Policies, default={})
    demand = _section(col, raw, "demand", DemandParams, default={})
    travel = _section(col, raw, "travel", TravelModel, default={})

    citizen_country = raw.get("citizen_country")
    if "citizen_country" in raw and not _is_iso2(citizen_country):
        col.add(
            f,
            f"expected an ISO alpha-2 code like RU (got {citizen_country!r})",
            path="citizen_country",
        )

    sites = _read_sites(folder, raw.get("sites"), site_updates, col)
    places = _read_places(folder, raw.get("voters"), col)

    if election is not None:
        _check_election(election, sites, demand, col)
    _check_references(sites, places, col)
    col.raise_if_any()
    assert election is not None and service is not None
    return Scenario(
        name=str(raw["name"]),
        description=str(raw.get("description", "")),
        citizen_country=CountryCode(str(citizen_country).upper()),
        election=election,
        sites=tuple(sites),
        places=tuple(places.places),
        service=service,
        policies=policies or Policies(),
        demand=demand or DemandParams(),
        travel=travel or TravelModel(),
        variant=variant,
        variants=variant_names,
    )


def _is_iso2(value: object) -> bool:
    return isinstance(value, str) and len(value) == 2 and value.isalpha()


def _deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _apply_variant(
    raw: dict[str, Any], name: str, spec: Any, col: ProblemCollector
) -> tuple[dict[str, Any], list[Any]]:
    path = f"variants.{name}"
    if not isinstance(spec, dict):
        col.add(
            SCENARIO_FILE, "expected a mapping with description, patch, site_updates", path=path
        )
        return raw, []
    for key in spec:
        if key not in ("description", "patch", "site_updates"):
            col.add(
                SCENARIO_FILE,
                "unknown key (expected description, patch, site_updates)",
                path=f"{path}.{key}",
            )
    patch = spec.get("patch") or {}
    if not isinstance(patch, dict):
        col.add(SCENARIO_FILE, "expected a mapping merged into the scenario", path=f"{path}.patch")
        patch = {}
    if "variants" in patch:
        col.add(SCENARIO_FILE, "a variant cannot patch the variants", path=f"{path}.patch")
    updates = spec.get("site_updates") or []
    if not isinstance(updates, list):
        col.add(
            SCENARIO_FILE,
            "expected a list of {match: {...}, set: {...}}",
            path=f"{path}.site_updates",
        )
        updates = []
    return _deep_merge(raw, patch), [
        (f"{path}.site_updates[{i}]", u) for i, u in enumerate(updates)
    ]


def _section(
    col: ProblemCollector,
    raw: dict[str, Any],
    key: str,
    model: type[M],
    default: dict[str, Any] | None = None,
) -> M | None:
    value = raw.get(key, default)
    if value is None:
        if default is None:
            return None
        value = default
    try:
        return TypeAdapter(model).validate_python(value)
    except ValidationError as exc:
        col.add_validation_error(SCENARIO_FILE, exc, path_prefix=key)
        return None


# ---------------------------------------------------------------------------------------------
# Tables


def _table_ref(folder: Path, ref: Any, section: str, col: ProblemCollector) -> Table | None:
    if ref is None:
        return None
    sheet = None
    if isinstance(ref, str):
        name = ref
    elif isinstance(ref, dict) and isinstance(ref.get("table"), str):
        name = ref["table"]
        sheet = ref.get("sheet")
        for key in ref:
            if key not in ("table", "sheet"):
                col.add(
                    SCENARIO_FILE, "unknown key (expected table, sheet)", path=f"{section}.{key}"
                )
    else:
        col.add(SCENARIO_FILE, "expected {table: FILE.csv or FILE.xlsx}", path=section)
        return None
    target = (folder / name).resolve()
    if folder.resolve() not in target.parents:
        col.add(
            SCENARIO_FILE, "the table must be inside the scenario folder", path=f"{section}.table"
        )
        return None
    try:
        return read_table(target, name, sheet)
    except InputError as exc:
        col.extend(exc.problems)
        return None


def _check_columns(table: Table, spec: Mapping[str, bool], col: ProblemCollector) -> bool:
    ok = True
    for name, required in spec.items():
        if required and name not in table.columns:
            col.add(table.file_label, f"required column {name!r} is missing", row=1, column=name)
            ok = False
    for name in table.columns:
        if name not in spec:
            known = ", ".join(spec)
            col.add(
                table.file_label, f"unknown column (known columns: {known})", row=1, column=name
            )
            ok = False
    return ok


def _locate(
    cells: dict[str, str], label: str, row: int, col: ProblemCollector, name_column: str
) -> dict[str, Any] | None:
    """Fill lat, lon and timezone from the cells, the gazetteer or the time-zone polygons."""
    out: dict[str, Any] = {}
    lat, lon = cells.get("lat", ""), cells.get("lon", "")
    if bool(lat) != bool(lon):
        missing = "lon" if lat else "lat"
        col.add(
            label,
            "give both lat and lon, or neither (then the city is looked up)",
            row=row,
            column=missing,
        )
        return None
    tz = cells.get("timezone", "")
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            col.add(
                label,
                f"unknown IANA time zone {tz!r} (e.g. America/New_York)",
                row=row,
                column="timezone",
            )
            return None
        out["timezone"] = tz
    if lat:
        out["lat"], out["lon"] = lat, lon
        if not tz:
            try:
                lat_f, lon_f = float(lat), float(lon)
            except ValueError:
                return out  # the number problem is reported by the model validation
            if -90 <= lat_f <= 90 and -180 <= lon_f <= 180:
                found = gazetteer.timezone_at(lat_f, lon_f)
                if found is None:
                    col.add(
                        label,
                        "no time zone at these coordinates; give a timezone",
                        row=row,
                        column="timezone",
                    )
                    return None
                out["timezone"] = found
        return out
    city_column = "city" if cells.get("city") else name_column
    city_name = cells.get(city_column, "")
    if not city_name:
        col.add(label, "no coordinates and no city name to look up", row=row, column="lat")
        return None
    country = cells.get("country") or None
    try:
        city = gazetteer.lookup_city(city_name, country, cells.get("admin1") or None)
    except gazetteer.UnknownCityError as exc:
        col.add(label, f"{exc}; or give lat and lon", row=row, column=city_column)
        return None
    out["lat"], out["lon"] = city.lat, city.lon
    out.setdefault("timezone", city.timezone)
    return out


def _row_model(
    model: type[M], cells: dict[str, Any], label: str, row: int, col: ProblemCollector
) -> M | None:
    data = {k: v for k, v in cells.items() if v != "" and k not in _NOT_MODEL_FIELDS}
    if "country" in data and isinstance(data["country"], str):
        if not _is_iso2(data["country"]):
            col.add(
                label,
                f"expected an ISO alpha-2 code like US (got {data['country']!r})",
                row=row,
                column="country",
            )
            return None
        data["country"] = data["country"].upper()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        col.add_validation_error(label, exc, row=row, columns=True)
        return None


def _rows_to_models(
    model: type[M],
    label: str,
    rows: Sequence[tuple[int, dict[str, Any]]],
    id_column: str,
    name_column: str,
    col: ProblemCollector,
) -> tuple[list[M], dict[str, int]]:
    """Validate table rows into models; duplicate ids and located problems are collected."""
    out: list[M] = []
    seen: dict[str, int] = {}
    for row, cells in rows:
        key = str(cells.get(id_column, ""))
        if key in seen:
            col.add(
                label,
                f"duplicate {id_column} {key!r} (first at row {seen[key]})",
                row=row,
                column=id_column,
            )
            continue
        seen[key] = row
        loc = _locate({k: str(v) for k, v in cells.items()}, label, row, col, name_column)
        if loc is None:
            continue
        item = _row_model(model, {**cells, **loc}, label, row, col)
        if item is not None:
            out.append(item)
    if not rows:
        col.add(label, "the table has no rows: expected at least one")
    return out, seen


def _read_sites(folder: Path, ref: Any, updates: list[Any], col: ProblemCollector) -> list[Site]:
    table = _table_ref(folder, ref, "sites", col)
    if table is None or not _check_columns(table, SITE_COLUMNS, col):
        return []
    rows: list[tuple[int, dict[str, Any]]] = [(r, dict(c)) for r, c in table.rows]
    _apply_site_updates(rows, updates, col)
    sites, _ = _rows_to_models(Site, table.file_label, rows, "site_id", "city", col)
    return sites


def _apply_site_updates(
    rows: list[tuple[int, dict[str, Any]]], updates: list[Any], col: ProblemCollector
) -> None:
    settable = set(Site.model_fields) - {"site_id"}
    for path, update in updates:
        if (
            not isinstance(update, dict)
            or not isinstance(update.get("set", {}), dict)
            or not isinstance(update.get("scale", {}), dict)
            or not ({"set", "scale"} & set(update))
        ):
            col.add(
                SCENARIO_FILE,
                "expected {match: {column: value}, set: {field: value}, scale: {field: factor}}",
                path=path,
            )
            continue
        match = update.get("match") or {}
        if not isinstance(match, dict):
            col.add(SCENARIO_FILE, "expected a mapping of column to value", path=f"{path}.match")
            continue
        set_values = update.get("set") or {}
        scale = update.get("scale") or {}
        bad = [k for k in match if k not in SITE_COLUMNS] + [
            k for k in [*set_values, *scale] if k not in settable
        ]
        for key in bad:
            col.add(SCENARIO_FILE, f"unknown site field {key!r}", path=path)
        if bad:
            continue
        hits = 0
        for _row, cells in rows:
            values = match.items()
            if all(str(cells.get(k, "")).lower() == str(v).lower() for k, v in values):
                hits += 1
                for k, v in set_values.items():
                    cells[k] = v if not isinstance(v, bool) else str(v).lower()
                for k, factor in scale.items():
                    cells[k] = _scaled(cells.get(k), factor, k)
        if hits == 0:
            col.add(SCENARIO_FILE, "this update matches no site", path=f"{path}.match")


@dataclass(frozen=True)
class _Places:
    places: list[VoterPlace]
    file_label: str
    row_of: dict[str, int]


def _scaled(value: Any, factor: Any, field_name: str) -> str:
    """A table value times a factor; counts (integer fields) are rounded down."""
    try:
        scaled = float(value or 0) * float(factor)
    except (TypeError, ValueError):
        return str(value)  # left for the row validation to report
    if Site.model_fields[field_name].annotation in (int, int | None):
        return str(math.floor(scaled + 1e-9))
    return repr(scaled)


def _read_places(folder: Path, ref: Any, col: ProblemCollector) -> _Places:
    table = _table_ref(folder, ref, "voters", col)
    if table is None or not _check_columns(table, PLACE_COLUMNS, col):
        return _Places([], "voters", {})
    rows = [(r, dict[str, Any](c)) for r, c in table.rows]
    places, seen = _rows_to_models(VoterPlace, table.file_label, rows, "place_id", "name", col)
    return _Places(places, table.file_label, seen)


# ---------------------------------------------------------------------------------------------
# Cross-checks


def _check_election(
    election: Election, sites: list[Site], demand: DemandParams | None, col: ProblemCollector
) -> None:
    f = SCENARIO_FILE
    dates = [d.date for d in election.days]
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            col.add(
                f,
                f"voting days must be in date order without repeats ({dates[i]})",
                path=f"election.days[{i}].date",
            )
    site_ids = {s.site_id for s in sites}
    for i, override in enumerate(election.site_hours):
        if sites and override.site_id not in site_ids:
            col.add(f, f"unknown site {override.site_id!r}", path=f"election.site_hours[{i}]")
        if override.date not in dates:
            col.add(f, f"{override.date} is not a voting day", path=f"election.site_hours[{i}]")
    if demand is not None:
        if demand.day_shares is not None and len(demand.day_shares) != len(dates):
            col.add(
                f,
                f"{len(demand.day_shares)} day shares for {len(dates)} voting days",
                path="demand.day_shares",
            )
        for i, surge in enumerate(demand.surges):
            if not -len(dates) <= surge.day < len(dates):
                col.add(
                    f,
                    f"day {surge.day} is not a voting day index (0..{len(dates) - 1})",
                    path=f"demand.surges[{i}].day",
                )


def _check_references(sites: list[Site], places: _Places, col: ProblemCollector) -> None:
    if not sites:
        return
    site_ids = {s.site_id for s in sites}
    for place in places.places:
        if place.pre_registered_site is not None and place.pre_registered_site not in site_ids:
            col.add(
                places.file_label,
                f"unknown site {place.pre_registered_site!r} (not in the sites table)",
                row=places.row_of.get(place.place_id),
                column="pre_registered_site",
            )
    if not any(s.can_open for s in sites):
        col.add(
            SCENARIO_FILE,
            "no site can open a station (all unavailable or not permitted)",
            path="sites",
        )
