"""Known country codes: ISO 3166-1 alpha-2, from pycountry (the ISO tables Debian maintains).

``XK`` (Kosovo) is accepted too: it is not in ISO 3166-1 but is the user-assigned code that the
European Commission, GeoNames and Kosovo's own out-of-country voting use.
"""

from __future__ import annotations

from functools import cache

EXTRA_CODES = frozenset({"XK"})


@cache
def country_codes() -> frozenset[str]:
    """Every accepted alpha-2 code, upper case."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries) | EXTRA_CODES


def country_problem(value: object) -> str | None:
    """Why ``value`` is not a known country code, or None when it is one (any case)."""
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        return f"expected an ISO 3166 alpha-2 country code like US (got {value!r})"
    if value.upper() not in country_codes():
        return f"unknown country code {value!r} (not in ISO 3166-1; e.g. US, DE, RU)"
    return None
