"""Small station specs for the queueing tests."""

from __future__ import annotations

from abroad.model import ClosePolicy, Distribution, Exponential, LogNormal, Uniform
from abroad.queueing import DaySpec, StageSpec, StationSpec

PROFILE = (90.0, 110.0, 130.0, 150.0, 160.0, 150.0, 130.0, 110.0, 90.0, 70.0, 50.0, 40.0)


def two_stage(
    checkin: int = 3,
    booths: int = 8,
    patience: Distribution | None = None,
    close: str | float = "serve_all",
    profile: tuple[float, ...] = PROFILE,
    ballots: int | None = None,
    **extra: object,
) -> StationSpec:
    """The issue's example station: 08:00-20:00, 3 desks, 8 booths."""
    policy = (
        ClosePolicy(kind="extend", extend_minutes=float(close))  # type: ignore[arg-type]
        if not isinstance(close, str)
        else ClosePolicy(kind=close)  # type: ignore[arg-type]
    )
    return StationSpec(
        days=(DaySpec(open_minutes=480, close_minutes=1200, arrivals_per_hour=profile),),
        stages=(
            StageSpec(name="checkin", servers=checkin, service=Exponential(mean_minutes=1.5)),
            StageSpec(name="booth", servers=booths, service=LogNormal(mean_minutes=4, cv=0.5)),
        ),
        patience=patience,
        close_policy=policy,
        ballots=ballots,
        **extra,  # type: ignore[arg-type]
    )


PATIENCE = Uniform(low_minutes=30, high_minutes=90)
