"""Report ingest: group commit keeps idempotency, quarantine and the audit chain's order;
reports are checked against their neighbours in time; never-reported stations go silent.

Every test runs on SQLite and PostgreSQL (the ``db_url`` fixture). No timings here: the
ingest rates are in benchmarks/bench_ingest.py.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from abroad.ops.reports import StationReport, TimeNeighbours
from abroad.server.app import create_app
from abroad.server.audit import verify
from abroad.server.db import Database, upgrade
from abroad.server.models import AuditEntry, Election, StationAlertRow, StationReportRow
from abroad.server.services import ingest, live
from abroad.server.services.importer import import_scenario
from abroad.server.services.nowcaster import check_silent

from scenario_factory import write_scenario
from server.conftest import Backend, login, settings_for

BASE = "/api/elections/tiny"


def report(client_id: str, hhmm: str = "10:00", **fields: Any) -> dict[str, Any]:
    """A report of emb taken at ``hhmm`` New York time on 17 March 2024 (a voting day)."""
    return {"client_id": client_id, "taken_at": f"2024-03-17T{hhmm}:00-04:00", **fields}


def ops_report(client_id: str, hhmm: str, station: str = "emb", **fields: Any) -> StationReport:
    return StationReport.model_validate(
        {**report(client_id, hhmm, **fields), "station_id": station}
    )


def stored_rows(url: str) -> list[StationReportRow]:
    db = Database.open(url)
    try:
        with db.read() as s:
            return list(s.scalars(select(StationReportRow).order_by(StationReportRow.id)))
    finally:
        db.dispose()


def report_entries(url: str) -> list[AuditEntry]:
    """The chain's report entries in order (the whole chain verified first)."""
    db = Database.open(url)
    try:
        with db.read() as s:
            v = verify(s)
            assert v.ok, v.reason
            return [
                e
                for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))
                if e.event_type.startswith("report.")
            ]
    finally:
        db.dispose()


