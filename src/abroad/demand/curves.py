"""Calibrated arrival curves abroad, loaded from the package data file
``abroad/demand/data/arrival_curves.json`` (written by tools/fit_arrival_curves.py from
../shared/data/ro_abroad_hourly_turnout_by_country.csv; method: docs/background/demand.md).

Module constants, read once at import:

- ``POOLED_HOURLY_SHARES``: share of a day's arrivals in each local clock hour 0..23, pooled;
- ``COUNTRY_HOURLY_SHARES``: per-country curves (ISO3), shrunk towards the pooled one;
- ``COUNTRY_TIMEZONE``: zone each calibrated country's curve is in;
- ``CALIBRATED_OPEN_HOUR``, ``CALIBRATED_CLOSE_HOUR``: the fitted local window;
- ``LAST_DAY_SHARE``: share of all voters who come on the last day, by number of voting days;
- ``HELD_OUT_*``: errors of the fit on the held-out election (percentage points);
- ``ISO2_TO_ISO3``: ISO 3166-1 alpha-2 to alpha-3.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

HOURS_PER_DAY = 24


def _load() -> dict[str, Any]:
    text = resources.files("abroad.demand").joinpath("data/arrival_curves.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    for shares in [data["pooled_hourly_shares"], *data["country_hourly_shares"].values()]:
        if len(shares) != HOURS_PER_DAY:
            raise ValueError("arrival_curves.json: expected 24 hourly shares per curve")
    return data


_DATA = _load()

SOURCE: str = _DATA["source"]
CALIBRATED_OPEN_HOUR: int = int(_DATA["calibrated_open_hour"])
CALIBRATED_CLOSE_HOUR: int = int(_DATA["calibrated_close_hour"])
POOLED_HOURLY_SHARES: tuple[float, ...] = tuple(_DATA["pooled_hourly_shares"])
COUNTRY_HOURLY_SHARES: dict[str, tuple[float, ...]] = {
    c: tuple(v) for c, v in _DATA["country_hourly_shares"].items()
}
COUNTRY_TIMEZONE: dict[str, str] = dict(_DATA["country_timezone"])
LAST_DAY_SHARE: dict[int, float] = {int(n): float(v) for n, v in _DATA["last_day_share"].items()}
HELD_OUT_ELECTION: str = _DATA["held_out_election"]
HELD_OUT_MAE_PP_BY_LOCAL_HOUR: dict[int, float] = {
    int(h): float(v) for h, v in _DATA["held_out_mae_pp_by_local_hour"].items()
}
HELD_OUT_MAE_PP: float = float(_DATA["held_out_mae_pp"])
HELD_OUT_MAE_PP_POOLED_ONLY: float = float(_DATA["held_out_mae_pp_pooled_only"])
HELD_OUT_MAE_PP_FLAT: float = float(_DATA["held_out_mae_pp_flat"])
ISO2_TO_ISO3: dict[str, str] = dict(_DATA["iso2_to_iso3"])
