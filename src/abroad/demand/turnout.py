"""Turnout as a decreasing function of travel, and the separate demand signals combined.

Pure and vectorised: arrays in, arrays out. See docs/background/demand.md for the model.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from abroad.model.demand_params import DemandParams, DistanceDecay

FloatArray = npt.NDArray[np.float64]


def decay_factor(travel: FloatArray, decay: DistanceDecay, unit: str = "km") -> FloatArray:
    """Share of base turnout left after a trip of ``travel`` km (``unit="km"``) or hours.

    Equals 1 at zero travel, never increases with travel, stays > 0 for finite travel (voters
    beyond reach are counted with tiny turnout, never dropped) until it underflows to 0.
    """
    x = np.asarray(travel, dtype=np.float64)
    scale = decay.scale_km if unit == "km" else decay.scale_hours
    midpoint = decay.midpoint_km if unit == "km" else decay.midpoint_hours
    if decay.family == "none":
        return np.ones_like(x)
    if decay.family == "exponential":
        return np.asarray(np.exp(-x / scale))
    # logistic, normalised to 1 at x = 0:  (1 + e^{-m/s}) / (1 + e^{(x-m)/s}), overflow-safe
    with np.errstate(over="ignore"):
        out = (1.0 + np.exp(-midpoint / scale)) / (1.0 + np.exp((x - midpoint) / scale))
    return np.asarray(out)


def combine_signals(
    params: DemandParams,
    eligible_citizens: FloatArray,
    reference_decay: FloatArray,
    previous_votes: FloatArray,
    pre_registrations: FloatArray,
    consular_estimate: FloatArray,
) -> FloatArray:
    """Expected voters of each place under the reference network (NaN signal = unknown).

    A weighted mean of the estimates that exist for the place:

    - model: ``eligible x base_turnout x decay(reference travel)`` (always present, weight > 0,
      so no other signal, least of all pre-registration, ever sets demand alone);
    - previous votes at the place, as observed;
    - ``pre_registration_uplift x pre_registrations``;
    - ``consular_estimate x base_turnout x decay(reference travel)``.
    """
    w = params.signals
    b = params.base_turnout
    model = eligible_citizens * b * reference_decay
    num = w.model * model
    den = np.full_like(model, w.model)
    for weight, estimate in (
        (w.previous_votes, previous_votes),
        (w.pre_registrations, w.pre_registration_uplift * pre_registrations),
        (w.consular_estimate, consular_estimate * b * reference_decay),
    ):
        if weight <= 0:
            continue
        known = ~np.isnan(estimate)
        num = num + np.where(known, weight * np.nan_to_num(estimate), 0.0)
        den = den + np.where(known, weight, 0.0)
    return np.asarray(num / den)
