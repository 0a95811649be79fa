"""Reading a scenario folder into a validated ``Scenario``.

A scenario is a folder with ``scenario.yaml`` and two tables (CSV or XLSX): the voter places and
the sites. Everything is checked here, once; every problem found is reported together, each with
its file, row, column or YAML path. See docs/reference/scenario-format.md.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from abroad.geo import gazetteer
from abroad.geo.admin1 import Admin1Error
from abroad.io.countries import country_problem
from abroad.io.errors import InputError, Problem, ProblemCollector, friendly_message
from abroad.io.files import resolve_input_path
from abroad.io.tables import Table, TableStream, open_table, read_table
from abroad.io.tours import read_tours
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
from abroad.model import limits as L
from abroad.model.format_notices import ServiceAndSites
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
    "tours": "consular outreach tours (a mapping or a YAML file name)",
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
    "max_security_lanes": False,
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
    raw = read_yaml(_folder_or_error(path) / SCENARIO_FILE, SCENARIO_FILE)
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
    scenario = _Reader(path).build(variant, keep_places=True)
    assert scenario is not None
    return scenario


def load_scenarios(path: str | Path, variants: Sequence[str | None]) -> list[Scenario]:
    """The scenario under several variants (None: the base), reading its files once.

    Raises InputError listing every problem of every variant (each marked with its variant).
    """
    reader = _Reader(path)
    out: list[Scenario] = []
    problems: list[Problem] = []
    for name in variants:
        try:
            scenario = reader.build(name, keep_places=True)
        except InputError as exc:
            tag = f"[variant {name}] " if name is not None else ""
            problems.extend(
                Problem(p.file, f"{tag}{p.message}", p.row, p.column, p.path) for p in exc.problems
            )
            continue
        assert scenario is not None
        out.append(scenario)
    if problems:
        raise InputError(problems)
    return out


def load_scenario_document(path: str | Path, raw: Any, variant: str | None = None) -> Scenario:
    """Validate a scenario document that was read (and perhaps changed, as ``abroad sweep``
    sets parameters) from the folder at ``path``; its tables are read from that folder."""
    reader = _Reader(path)  # the folder checked as for loading; its tables read once
    scenario = _build(reader, raw, variant, keep_places=True)
    assert scenario is not None
    return scenario


def load_service_and_sites(path: str | Path) -> ServiceAndSites:
    """The base scenario's service model and sites, without reading its voter places (for the
    notices of changed defaults after ``validate``). Raises InputError as ``load_scenario``."""
    reader = _Reader(path)
    col = ProblemCollector()
    raw = reader.raw if isinstance(reader.raw, dict) else {}
    service = _section(col, raw, "service", ServiceModel)
    sites = _sites(reader, raw.get("sites"), [], col)
    col.raise_if_any()
    assert service is not None
    return ServiceAndSites(service, tuple(sites))


def validate_scenario(path: str | Path) -> list[Problem]:
    """Every problem in a scenario and in each of its variants (empty when all is valid).

    scenario.yaml and the tables are read once and shared by the variants; the voter places
    are checked as a stream without being kept (validation of a million places stays well
    under a gigabyte).
    """
    try:
        reader = _Reader(path)
        reader.build(None, keep_places=False)
    except InputError as exc:
        return exc.problems
    problems: list[Problem] = []
    for name in reader.variant_names():
        try:
            reader.build(name, keep_places=False)
        except InputError as exc:
            problems.extend(
                Problem(p.file, f"[variant {name}] {p.message}", p.row, p.column, p.path)
                for p in exc.problems
            )
    return problems


# ---------------------------------------------------------------------------------------------


def _folder_or_error(path: str | Path) -> Path:
    folder = scenario_folder(path)
    try:
        is_dir = folder.is_dir()
    except OSError:
        is_dir = False
    if not is_dir:
        raise InputError([Problem(str(path), "no such scenario folder")])
    return folder


class _Reader:
    """One scenario folder: scenario.yaml parsed once, tables read once, shared by variants."""

    def __init__(self, path: str | Path) -> None:
        self.folder = _folder_or_error(path)
        if (
            not (self.folder / SCENARIO_FILE).exists()
            and not (self.folder / SCENARIO_FILE).is_symlink()
        ):
            raise InputError([Problem(str(path), f"no {SCENARIO_FILE} in this folder")])
        self.raw = read_yaml(self.folder / SCENARIO_FILE, SCENARIO_FILE)
        self._tables: dict[tuple[Path, str | None], Table | InputError] = {}
        self._places: dict[tuple[Path, str | None, bool], _Places | InputError] = {}

    def variant_names(self) -> list[str]:
        variants = self.raw.get("variants") if isinstance(self.raw, dict) else None
        return [str(k) for k in variants] if isinstance(variants, dict) else []

    def table(self, target: Path, name: str, sheet: str | None) -> Table:
        return _once(self._tables, (target, sheet), lambda: read_table(target, name, sheet))

    def places(self, target: Path, name: str, sheet: str | None, keep: bool) -> _Places:
        def read() -> _Places:
            with _bulk_reading():
                return _read_places(open_table(target, name, sheet), keep)

        return _once(self._places, (target, sheet, keep), read)

    def build(self, variant: str | None, *, keep_places: bool) -> Scenario | None:
        return _build(self, self.raw, variant, keep_places)


T = TypeVar("T")


def _once(cache: dict[Any, T | InputError], key: Any, make: Callable[[], T]) -> T:
    """``make()`` the first time for this key; its result (or its InputError) afterwards."""
    if key not in cache:
        try:
            cache[key] = make()
        except InputError as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, InputError):
        raise found
    return found


@contextmanager
def _bulk_reading() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large table is read.

    Reading a million rows allocates millions of small tuples and strings, none of them in a
    reference cycle; the collector would scan the growing heap again and again (about a third
    of the time). Reference counting still frees everything; the collector resumes after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(reader: _Reader, raw: Any, variant: str | None, keep_places: bool) -> Scenario | None:
    col = ProblemCollector()
    f = SCENARIO_FILE
    if not isinstance(raw, dict):
        raise InputError([Problem(f, "expected a mapping of sections at the top level")])
    _check_top_keys(raw, "", col)
    for key in REQUIRED_KEYS:
        if key not in raw:
            col.add(f, f"required section is missing ({TOP_LEVEL_KEYS[key]})", path=key)
        elif raw[key] is None or raw[key] == {}:
            col.add(f, f"required section is empty ({TOP_LEVEL_KEYS[key]})", path=key)
    for key in ("name", "description"):
        value = raw.get(key)
        if key in raw and (not isinstance(value, str) or not value.strip() or len(value) > 2000):
            col.add(f, f"expected text (at most 2,000 characters) (got {value!r:.60})", path=key)
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
    if "citizen_country" in raw:
        why = country_problem(citizen_country)
        if why is not None:
            col.add(f, why, path="citizen_country")

    sites = _sites(reader, raw.get("sites"), site_updates, col)
    # The tours section locates candidate cities among the places: keep them when it is there.
    keep = keep_places or raw.get("tours") is not None
    places = _places(reader, raw.get("voters"), keep, col)
    tours = read_tours(reader.folder, raw.get("tours"), sites, places.places, col)

    if election is not None:
        _check_election(election, sites, demand, col)
        if policies is not None:
            _check_decisions(policies, election, sites, col)
    _check_references(sites, places, col)
    pairs = len(sites) * len(places.row_of)
    if pairs > L.MAX_PLACE_SITE_PAIRS:
        col.add(
            places.file_label,
            f"{len(places.row_of):,} places x {len(sites):,} sites = {pairs:,} pairs; the limit "
            f"is {L.MAX_PLACE_SITE_PAIRS:,} (see docs/reference/limits.md): merge small places "
            "or drop sites that cannot serve them",
        )
    col.raise_if_any()
    assert election is not None and service is not None
    if not keep_places:
        return None
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
        tours=tours,
    )


def _check_top_keys(raw: Mapping[Any, Any], prefix: str, col: ProblemCollector) -> None:
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            known = ", ".join(TOP_LEVEL_KEYS)
            col.add(
                SCENARIO_FILE, f"unknown section (known sections: {known})", path=f"{prefix}{key}"
            )


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
        patch = {k: v for k, v in patch.items() if k != "variants"}
    _check_top_keys(patch, f"{path}.patch.", col)
    description = spec.get("description", "")
    if not isinstance(description, str):
        col.add(SCENARIO_FILE, "expected text", path=f"{path}.description")
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
            return None  # a missing or empty required section is reported by _build
        value = default
    try:
        return TypeAdapter(model).validate_python(value)
    except ValidationError as exc:
        col.add_validation_error(SCENARIO_FILE, exc, path_prefix=key)
        return None


# ---------------------------------------------------------------------------------------------
# Tables


def _table_target(
    reader: _Reader, ref: Any, section: str, col: ProblemCollector
) -> tuple[Path, str, str | None] | None:
    """(resolved path, name as written, sheet) of a table reference, or None (reported).

    A table must lie inside the scenario folder, after following symbolic links: a path
    outside it (``../x.csv``, ``/etc/passwd``, a link leading out) is refused, so that a
    scenario (uploaded to a server, say) can only read its own files.
    """
    if ref is None:
        return None
    sheet = None
    if isinstance(ref, str):
        name = ref
    elif isinstance(ref, dict) and isinstance(ref.get("table"), str):
        name = ref["table"]
        sheet = ref.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            col.add(SCENARIO_FILE, "expected a sheet name (text)", path=f"{section}.sheet")
            return None
        for key in ref:
            if key not in ("table", "sheet"):
                col.add(
                    SCENARIO_FILE, "unknown key (expected table, sheet)", path=f"{section}.{key}"
                )
    else:
        col.add(SCENARIO_FILE, "expected {table: FILE.csv or FILE.xlsx}", path=section)
        return None
    if not name or "\0" in name:
        col.add(SCENARIO_FILE, "expected a file name", path=f"{section}.table")
        return None
    home = Path(os.path.realpath(reader.folder))
    if home not in Path(os.path.realpath(reader.folder / name)).parents:
        col.add(
            SCENARIO_FILE,
            "the table must be inside the scenario folder (paths and links leading outside "
            "it are refused)",
            path=f"{section}.table",
        )
        return None
    try:
        target = resolve_input_path(reader.folder / name, name)
    except InputError as exc:
        col.extend(exc.problems)
        return None
    return target, name, sheet


def _check_columns(
    label: str, columns: Sequence[str], spec: Mapping[str, bool], col: ProblemCollector
) -> bool:
    ok = True
    for name, required in spec.items():
        if required and name not in columns:
            col.add(label, f"required column {name!r} is missing", row=1, column=name)
            ok = False
    for name in columns:
        if name not in spec:
            known = ", ".join(spec)
            col.add(label, f"unknown column (known columns: {known})", row=1, column=name)
            ok = False
    return ok


@lru_cache(maxsize=4096)
def _zone_ok(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


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
        if not _zone_ok(tz):
            col.add(
                label,
                f"unknown IANA time zone {tz[:60]!r} (e.g. America/New_York)",
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
    except Admin1Error as exc:
        col.add(label, str(exc), row=row, column="admin1")
        return None
    out["lat"], out["lon"] = city.lat, city.lon
    out.setdefault("timezone", city.timezone)
    return out


def _country_ok(data: dict[str, Any], label: str, row: int, col: ProblemCollector) -> bool:
    """Check and upper-case the row's country code in place."""
    if "country" in data and isinstance(data["country"], str):
        why = country_problem(data["country"])
        if why is not None:
            col.add(label, why, row=row, column="country")
            return False
        data["country"] = data["country"].upper()
    return True