def test_concurrent_filings_with_duplicates_and_conflicts_store_each_report_once(
    backend: Backend, db_url: str
) -> None:
    """200 filings from 8 threads: 120 distinct reports, 50 resends of the same content,
    30 other contents under a used id, in mixed order. Whichever content of an id is stored
    first stands: each id is stored once with one audit entry (in the chain in the order the
    rows were stored), the same content again answers 200 with that row, other content 409."""
    hours = [f"{h:02d}:{m:02d}" for h in range(8, 20) for m in range(0, 60, 6)]  # 120 times
    distinct = [
        report(f"cc-{i:05d}", hours[i], people_in_line=i, processed=10 * i) for i in range(120)
    ]
    # a few quarantined ones: ballots left above the 5,000 issued
    for i in (7, 70, 107):
        distinct[i]["ballots_left"] = 10**6
    resends = [distinct[(i * 7) % 120] for i in range(50)]
    conflicts = [{**distinct[(i * 11) % 120], "people_in_line": 9999} for i in range(30)]
    filings = distinct + resends + conflicts
    order = sorted(range(len(filings)), key=lambda k: (k * 37) % len(filings))  # mixed
    h = {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}
    answers: dict[int, tuple[int, dict[str, Any]]] = {}
    lock = threading.Lock()
    app = create_app(settings_for(db_url))
    with TestClient(app) as client:

        def send(part: list[int]) -> None:
            for k in part:
                r = client.post(f"{BASE}/stations/emb/reports", json=filings[k], headers=h)
                with lock:
                    answers[k] = (r.status_code, r.json())

        threads = [threading.Thread(target=send, args=(order[t::8],)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        writer: ingest.Ingest = app.state.ingest
        assert writer.enabled and 1 <= writer.batches <= 200
    assert len(answers) == 200
    stored = {r.client_id: r for r in stored_rows(db_url)}
    codes = Counter()
    for k, (code, body) in answers.items():
        codes[code] += 1
        row = stored[filings[k]["client_id"]]
        same = row.payload["people_in_line"] == filings[k]["people_in_line"]
        if code == 409:
            assert body["error"]["code"] == "conflict" and not same
            continue
        assert code in (200, 201) and same, body
        assert body["id"] == row.id and body["duplicate"] is (code == 200)
    # per id: one 201 for the stored content, 200 for the same content again, 409 for other
    expected = Counter()
    for cid, row in stored.items():
        mine = [f for f in filings if f["client_id"] == cid]
        same = sum(f["people_in_line"] == row.payload["people_in_line"] for f in mine)
        expected.update({201: 1, 200: same - 1, 409: len(mine) - same})
    assert codes == +expected and codes[201] == 120
    rows = stored_rows(db_url)
    assert len(rows) == 120 and len({r.client_id for r in rows}) == 120
    assert sum(r.status == "quarantined" for r in rows) == 3
    entries = report_entries(db_url)
    # one entry per stored report, chained in the order the rows were stored
    assert [e.subject.rsplit("/", 1)[1] for e in entries] == [r.client_id for r in rows]
    assert Counter(e.event_type for e in entries) == {
        "report.accepted": 117,
        "report.quarantined": 3,
    }


def test_a_batch_checks_each_report_against_stored_reports_and_its_batch_mates(
    db_url: str,
) -> None:
    db = Database.open(db_url)
    try:
        first = ingest.store(db, [("tiny", ops_report("bm-00001", "12:00", processed=500), "t")])
        assert isinstance(first[0], ingest.Stored) and first[0].out.status == "accepted"
        batch = [
            # late and consistent with the stored 12:00 report
            ("tiny", ops_report("bm-00002", "11:00", processed=400), "t"),
            # late, but above the stored 12:00 report: quarantined
            ("tiny", ops_report("bm-00003", "11:30", processed=600), "t"),
            # below the batch-mate taken at 11:00 (not stored yet when checked)
            ("tiny", ops_report("bm-00004", "11:10", processed=300), "t"),
            # the same report twice in one batch, then other content under its id
            ("tiny", ops_report("bm-00005", "13:00", processed=700), "t"),
            ("tiny", ops_report("bm-00005", "13:00", processed=700), "t"),
            ("tiny", ops_report("bm-00005", "13:00", processed=701), "t"),
            # an election the server does not know: refused alone
            ("nope", ops_report("bm-00006", "13:00"), "t"),
            # a station the election does not know: quarantined
            ("tiny", ops_report("bm-00007", "13:00", station="typo"), "t"),
        ]
        answers = ingest.store(db, batch)
    finally:
        db.dispose()
    a = answers
    assert isinstance(a[0], ingest.Stored) and a[0].out.status == "accepted"
    assert isinstance(a[1], ingest.Stored) and a[1].out.status == "quarantined"
    assert [r.reason for r in a[1].out.reasons] == ["processed_above_later_report"]
    assert isinstance(a[2], ingest.Stored) and a[2].out.status == "quarantined"
    assert [r.reason for r in a[2].out.reasons] == ["processed_went_down"]
    assert isinstance(a[3], ingest.Stored) and not a[3].duplicate
    assert isinstance(a[4], ingest.Stored) and a[4].duplicate and a[4].out.id == a[3].out.id
    assert isinstance(a[5], live.Conflict)
    assert isinstance(a[6], ingest.UnknownElection)
    assert isinstance(a[7], ingest.Stored) and a[7].out.reasons[0].reason == "unknown_station"
    rows = stored_rows(db_url)
    assert [r.client_id for r in rows] == [
        "bm-00001",
        "bm-00002",
        "bm-00003",
        "bm-00004",
        "bm-00005",
        "bm-00007",
    ]
    assert [r.processed for r in rows][:5] == [500, 400, 600, 300, 700]
    assert [e.subject.rsplit("/", 1)[1] for e in report_entries(db_url)] == [
        r.client_id for r in rows
    ]


def test_a_late_report_is_checked_against_its_neighbours_in_time_not_the_latest(
    backend: Backend, db_url: str
) -> None:
    h = {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}
    url = f"{BASE}/stations/emb/reports"
    with TestClient(create_app(settings_for(db_url))) as c:
        for cid, hhmm, processed, ballots in [
            ("nb-00001", "09:00", 100, 4900),
            ("nb-00002", "11:00", 300, 4700),
            ("nb-00003", "15:00", 900, 4100),
        ]:
            body = report(cid, hhmm, processed=processed, ballots_left=ballots)
            assert c.post(url, json=body, headers=h).json()["status"] == "accepted"

        def late(cid: str, hhmm: str, **fields: Any) -> list[str]:
            r = c.post(url, json=report(cid, hhmm, **fields), headers=h)
            assert r.status_code == 201, r.text
            return [x["reason"] for x in r.json()["reasons"]]

        # between 11:00 (300) and 15:00 (900): any figure in between is consistent, although
        # it is far below the latest report
        assert late("nb-00010", "12:00", processed=500, ballots_left=4500) == []
        # now 12:00 (500) is the neighbour before 13:00, not 11:00 (300)
        assert late("nb-00011", "13:00", processed=400) == ["processed_went_down"]
        # above the neighbour after it (12:00's 500)
        assert late("nb-00012", "10:00", processed=600) == ["processed_above_later_report"]
        # ballots left above the neighbour before it (4500 at 12:00)
        assert late("nb-00013", "12:30", ballots_left=4600) == ["ballots_went_up"]
        assert late("nb-00014", "12:30", ballots_left=4400, processed=700) == []


def test_a_figure_few_reports_give_is_found_past_the_reports_without_it(db_url: str) -> None:
    """Ballots left reported at 09:00 only, then 40 reports without it: the report at 16:00
    is still checked against 09:00's ballots, and the look-up goes straight to the reports
    that give the figure (its own partial index, not a walk over the station's history)."""
    db = Database.open(db_url)
    try:
        first = ops_report("sp-00000", "09:00", processed=10, ballots_left=4000)
        rest = [
            ops_report(f"sp-{k:05d}", f"{9 + k // 6:02d}:{(k % 6) * 10:02d}", processed=10 + k)
            for k in range(1, 41)
        ]
        with db.write() as s:
            eid = s.scalar(select(Election.id).where(Election.election_key == "tiny"))
            assert eid is not None
            live.submit_reports(
                s, [live.Filed(live.ElectionRef(eid, "tiny"), r, "t") for r in [first, *rest]]
            )
        probe = ops_report("sp-09999", "16:00", ballots_left=4100, processed=60)
        with db.write() as s:
            around = live.time_neighbours(s, eid, probe)
            assert around.ballots_left_before == 4000
            assert around.processed_before == 50
            # a report that gives one figure is compared on that figure alone
            one = live.time_neighbours(s, eid, probe.model_copy(update={"processed": None}))
            assert one == TimeNeighbours(ballots_left_before=4000)
            one = live.time_neighbours(s, eid, probe.model_copy(update={"ballots_left": None}))
            assert one == TimeNeighbours(processed_before=50)
            if db.sqlite:  # the statement the check runs, as SQLite plans it
                conn = s.connection()
                compiled = live.NEIGHBOURS.compile(dialect=conn.dialect)
                values = compiled.construct_params(
                    {"election_id": eid, "station_key": "emb", "client_id": "x", "taken_at": "z"}
                )
                positions = compiled.positiontup or []
                plan = " ".join(
                    str(row)
                    for row in conn.exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {compiled}", tuple(values[p] for p in positions)
                    )
                )
                assert plan.count("ix_station_reports_ballots_left") == 2
                assert plan.count("ix_station_reports_processed") == 2
    finally:
        db.dispose()


def test_one_transaction_per_report_keeps_the_same_answers(backend: Backend, db_url: str) -> None:
    """The path without group commit (kept for the benchmark's comparison)."""
    h = {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}
    url = f"{BASE}/stations/emb/reports"
    app = create_app(settings_for(db_url, group_commit=False))
    with TestClient(app) as c:
        body = report("pr-00001", processed=10)
        assert c.post(url, json=body, headers=h).status_code == 201
        again = c.post(url, json=body, headers=h)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert c.post(url, json={**body, "processed": 11}, headers=h).status_code == 409
        down = c.post(url, json=report("pr-00002", "11:00", processed=5), headers=h).json()
        assert down["status"] == "quarantined"
        assert app.state.ingest.batches == 4  # each filing was its own transaction
    assert [e.event_type for e in report_entries(db_url)] == [
        "report.accepted",
        "report.quarantined",
    ]


def test_a_station_that_never_reported_goes_silent_after_its_opening(
    backend: Backend, db_url: str
) -> None:
    """emb reports; cg (Houston, opens 08:00 local) never does: silent once the election's
    clock is 45 minutes past cg's opening, cleared once it reports."""
    h = {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}
    cg = {"Authorization": f"Bearer {backend.template.tokens['mission_cg']}"}
    with TestClient(create_app(settings_for(db_url))) as c:
        url = f"{BASE}/stations/emb/reports"
        db = Database.open(db_url)
        try:
            # 09:30 in New York is 08:30 in Houston: cg opened 30 minutes ago
            c.post(url, json=report("nr-00001", "09:30", people_in_line=5), headers=h)
            assert check_silent(db) == 0
            # 10:00 in New York is 09:00 in Houston: 60 minutes without a report
            c.post(url, json=report("nr-00002", "10:00", people_in_line=5), headers=h)
            assert check_silent(db) == 1
            assert check_silent(db) == 1  # the same alert, not a second one
            alerts = c.get(f"{BASE}/stations/cg/nowcast", headers=cg).json()["alerts"]
            assert [(a["kind"], a["active"]) for a in alerts] == [("silent", True)]
            assert alerts[0]["message"] == "no report since opening at 08:00 (60 min)"
            assert c.get(f"{BASE}/stations/emb/nowcast", headers=h).json()["alerts"] == []
            first = {**report("nr-00003"), "taken_at": "2024-03-17T09:05:00-05:00"}
            first["station_id"] = "cg"
            r = c.post(f"{BASE}/missions/cg/reports", json=first, headers=cg)
            assert r.status_code == 201, r.text
            assert check_silent(db) == 0
            alerts = c.get(f"{BASE}/stations/cg/nowcast", headers=cg).json()["alerts"]
            assert [(a["kind"], a["active"]) for a in alerts] == [("silent", False)]
        finally:
            db.dispose()


def test_no_station_is_silent_before_any_voting_day(db_url: str) -> None:
    """Without any report the wall clock decides; it is not a voting day of the tiny
    election (2024), so nothing is raised."""
    db = Database.open(db_url)
    try:
        assert check_silent(db) == 0
        with db.read() as s:
            assert s.scalars(select(StationAlertRow)).all() == []
    finally:
        db.dispose()


def test_migration_0003_copies_the_figures_of_stored_reports(
    backend: Backend, tmp_path: Path
) -> None:
    url = backend.make_url(empty=True)
    db = Database.open(url)
    try:
        upgrade(db, "0002")
        with db.write() as s:
            import_scenario(s, write_scenario(tmp_path / "tiny"), "t")
            eid = s.execute(text("SELECT id FROM elections")).scalar_one()
            now = dt.datetime(2024, 3, 17, 14, tzinfo=dt.UTC)
            for cid, payload in [
                ("mg-00001", {"processed": 41, "ballots_left": 7}),
                ("mg-00002", {"people_in_line": 3}),
            ]:
                s.execute(
                    text(
                        "INSERT INTO station_reports (election_id, client_id, station_key, "
                        "filed_station_key, taken_at, received_at, payload, content_sha256, "
                        "status, reasons, submitted_by) VALUES (:e, :c, 'emb', 'emb', :now, "
                        ":now, :p, 'x', 'accepted', '[]', 't')"
                    ),
                    {"e": eid, "c": cid, "now": now, "p": json.dumps(payload)},
                )
        upgrade(db)
        with db.read() as s:
            rows = s.execute(
                text(
                    "SELECT client_id, processed, ballots_left FROM station_reports "
                    "ORDER BY client_id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [("mg-00001", 41, 7), ("mg-00002", None, None)]
    finally:
        db.dispose()


@pytest.mark.parametrize("group_commit", [True, False])
def test_staff_file_through_the_writer_with_their_session(db_url: str, group_commit: bool) -> None:
    """The session-cookie caller (Core look-up of session, user and scopes) files for its
    mission's station and is refused another mission's."""
    with TestClient(create_app(settings_for(db_url, group_commit=group_commit))) as c:
        login(c, "staff")
        ok = c.post(f"{BASE}/stations/emb/reports", json=report("st-00001", people_in_line=3))
        assert ok.status_code == 201, ok.text
        assert ok.json()["submitted_by"] == "staff"
        other = c.post(f"{BASE}/stations/cg/reports", json=report("st-00002", people_in_line=3))
        assert other.status_code == 403


def test_a_batch_that_fails_is_stored_again_report_by_report(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error on one report fails that report alone: the batch is rolled back and
    its reports are stored one per transaction; nothing the writer answered is lost."""
    real = live.submit_reports

    def failing(session: Any, filed: list[live.Filed]) -> list[live.Outcome]:
        out = real(session, filed)  # the rows are written, then the transaction fails
        if any(f.report.client_id == "bad-00001" for f in filed):
            raise RuntimeError("the disk is full")
        return out

    monkeypatch.setattr(live, "submit_reports", failing)
    db = Database.open(db_url)
    try:
        writer = ingest.Ingest(db)
        items = [
            ingest._Item("tiny", ops_report(cid, hhmm, processed=p), "t")
            for cid, hhmm, p in [
                ("ok-00001", "10:00", 10),
                ("bad-00001", "11:00", 20),
                ("ok-00002", "12:00", 30),
            ]
        ]
        writer._write(items)
        assert [i.future.done() for i in items] == [True, True, True]
        assert isinstance(items[1].future.exception(), RuntimeError)
        assert [i.future.result().out.client_id for i in (items[0], items[2])] == [
            "ok-00001",
            "ok-00002",
        ]
        assert writer.batches == 2  # the two reports stored alone after the failed batch
    finally:
        db.dispose()
    assert [r.client_id for r in stored_rows(db_url)] == ["ok-00001", "ok-00002"]
    assert [e.subject.rsplit("/", 1)[1] for e in report_entries(db_url)] == [
        "ok-00001",
        "ok-00002",
    ]


def test_a_request_that_went_away_still_has_its_report_stored(db_url: str) -> None:
    """The writer answers requests in their event loop, a batch at a time; a request whose
    client went away (its waiter cancelled) still has its report stored, and its resend is
    answered as a duplicate."""
    import asyncio

    db = Database.open(db_url)
    writer = ingest.Ingest(db)
    try:

        async def file() -> tuple[ingest.Stored, ingest.Stored]:
            gone = writer.file("tiny", ops_report("aw-00001", "10:00", processed=5), "t")
            kept = writer.file("tiny", ops_report("aw-00002", "10:05", processed=6), "t")
            gone.cancel()
            second = await kept
            again = await writer.file("tiny", ops_report("aw-00001", "10:00", processed=5), "t")
            return second, again

        second, again = asyncio.run(file())
        assert not second.duplicate and second.out.status == "accepted"
        assert again.duplicate and again.out.client_id == "aw-00001"
    finally:
        writer.close()
        db.dispose()
    assert [r.client_id for r in stored_rows(db_url)] == ["aw-00001", "aw-00002"]
    assert len(report_entries(db_url)) == 2


def test_the_report_validated_at_the_edge_is_the_one_filed() -> None:
    """ReportIn builds its ops report once; filing it under a station gives the same report
    as building it again under that station, and a station id too long is refused."""
    from pydantic import ValidationError

    body = report("ed-00001", processed=5, working={"checkin": 3, "booth": 2})
    data = live.ReportIn.model_validate(body)
    for station in ("emb", "x" * live.STATION_ID_MAX):
        fast = data.to_report(station)
        assert fast == data._build(station) and fast.station_id == station
    named = live.ReportIn.model_validate({**body, "station_id": "cg"})
    assert named.to_report("cg") is named.to_report("cg")
    with pytest.raises(ValidationError):
        data.to_report("x" * (live.STATION_ID_MAX + 1))
    with pytest.raises(ValidationError):
        data.to_report("")


def test_a_bulk_filing_answers_stores_and_audits_each_report_on_its_own(
    backend: Backend, db_url: str
) -> None:
    h = {"Authorization": f"Bearer {backend.template.tokens['station_emb']}"}
    url = f"{BASE}/stations/emb/reports/bulk"
    a = report("bk-00001", "10:00", processed=10)
    b = report("bk-00002", "11:00", processed=20)
    down = report("bk-00003", "12:00", processed=5)  # below 11:00: quarantined
    sent = [
        a,
        b,
        a,  # the same again
        {**a, "processed": 11},  # other content under a stored id
        report("bk-00004", people_in_line=-1),  # not valid
        {**report("bk-00005"), "station_id": "cg"},  # another station
        b,
        down,
    ]
    with TestClient(create_app(settings_for(db_url))) as c:
        r = c.post(url, json={"reports": sent}, headers=h)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results] == [201, 201, 200, 409, 422, 422, 200, 201]
        assert results[2]["report"]["id"] == results[0]["report"]["id"]
        assert results[3]["error"]["code"] == "conflict"
        assert results[4]["error"]["details"][0]["loc"][:4] == [
            "body",
            "reports",
            4,
            "people_in_line",
        ]
        assert results[7]["report"]["status"] == "quarantined"
        assert [x["reason"] for x in results[7]["report"]["reasons"]] == ["processed_went_down"]
        # the whole queue sent again (the device did not hear back): nothing stored twice
        again = c.post(url, json={"reports": sent}, headers=h).json()["results"]
        assert [x["status"] for x in again] == [200, 200, 200, 409, 422, 422, 200, 200]
        # one request's worth at most; another station's token is refused
        too_many = [report(f"bk-{k:05d}", "10:00") for k in range(live.BULK_MAX + 1)]
        assert c.post(url, json={"reports": too_many}, headers=h).status_code == 422
        cg = {"Authorization": f"Bearer {backend.template.tokens['mission_cg']}"}
        assert c.post(url, json={"reports": [report("bk-00009")]}, headers=cg).status_code == 403
    assert [r.client_id for r in stored_rows(db_url)] == ["bk-00001", "bk-00002", "bk-00003"]
    entries = report_entries(db_url)
    assert [e.subject.rsplit("/", 1)[1] for e in entries] == ["bk-00001", "bk-00002", "bk-00003"]
    assert [e.event_type for e in entries] == [
        "report.accepted",
        "report.accepted",
        "report.quarantined",
    ]
