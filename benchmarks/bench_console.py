"""The console's server side: what redirect actions add to a station's recompute, and how fast
the timeline reads a busy day.

On the bundled us-2024 example (SQLite in a temporary folder), the Washington embassy reports
a long line at 13:00 and the New York consulate a short one (330 km apart: 5.4 h by road in
the travel model, so the reach is set to 6 h). A recompute of the embassy's nowcast and
alerts (``nowcaster.refresh``) is timed without redirects (``redirect_neighbours`` 0: the
peer, the same nowcast and actions) and with them, best of ``--repeat``. Then ``--reports``
reports are filed across the stations and the election's timeline (200 newest items, every
station) is read, against listing the same number of reports (the reports route's query).

    python benchmarks/bench_console.py [--repeat 3] [--reports 3000]

"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from sqlalchemy import select  # noqa: E402

from abroad.ops.reports import StationReport  # noqa: E402
from abroad.server.db import Database  # noqa: E402
from abroad.server.models import Election, StationAlertRow, StationReportRow  # noqa: E402
from abroad.server.services import alert_settings, live, nowcaster  # noqa: E402
from abroad.server.services.timeline import timeline  # noqa: E402
from bench_api import prepare  # noqa: E402

DC = "us-washington-embassy"
NY = "us-new-york-cg"


def file(db: Database, station: str, cid: str, when: str, **fields: object) -> None:
    with db.write() as s:
        e = s.scalar(select(Election))
        assert e is not None
        report = StationReport.model_validate(
            {"station_id": station, "client_id": cid, "taken_at": when, **fields}
        )
        live.submit_report(s, e, report, "bench")


def timed_refresh(db: Database, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        nowcaster.refresh(db, "us-2024", DC)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reports", type=int, default=3000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="abroad-bench-console-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'console.db'}"
        prepare(url)
        db = Database.open(url)
        try:
            with db.read() as s:
                e = s.scalar(select(Election))
                assert e is not None
                day = e.days[-1]["date"]
            file(db, DC, "bench-dc-0001", f"{day}T08:05:00-04:00", people_in_line=250, processed=0)
            file(
                db, DC, "bench-dc-0002", f"{day}T13:00:00-04:00", people_in_line=1500, processed=900
            )
            file(db, NY, "bench-ny-0001", f"{day}T12:50:00-04:00", people_in_line=20, processed=400)
            nowcaster.refresh(db, "us-2024", DC)  # the election's specs, built once
            results = {}
            for n in (0, 2):
                with db.write() as s:
                    e = s.scalar(select(Election))
                    assert e is not None
                    alert_settings.change(
                        s,
                        e,
                        {"redirect_neighbours": n, "redirect_max_travel_minutes": 360},
                        "bench",
                    )
                results[n] = timed_refresh(db, args.repeat)
            with db.read() as s:
                alerts = list(
                    s.scalars(select(StationAlertRow).where(StationAlertRow.station_key == DC))
                )
            print("Recompute of one station with alerts (Washington, 1,500 in line at 13:00):")
            print(f"  without redirects   {results[0] * 1000:8.0f} ms")
            print(f"  with redirects      {results[2] * 1000:8.0f} ms")
            print(f"  ratio               {results[2] / results[0]:8.2f}x")
            for a in alerts:
                for x in a.actions:
                    if x["kind"] == "redirect":
                        print(
                            f"  {a.kind}: send {x['voters']} to {x['station']} "
                            f"({x['travel_minutes']:.0f} min), then "
                            f"{x['left_in_line_at_close_after']['mean']:.0f} left "
                            f"(now {a.value:.0f})"
                        )

            keys = [DC, NY, "us-houston-cg"]
            start = dt.datetime.fromisoformat(f"{day}T08:00:00-04:00")
            t = time.perf_counter()
            for i in range(args.reports):
                when = start + dt.timedelta(seconds=i * 11 * 3600 / args.reports)
                file(
                    db,
                    keys[i % 3],
                    f"bench-tl-{i:06d}",
                    when.isoformat(),
                    people_in_line=50 + i % 40,
                    incident="desk printer jammed" if i % 50 == 0 else None,
                )
            filing = time.perf_counter() - t
            with db.read() as s:
                e = s.scalar(select(Election))
                assert e is not None
                t = time.perf_counter()
                items = timeline(s, e.id, None, 200)
                tl = time.perf_counter() - t
                t = time.perf_counter()
                rows = list(
                    s.scalars(
                        live.reports_query(e.id, None, None)
                        .order_by(StationReportRow.id)
                        .limit(200)
                    )
                )
                peer = time.perf_counter() - t
            print(f"Timeline after {args.reports:,} reports (filed in {filing:.1f} s):")
            print(f"  timeline, 200 newest items   {tl * 1000:8.1f} ms ({len(items)} items)")
            print(f"  listing 200 reports (peer)   {peer * 1000:8.1f} ms ({len(rows)} rows)")
            print(f"  ratio                        {tl / peer:8.2f}x")
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