def _row_model(
    model: type[M], cells: dict[str, Any], label: str, row: int, col: ProblemCollector
) -> M | None:
    data = {k: v for k, v in cells.items() if v != "" and k not in _NOT_MODEL_FIELDS}
    if not _country_ok(data, label, row, col):
        return None
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


def _sites(reader: _Reader, ref: Any, updates: list[Any], col: ProblemCollector) -> list[Site]:
    found = _table_target(reader, ref, "sites", col)
    if found is None:
        return []
    try:
        table = reader.table(*found)
    except InputError as exc:
        col.extend(exc.problems)
        return []
    if not _check_columns(table.file_label, table.columns, SITE_COLUMNS, col):
        return []
    if len(table.rows) > L.MAX_SITES:
        col.add(table.file_label, f"{len(table.rows):,} sites; the limit is {L.MAX_SITES:,}")
        return []
    rows: list[tuple[int, dict[str, Any]]] = [(r, dict(c)) for r, c in table.rows]
    _apply_site_updates(rows, updates, col)
    sites, _ = _rows_to_models(Site, table.file_label, rows, "site_id", "city", col)
    return sites


_NUMERIC_SITE_FIELDS = {
    name
    for name, info in Site.model_fields.items()
    if info.annotation in (int, float, int | None, float | None)
}


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
            or set(update) - {"match", "set", "scale"}
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
        ok = not bad
        for section, values in (("match", match), ("set", set_values)):
            for k, v in values.items():
                if isinstance(v, dict | list):
                    col.add(SCENARIO_FILE, "expected a single value", path=f"{path}.{section}.{k}")
                    ok = False
        for k, factor in scale.items():
            if k in settable and k not in _NUMERIC_SITE_FIELDS:
                col.add(
                    SCENARIO_FILE,
                    f"{k!r} is not a number and cannot be scaled (use set:)",
                    path=f"{path}.scale.{k}",
                )
                ok = False
            elif isinstance(factor, bool) or not isinstance(factor, int | float):
                col.add(
                    SCENARIO_FILE,
                    f"expected a number as the factor (got {factor!r:.60})",
                    path=f"{path}.scale.{k}",
                )
                ok = False
            elif not 0 <= factor <= 1e6:
                col.add(
                    SCENARIO_FILE,
                    f"expected a finite factor between 0 and 1,000,000 (got {factor!r})",
                    path=f"{path}.scale.{k}",
                )
                ok = False
        if not ok:
            continue
        hits = 0
        for _row, cells in rows:
            values = match.items()
            if all(str(cells.get(k, "")).lower() == _text(v).lower() for k, v in values):
                hits += 1
                for k, v in set_values.items():
                    cells[k] = "" if v is None else _text(v)
                for k, factor in scale.items():
                    cells[k] = _scaled(cells.get(k), factor, k)
        if hits == 0:
            col.add(SCENARIO_FILE, "this update matches no site", path=f"{path}.match")


