"""Station reports: density, the consistency check (accepted or quarantined with reasons),
idempotency by client id, and the present state the nowcast reads from a report history."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from abroad.ops.reports import (
    PEOPLE_PER_METRE,
    QuarantineReason,
    StationCalendar,
    StationReport,
    SubmissionKind,
    VotingDay,
    check_report,
    resolve_submission,
    state_from_reports,
)

TZ = ZoneInfo("Europe/Belgrade")
CAL = StationCalendar(
    station_id="belgrade",
    time_zone="Europe/Belgrade",
    days=(
        VotingDay(date=dt.date(2024, 3, 16), open_minutes=480, close_minutes=1200),
        VotingDay(date=dt.date(2024, 3, 17), open_minutes=480, close_minutes=1200),
    ),
    stages=("checkin", "booth"),
    ballots_issued=5000,
    people_per_metre=1.5,
)
RECEIVED = dt.datetime(2024, 3, 18, 0, 0, tzinfo=TZ)


def report(n: int, day: int, clock: str, **fields: object) -> StationReport:
    h, m = map(int, clock.split(":"))
    return StationReport(
        client_id=f"client-{n:04d}",
        station_id=str(fields.pop("station_id", "belgrade")),
        taken_at=dt.datetime(2024, 3, 15 + day, h, m, tzinfo=TZ),
        **fields,
    )


def reasons(r: StationReport, history: list[StationReport]) -> set[QuarantineReason]:
    return {f.reason for f in check_report(r, CAL, history, RECEIVED).findings}


def test_line_length_is_converted_with_the_density() -> None:
    r = report(1, 1, "10:00", line_length_m=200.0)
    assert r.people_in_line_estimate() == round(200 * PEOPLE_PER_METRE)
    assert r.people_in_line_estimate(1.5) == 300
    r2 = report(2, 1, "10:00", line_length_m=200.0, people_per_metre=0.5)
    assert r2.people_in_line_estimate(1.5) == 100  # the staff's own density wins
    with pytest.raises(ValidationError, match="not both"):
        report(3, 1, "10:00", line_length_m=200.0, people_in_line=10)
    with pytest.raises(ValidationError):
        report(4, 1, "10:00", people_in_line=-1)


def test_a_consistent_report_is_accepted_and_located_on_its_day() -> None:
    v = check_report(report(1, 2, "09:30", people_in_line=40, processed=100), CAL, [], RECEIVED)
    assert v.accepted
    assert v.day == 1 and v.local_minute == 570


def test_times_in_another_zone_are_read_in_the_station_zone() -> None:
    r = StationReport(
        client_id="utc-000001",
        station_id="belgrade",
        taken_at=dt.datetime(2024, 3, 17, 7, 30, tzinfo=dt.UTC),  # 08:30 in Belgrade
        people_in_line=5,
    )
    v = check_report(r, CAL, [], RECEIVED)
    assert v.accepted and v.local_minute == 510


def test_unknown_station_and_outside_hours_are_quarantined() -> None:
    assert reasons(report(1, 2, "10:00", station_id="nis", people_in_line=1), []) == {
        QuarantineReason.UNKNOWN_STATION
    }
    assert QuarantineReason.OUTSIDE_HOURS in reasons(report(2, 2, "05:00", people_in_line=1), [])
    assert QuarantineReason.OUTSIDE_HOURS in reasons(report(3, 3, "10:00", people_in_line=1), [])
    # within the grace after closing: the closing report
    assert reasons(report(4, 2, "20:45", event="closed", processed=10), []) == set()


def test_processed_going_down_and_late_reports_at_their_own_time() -> None:
    history = [report(1, 2, "10:00", processed=300), report(2, 2, "12:00", processed=700)]
    assert QuarantineReason.PROCESSED_WENT_DOWN in reasons(
        report(3, 2, "13:00", processed=650), history
    )
    # a late report taken at 11:00 with 500 fits between its neighbours in time
    assert reasons(report(4, 2, "11:00", processed=500), history) == set()
    # ... but not with 800, above the 12:00 report
    assert QuarantineReason.PROCESSED_ABOVE_LATER_REPORT in reasons(
        report(5, 2, "11:00", processed=800), history
    )


def test_ballots_checks() -> None:
    history = [report(1, 2, "10:00", ballots_left=4000)]
    assert QuarantineReason.BALLOTS_WENT_UP in reasons(
        report(2, 2, "11:00", ballots_left=4100), history
    )
    assert QuarantineReason.MORE_BALLOTS_THAN_ISSUED in reasons(
        report(3, 1, "09:00", ballots_left=6000), []
    )
    assert QuarantineReason.PROCESSED_ABOVE_ISSUED in reasons(
        report(4, 2, "19:00", processed=5001), []
    )


def test_unknown_stage_and_future_reports() -> None:
    assert QuarantineReason.UNKNOWN_STAGE in reasons(
        report(1, 2, "10:00", working=(("security", 2),)), []
    )
    early = dt.datetime(2024, 3, 17, 9, 0, tzinfo=TZ)
    v = check_report(report(2, 2, "10:00", people_in_line=3), CAL, [], early)
    assert {f.reason for f in v.findings} == {QuarantineReason.IN_THE_FUTURE}


def test_every_reason_is_reported_at_once() -> None:
    r = report(1, 3, "23:00", ballots_left=9000, working=(("desk", 1),))
    assert reasons(r, []) == {
        QuarantineReason.IN_THE_FUTURE,
        QuarantineReason.OUTSIDE_HOURS,
        QuarantineReason.MORE_BALLOTS_THAN_ISSUED,
        QuarantineReason.UNKNOWN_STAGE,
    }


def test_resubmission_is_idempotent() -> None:
    first = report(1, 2, "10:00", people_in_line=40)
    stored = [first]
    again = resolve_submission(stored, report(1, 2, "10:00", people_in_line=40))
    assert again.kind is SubmissionKind.DUPLICATE and again.report is first
    changed = resolve_submission(stored, report(1, 2, "10:00", people_in_line=41))
    assert changed.kind is SubmissionKind.CONFLICT and changed.report is first
    new = resolve_submission(stored, report(2, 2, "10:00", people_in_line=41))
    assert new.kind is SubmissionKind.NEW and new.report.client_id == "client-0002"


def test_state_from_reports_takes_the_latest_of_each_field() -> None:
    history = [
        report(1, 1, "19:55", processed=1200),  # day 1 ends at 1,200 processed
        report(2, 2, "08:00", people_in_line=90, working=(("checkin", 3),)),
        report(3, 2, "10:00", line_length_m=100.0, processed=1500, ballots_left=3000),
        report(4, 2, "11:00", incident="printer down", working=(("checkin", 2),)),
    ]
    state = state_from_reports(CAL, history, day=1)
    assert state is not None
    assert state.now_minute == 600  # the latest line measure
    assert state.people_in_line == 150  # 100 m at the site's 1.5 per metre
    assert state.processed_today == 300
    assert state.ballots_left == 3000
    assert dict(state.working) == {"checkin": 2}
    assert state_from_reports(CAL, history[:1], day=1) is None


def test_neighbours_in_time_say_what_the_full_history_says() -> None:
    """On consistent histories the check against the nearest reports before and after (what
    the store looks up) finds exactly what the check against every report finds."""
    import random

    from abroad.ops.reports import TimeNeighbours

    rng = random.Random(7)
    for trial in range(200):
        times = sorted(rng.sample(range(8 * 60, 20 * 60), 6))
        history = [
            report(
                i,
                2,
                f"{t // 60:02d}:{t % 60:02d}",
                processed=None if rng.random() < 0.3 else 10 * t,
                ballots_left=None if rng.random() < 0.3 else 8000 - 5 * t,
            )
            for i, t in enumerate(times)
        ]
        t = rng.randrange(8 * 60, 20 * 60)
        probe = report(
            100 + trial,
            2,
            f"{t // 60:02d}:{t % 60:02d}",
            processed=10 * t + rng.randint(-300, 300),
            ballots_left=8000 - 5 * t + rng.randint(-200, 200),
        )
        before = [h for h in history if h.taken_at <= probe.taken_at]
        after = [h for h in history if h.taken_at > probe.taken_at]

        def nearest(rows: list[StationReport], field: str, last: bool) -> int | None:
            vals = [getattr(h, field) for h in rows if getattr(h, field) is not None]
            return (vals[-1] if last else vals[0]) if vals else None

        stored = TimeNeighbours(
            processed_before=nearest(before, "processed", True),
            processed_after=nearest(after, "processed", False),
            ballots_left_before=nearest(before, "ballots_left", True),
            ballots_left_after=nearest(after, "ballots_left", False),
        )
        assert TimeNeighbours.of(probe, history) == stored
        full = check_report(probe, CAL, history, RECEIVED).findings
        assert check_report(probe, CAL, stored, RECEIVED).findings == full


def test_neighbours_of_a_batch_widen_the_stored_ones() -> None:
    from abroad.ops.reports import TimeNeighbours

    stored = TimeNeighbours(processed_before=100, processed_after=None, ballots_left_before=900)
    batch = TimeNeighbours(processed_before=150, processed_after=400, ballots_left_after=300)
    assert stored.widened(batch) == TimeNeighbours(150, 400, 900, 300)
    assert stored.widened(TimeNeighbours()) == stored
    r = report(9, 2, "12:00", processed=120, ballots_left=950)
    found = {f.reason for f in check_report(r, CAL, stored.widened(batch), RECEIVED).findings}
    assert found == {QuarantineReason.PROCESSED_WENT_DOWN, QuarantineReason.BALLOTS_WENT_UP}


def test_minutes_since_opening_on_the_station_clock() -> None:
    noon = dt.datetime(2024, 3, 17, 12, 0, tzinfo=TZ)
    assert CAL.minutes_since_opening(noon) == (240.0, 480.0)
    # 07:30 local: before opening; 16 March 2024 at 09:00 New York time is 14:00 in Belgrade
    assert CAL.minutes_since_opening(noon.replace(hour=7, minute=30)) is None
    ny = dt.datetime(2024, 3, 16, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert CAL.minutes_since_opening(ny) == (360.0, 480.0)
    assert CAL.minutes_since_opening(dt.datetime(2024, 3, 18, 12, 0, tzinfo=TZ)) is None
