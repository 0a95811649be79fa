"""The station simulator: one station's voting days, replicated, with analytic helpers.

Public entry points: ``simulate_station``, ``simulate_many``, ``simulate_replication``
(voter by voter), ``erlang_c_wait``, ``size_station``.
"""

from abroad.queueing.outcome import Estimate, LinePoint, PeriodOutcome, StationOutcome, WaitSummary
from abroad.queueing.spec import DaySpec, StageSpec, StationSpec, SurgeSpec
from abroad.queueing.station import (
    RandomInputs,
    ReplicationTrace,
    run_replications,
    simulate_many,
    simulate_replication,
    simulate_station,
)

__all__ = [
    "DaySpec",
    "Estimate",
    "LinePoint",
    "PeriodOutcome",
    "RandomInputs",
    "ReplicationTrace",
    "StageSpec",
    "StationOutcome",
    "StationSpec",
    "SurgeSpec",
    "WaitSummary",
    "run_replications",
    "simulate_many",
    "simulate_replication",
    "simulate_station",
]