def _text(value: Any) -> str:
    """A YAML scalar as a table cell would hold it (``true``, not ``True``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _scaled(value: Any, factor: float, field_name: str) -> str:
    """A table value times a factor; counts (integer fields) are rounded down. A value that is
    not a number is left for the row validation to report."""
    try:
        scaled = float(value or 0) * float(factor)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(scaled):
        return str(value)
    if Site.model_fields[field_name].annotation in (int, int | None):
        return str(math.floor(scaled + 1e-9))
    return repr(scaled)


@dataclass(frozen=True)
class _Places:
    places: list[VoterPlace]
    file_label: str
    row_of: dict[str, int]
    """Row of each place id (duplicates reported)."""
    references: list[tuple[int, str]]
    """(row, site id) of every pre_registered_site given."""


def _places(reader: _Reader, ref: Any, keep: bool, col: ProblemCollector) -> _Places:
    empty = _Places([], "voters", {}, [])
    found = _table_target(reader, ref, "voters", col)
    if found is None:
        return empty
    try:
        return reader.places(*found, keep)
    except InputError as exc:
        col.extend(exc.problems)
        return empty


_FINITE = ConfigDict(allow_inf_nan=False)
_WHERE = ("lat", "lon", "timezone")


def _check_ids(
    ids: Sequence[str],
    numbers: list[int],
    row_of: dict[str, int],
    failed: set[int],
    label: str,
    col: ProblemCollector,
) -> None:
    fresh = dict(zip(ids, numbers, strict=True))
    if len(fresh) == len(ids) and row_of.keys().isdisjoint(fresh):
        row_of.update(fresh)  # no duplicate: the common case, at C speed
        return
    for i, (key, number) in enumerate(zip(ids, numbers, strict=True)):
        first = row_of.setdefault(key, number)
        if first != number:
            col.add(
                label,
                f"duplicate place_id {key[:60]!r} (first at row {first})",
                row=number,
                column="place_id",
            )
            failed.add(i)


def _check_countries(
    table: dict[str, Sequence[str]],
    numbers: list[int],
    known: set[str],
    failed: set[int],
    label: str,
    col: ProblemCollector,
) -> None:
    codes = table.get("country")
    if codes is None:
        return
    for value in set(codes) - known:
        if value and country_problem(value) is not None:
            for i, code in enumerate(codes):
                if code == value:
                    col.add(label, str(country_problem(value)), row=numbers[i], column="country")
                    failed.add(i)
        else:
            known.add(value)
    if any(c != c.upper() for c in set(codes)):
        table["country"] = tuple(c.upper() for c in codes)


def _locate_column(
    table: dict[str, Sequence[str]],
    chunk: list[tuple[int, tuple[str, ...]]],
    numbers: list[int],
    columns: tuple[str, ...],
    failed: set[int],
    label: str,
    col: ProblemCollector,
) -> dict[str, list[Any]]:
    """lat, lon and timezone columns with the gaps filled from the gazetteer or time zones."""
    lat, lon, tz = (table.get(c) for c in _WHERE)
    if lat is not None and lon is not None and tz is not None:
        zones_ok = {z for z in set(tz) if z and _zone_ok(z)}
        if all(lat) and all(lon) and zones_ok.issuperset(tz):
            return {}  # every place located: the common case
        need = [
            i
            for i, (a, b, z) in enumerate(zip(lat, lon, tz, strict=True))
            if not (a and b and z in zones_ok)
        ]
    else:
        need = list(range(len(numbers)))
    if not need:
        return {}
    out: dict[str, list[Any]] = {
        c: list(table[c]) if c in table else [""] * len(numbers) for c in _WHERE
    }
    for i in need:
        if i in failed:
            continue
        loc = _locate(dict(zip(columns, chunk[i][1], strict=True)), label, numbers[i], col, "name")
        if loc is None:
            failed.add(i)
            continue
        for c in _WHERE:
            out[c][i] = loc.get(c, out[c][i])
    return out


def _check_column(
    name: str,
    column: Sequence[Any],
    present: list[int],
    numbers: list[int],
    failed: set[int],
    label: str,
    col: ProblemCollector,
) -> tuple[list[int], list[Any]]:
    """Validate the present cells of one column; failing rows are reported and marked."""
    adapter = _column_adapter(VoterPlace, name)
    whole = len(present) == len(column)
    try:
        return present, adapter.validate_python(
            list(column) if whole else [column[i] for i in present]
        )
    except ValidationError as exc:
        bad: set[int] = set()
        for err in exc.errors():
            i = present[int(err["loc"][0])]
            col.add(label, friendly_message(err), row=numbers[i], column=name)
            bad.add(i)
        failed |= bad
        present = [i for i in present if i not in bad]
        return present, adapter.validate_python([column[i] for i in present])


@lru_cache(maxsize=64)
def _column_adapter(model: type[BaseModel], field_name: str) -> TypeAdapter[list[Any]]:
    """Validates a whole column with the rules of one model field (``list[Annotated[...]]``)."""
    info = model.model_fields[field_name]
    item: Any = info.annotation
    if info.metadata:
        item = Annotated[(item, *info.metadata)]
    return TypeAdapter(list[item], config=_FINITE)


def _read_places(stream: TableStream, keep: bool) -> _Places:
    """Check the voter places chunk by chunk, each column at once by the ``VoterPlace`` field
    rules; build the models only if ``keep`` (validation alone keeps ids and references)."""
    col = ProblemCollector()
    label = stream.file_label
    if not _check_columns(label, stream.columns, PLACE_COLUMNS, col):
        col.raise_if_any()
    fields = VoterPlace.model_fields
    required = {n for n, info in fields.items() if info.is_required()}
    places: list[VoterPlace] = []
    row_of: dict[str, int] = {}
    references: list[tuple[int, str]] = []
    total_citizens = 0.0
    countries_ok: set[str] = set()
    columns = stream.columns
    candidates = [n for n in fields if n in columns or n in _WHERE]
    for chunk in stream.chunks():
        if not chunk:
            continue
        numbers = [number for number, _ in chunk]
        table: dict[str, Sequence[str]] = dict(
            zip(columns, zip(*(cells for _, cells in chunk), strict=True), strict=True)
        )
        failed: set[int] = set()
        _check_ids(table["place_id"], numbers, row_of, failed, label, col)
        _check_countries(table, numbers, countries_ok, failed, label, col)
        values = _locate_column(table, chunk, numbers, columns, failed, label, col)
        checked: dict[str, tuple[list[int], list[Any]]] = {}
        for name in candidates:
            column = values.get(name) or table.get(name) or ()
            if not failed and column and all(column):
                present = list(range(len(numbers)))
            else:
                present = [i for i, v in enumerate(column) if v and i not in failed]
                if name in required:
                    for i in range(len(numbers)):
                        if i not in failed and not (column and column[i]):
                            col.add(label, "required field is missing", row=numbers[i], column=name)
                            failed.add(i)
            if present:
                checked[name] = _check_column(name, column, present, numbers, failed, label, col)
        present, citizens = checked.get("eligible_citizens", ([], []))
        total_citizens += (
            sum(c for i, c in zip(present, citizens, strict=True) if i not in failed)
            if failed
            else sum(citizens)
        )
        if "pre_registered_site" in checked:
            for i, site in zip(*checked["pre_registered_site"], strict=True):
                if i not in failed:
                    references.append((numbers[i], site))
        if keep:
            rows: list[dict[str, Any]] = [{} for _ in numbers]
            for name, (present, items) in checked.items():
                for i, v in zip(present, items, strict=True):
                    rows[i][name] = v
            places.extend(
                VoterPlace.model_construct(**d) for i, d in enumerate(rows) if i not in failed
            )
    if not row_of and not col.problems:
        col.add(label, "the table has no rows: expected at least one")
    if total_citizens > L.MAX_TOTAL_CITIZENS:
        col.add(
            label,
            f"{total_citizens:,.0f} eligible citizens in all; the limit is "
            f"{L.MAX_TOTAL_CITIZENS:,} (see docs/reference/limits.md)",
            column="eligible_citizens",
        )
    col.extend(stream.problems)
    col.raise_if_any()
    return _Places(places, label, row_of, references)


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


def _check_decisions(
    policies: Policies, election: Election, sites: list[Site], col: ProblemCollector
) -> None:
    """``policies.planner_decides``: known sites, each in one group at most, voting days, and
    no more alternatives per station than the planner simulates."""
    f = SCENARIO_FILE
    dates = [d.date for d in election.days]
    site_ids = {s.site_id for s in sites}
    seen: dict[str, int] = {}
    named = {sid for g in policies.planner_decides for sid in g.sites or ()}
    catch_all = [i for i, g in enumerate(policies.planner_decides) if g.sites is None]
    for i in catch_all[1:]:
        col.add(
            f,
            f"only one group may leave out sites (group {catch_all[0]} already applies to every "
            "other site)",
            path=f"policies.planner_decides[{i}].sites",
        )
    for i, group in enumerate(policies.planner_decides):
        path = f"policies.planner_decides[{i}]"
        for j, sid in enumerate(group.sites or ()):
            if sites and sid not in site_ids:
                col.add(f, f"unknown site {sid!r}", path=f"{path}.sites[{j}]")
            elif sid in seen:
                col.add(
                    f,
                    f"site {sid!r} is already in group {seen[sid]} (a site's choices are in "
                    "one group)",
                    path=f"{path}.sites[{j}]",
                )
            seen[sid] = i
        for key, days in (
            ("may_open_days", group.may_open_days or ()),
            ("must_open_days", group.must_open_days),
        ):
            for j, day in enumerate(days):
                if day not in dates:
                    col.add(f, f"{day} is not a voting day", path=f"{path}.{key}[{j}]")
        if group.hours is not None:
            for j, override in enumerate(election.site_hours):
                mine = (
                    override.site_id in group.sites
                    if group.sites is not None
                    else override.site_id not in named  # the catch-all group's sites
                )
                if mine:
                    col.add(
                        f,
                        f"the planner decides the hours of {override.site_id!r} "
                        f"({path}.hours), so this override would be ignored: remove one of them "
                        "(a variant clears the overrides with election: {site_hours: []})",
                        path=f"election.site_hours[{j}]",
                    )
        n = group.alternatives_count(len(dates))
        if n > L.MAX_OPTIONS_PER_SITE:
            col.add(
                f,
                f"{n} alternatives per station (hours x days x close policies); at most "
                f"{L.MAX_OPTIONS_PER_SITE}: widen hours.step_minutes or raise hours.min_hours",
                path=path,
            )


def _check_references(sites: list[Site], places: _Places, col: ProblemCollector) -> None:
    if not sites:
        return
    site_ids = {s.site_id for s in sites}
    for row, site_id in places.references:
        if site_id not in site_ids:
            col.add(
                places.file_label,
                f"unknown site {site_id[:60]!r} (not in the sites table)",
                row=row,
                column="pre_registered_site",
            )
    if not any(s.can_open for s in sites):
        col.add(
            SCENARIO_FILE,
            "no site can open a station (all unavailable or not permitted)",
            path="sites",
        )
