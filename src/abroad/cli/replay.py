"""Command: replay (registered on import): play a simulated voting day to a server."""

from __future__ import annotations

import http.cookiejar
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from abroad.cli.app import app
from abroad.cli.common import (
    EXIT_BAD_INPUT,
    ScenarioArg,
    fail_input,
    print_json,
    progress,
    stderr,
    stdout,
)
from abroad.io.errors import InputError, Problem

PASSWORD_ENV = "ABROAD_PASSWORD"


@dataclass
class Tally:
    stored: int = 0
    duplicates: int = 0
    accepted: int = 0
    quarantined: int = 0
    refused: list[str] = field(default_factory=list)
    retries: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "refused": self.refused,
            "retries": self.retries,
        }


class Client:
    """POSTs reports with a device token or a logged-in session (cookie and CSRF token)."""

    def __init__(
        self,
        server: str,
        token: str | None,
        user: str | None,
        timeout: float,
        password: str | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.password = password
        """The user's password (default: ``$ABROAD_PASSWORD``)."""
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.user = user
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def login(self) -> None:
        if self.user is None:
            return
        password = self.password or os.environ.get(PASSWORD_ENV, "")
        status, body = self.post("/api/auth/login", {"username": self.user, "password": password})
        if status != 200:
            raise RuntimeError(f"login as {self.user!r} failed: {status} {body}")
        self.headers["X-CSRF-Token"] = str(body["csrf_token"])

    def post(self, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """(status, JSON body); status 0 when the server could not be reached."""
        return self._send(
            urllib.request.Request(
                self.server + path,
                data=json.dumps(payload).encode(),
                headers=self.headers,
                method="POST",
            )
        )

    def get(self, path: str) -> tuple[int, Any]:
        """(status, JSON body) of a GET; status 0 when the server could not be reached."""
        return self._send(urllib.request.Request(self.server + path, headers=self.headers))

    def _send(self, req: urllib.request.Request) -> tuple[int, Any]:
        try:
            with self.opener.open(req, timeout=self.timeout) as r:
                return int(r.status), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return int(exc.code), json.loads(raw or b"null")
            except ValueError:
                return int(exc.code), raw.decode(errors="replace")
        except (OSError, ValueError):
            return 0, None


@dataclass(frozen=True)
class ServerNetwork:
    """The election's stations as the server stores them: the adopted plan's or the
    status quo's."""

    adopted_plan_id: int | None
    variant: str | None
    stations: dict[str, tuple[int, int, int]]
    """station key -> (desks, booths, lanes)."""

    @property
    def label(self) -> str:
        if self.adopted_plan_id is None:
            return "the server's stations (the status quo as imported; no plan adopted)"
        variant = f", variant {self.variant}" if self.variant else ""
        return f"the server's adopted plan #{self.adopted_plan_id}{variant}"


class ServerError(RuntimeError):
    """The server answered something that stops the replay before it starts."""


def server_network(client: Client, election: str) -> ServerNetwork | None:
    """The election's network as the server stores it, or None when this login or token may
    not read it (a device token); ServerError when the election is unknown or the server is
    unreachable."""
    status, body = client.get(f"/api/elections/{election}")
    if status == 0:
        raise ServerError(f"cannot reach the server at {client.server}")
    if status == 404:
        raise ServerError(
            f"the server has no election {election!r}: import the scenario first "
            "(`abroad import SCENARIO`), or name the election with --election"
        )
    if status in (401, 403):
        return None
    if status != 200:
        raise ServerError(f"reading election {election!r} failed: {status} {body}")
    plan_id = body.get("adopted_plan_id")
    variant = None
    if plan_id is not None:
        status, plan = client.get(f"/api/plans/{plan_id}")
        if status != 200:
            raise ServerError(f"reading the adopted plan #{plan_id} failed: {status} {plan}")
        variant = plan.get("variant")
    stations: dict[str, tuple[int, int, int]] = {}
    offset: int | None = 0
    while offset is not None:
        status, page = client.get(f"/api/elections/{election}/stations?limit=500&offset={offset}")
        if status != 200:
            raise ServerError(f"listing the stations of {election!r} failed: {status} {page}")
        for st in page["items"]:
            stations[str(st["station_key"])] = (
                int(st["desks"]),
                int(st["booths"]),
                int(st["lanes"]),
            )
        offset = page.get("next_offset")
    return ServerNetwork(plan_id, variant, stations)


def unknown_stations(
    client: Client, election: str, stations: list[str], known: ServerNetwork | None
) -> list[str]:
    """The stations the server does not know (or, for a device token, that are outside its
    scope): asked one by one when the whole network cannot be read."""
    if known is not None:
        return [s for s in stations if s not in known.stations]
    out = []
    for key in stations:
        status, _ = client.get(f"/api/elections/{election}/stations/{key}")
        if status == 0:
            raise ServerError(f"cannot reach the server at {client.server}")
        if status == 404:
            out.append(key)
        elif status in (401, 403):
            out.append(f"{key} (unknown, or outside this token's scope)")
        elif status != 200:
            raise ServerError(f"reading station {key!r} failed: {status}")
    return out


def deliver(
    client: Client,
    election: str,
    reports: list[Any],
    speed: float,
    give_up_seconds: float,
    on_done: Any = None,
) -> Tally:
    """Send each report when its simulated minute comes (``speed`` simulated minutes per
    real minute), retrying unacknowledged ones (network errors, 5xx, 429) with backoff until
    ``give_up_seconds`` pass without progress. A 401 with a user logs in again."""
    tally = Tally()
    start_minute = reports[0].minute if reports else 0.0
    t0 = time.monotonic()
    backoff = 0.2
    last_progress = time.monotonic()
    i = 0
    while i < len(reports):
        rep = reports[i]
        due = t0 + (rep.minute - start_minute) * 60.0 / speed
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status, body = client.post(
            f"/api/elections/{election}/stations/{rep.station}/reports", rep.body
        )
        if status in (200, 201):
            tally.stored += status == 201
            tally.duplicates += status == 200
            tally.accepted += body.get("status") == "accepted"
            tally.quarantined += body.get("status") == "quarantined"
            i, backoff, last_progress = i + 1, 0.2, time.monotonic()
            if on_done is not None:
                on_done()
            continue
        if status == 401 and client.user is not None:
            try:
                client.login()
                continue
            except RuntimeError:
                pass
        if status == 0 or status >= 500 or status in (408, 429):
            if time.monotonic() - last_progress > give_up_seconds:
                raise TimeoutError(
                    f"the server has not acknowledged a report for {give_up_seconds:.0f} s; "
                    f"{len(reports) - i} report(s) unsent"
                )
            tally.retries += 1
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
            if status == 0 and client.user is not None and "X-CSRF-Token" in client.headers:
                # a restarted server keeps sessions (they are stored); nothing to do
                pass
            continue
        tally.refused.append(f"{rep.body['client_id']}: {status} {json.dumps(body)[:200]}")
        i, last_progress = i + 1, time.monotonic()
    return tally


SpeedOption = Annotated[float, typer.Option(min=0.01, help="Simulated minutes per real minute.")]
EveryOption = Annotated[float, typer.Option(min=1, help="Minutes between a station's reports.")]
SeedOption = Annotated[int, typer.Option(help="Seed of the simulated day.")]
SurgeOption = Annotated[
    str | None, typer.Option(help="FACTOR@HH:MM: arrivals times FACTOR from HH:MM on.")
]
SilentOption = Annotated[
    str | None, typer.Option(help="STATION@HH:MM: the station stops reporting at HH:MM.")
]
"""The simulated day's options, shared by ``replay`` and ``demo-live``."""


def day_options(
    day: int,
    every: float,
    seed: int,
    surge: str | None,
    silent: str | None,
    out_of_order: float,
    problems: list[Problem],
) -> dict[str, Any]:
    """``ReplayOptions`` fields from the command's options; bad ones go to ``problems``."""
    from abroad.model.clock import parse_clock

    opts: dict[str, Any] = {"day": day, "every_minutes": every, "seed": seed}

    def at(option: str, text: str) -> tuple[str, float]:
        head, _, clock = text.rpartition("@")
        try:
            t = parse_clock(clock)
            minutes = t.hour * 60.0 + t.minute  # type: ignore[attr-defined]
        except (ValueError, AttributeError):
            problems.append(Problem(option, f"{text!r}: expected ...@HH:MM"))
            return head, 0.0
        return head, minutes

    if surge:
        factor, minute = at("--surge", surge)
        try:
            opts["surge_factor"] = float(factor)
            opts["surge_from_minute"] = minute
        except ValueError:
            problems.append(Problem("--surge", f"{surge!r}: expected FACTOR@HH:MM, e.g. 2@12:00"))
    if silent:
        opts["silent_station"], opts["silent_from_minute"] = at("--silent", silent)
    if out_of_order:
        opts["out_of_order_share"] = out_of_order
    return opts


@app.command()
def replay(
    scenario: ScenarioArg,
    server: Annotated[str, typer.Option("--server", help="The server's URL.")],
    election: Annotated[
        str | None,
        typer.Option(help="The election's key on the server (default: the scenario's name)."),
    ] = None,
    speed: SpeedOption = 60.0,
    token: Annotated[
        str | None, typer.Option(help="A device token (or log in with --user).")
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(help=f"Log in as this user; the password is read from ${PASSWORD_ENV}."),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Play this plan folder's network (the output of `abroad plan --out`); "
            "default: the election's network on the server (its adopted plan, if any).",
            show_default=False,
        ),
    ] = None,
    day: Annotated[int, typer.Option(help="Voting day (0-based; -1: the last).")] = -1,
    every: EveryOption = 30,
    seed: SeedOption = 0,
    surge: SurgeOption = None,
    silent: SilentOption = None,
    out_of_order: Annotated[
        float, typer.Option(min=0, max=1, help="Share of reports delivered after the next one.")
    ] = 0.0,
    give_up: Annotated[
        float, typer.Option(min=1, help="Seconds without any acknowledgement before giving up.")
    ] = 300.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the tally as JSON.")] = False,
) -> None:
    """Play a voting day simulated from the adopted plan to a server as station reports, at
    an accelerated clock; unacknowledged reports are retried.

    The network played: the plan folder given with --plan; else the election's stations as
    the server stores them (its adopted plan, or the status quo before one is adopted); else
    (a device token cannot read them) the scenario's status quo. Stations the server does not
    know stop the replay before it starts.

    Example:  abroad replay examples/us-2024 --server http://127.0.0.1:8000 --user admin --speed 120
    """
    from abroad.io.plan_files import read_plan_network
    from abroad.io.scenario import load_scenario
    from abroad.jobs.replay import ReplayNetwork, ReplayOptions, replay_day, status_quo_network
    from abroad.model import SiteId
    from abroad.network.simulation import Resources

    problems: list[Problem] = []
    opts = day_options(day, every, seed, surge, silent, out_of_order, problems)
    if token is None and user is None:
        problems.append(Problem("--token/--user", "give a device token or a user to log in as"))
    if problems:
        fail_input(InputError(problems))
    try:
        plan_net = read_plan_network(plan) if plan is not None else None
        sc = load_scenario(Path(scenario), plan_net.variant if plan_net is not None else None)
    except InputError as exc:
        fail_input(exc)
    if plan_net is not None:
        summary = str(plan_net.folder / "summary.json")
        if plan_net.scenario != sc.name:
            problems.append(
                Problem(summary, f"the plan is for scenario {plan_net.scenario!r}, not {sc.name!r}")
            )
        known_sites = {s.site_id for s in sc.sites}
        for i, (sid, *_) in enumerate(plan_net.stations):
            if sid not in known_sites:
                problems.append(
                    Problem(
                        summary,
                        f"the plan opens site {sid!r}, which the scenario does not have",
                        path=f"stations[{i}].site_id",
                    )
                )
        if problems:
            fail_input(InputError(problems))
    key = election or sc.name
    client = Client(server, token, user, timeout=30.0)
    try:
        client.login()
        on_server = server_network(client, key)
    except (RuntimeError, ServerError) as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    variant = plan_net.variant if plan_net is not None else None
    if plan_net is None and on_server is not None and on_server.variant is not None:
        variant = on_server.variant
        try:
            sc = load_scenario(Path(scenario), variant)
        except InputError as exc:
            fail_input(exc)
    if plan_net is not None:
        network = ReplayNetwork(
            f"the plan in {plan_net.folder}" + (f" (variant {variant})" if variant else ""),
            {SiteId(k): Resources(d, b, lanes) for k, d, b, lanes in plan_net.stations},
        )
    elif on_server is not None:
        network = ReplayNetwork(
            on_server.label,
            {SiteId(k): Resources(*v) for k, v in on_server.stations.items()},
        )
    else:
        network = ReplayNetwork(
            "the scenario's status quo (this token cannot read the server's network)",
            status_quo_network(sc).stations,
        )
    try:
        unknown = unknown_stations(client, key, [str(s) for s in network.stations], on_server)
    except ServerError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if unknown:
        stderr.print(
            f"[bold red]error:[/] the server's election {key!r} has no station "
            f"{', '.join(unknown)} of {network.label}; nothing was sent. Import the scenario "
            "or adopt the plan on the server first, or replay the server's own network "
            "(without --plan).",
            highlight=False,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    if plan_net is not None and on_server is not None:
        differ = sorted(
            k
            for k, r in network.stations.items()
            if on_server.stations.get(str(k)) not in (None, (r.desks, r.booths, r.security_lanes))
        )
        if on_server.adopted_plan_id is None or differ:
            stderr.print(
                f"note: the server's network is {on_server.label}"
                + (f"; {len(differ)} station(s) have other resources there" if differ else "")
                + "; its nowcasts use the server's stations",
                highlight=False,
            )
    reports = replay_day(sc, ReplayOptions(**opts), network)
    stderr.print(
        f"replaying {key}: {network.label}, {len(network.stations)} station(s), "
        f"{len(reports)} reports at {speed:g}x",
        highlight=False,
    )
    with progress(not json_out) as bar:
        task = bar.add_task(f"replaying {key}", total=len(reports))
        try:
            tally = deliver(client, key, reports, speed, give_up, lambda: bar.advance(task))
        except TimeoutError as exc:
            stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
    if json_out:
        print_json(
            {
                "network": network.label,
                "stations": sorted(str(k) for k in network.stations),
                "reports": len(reports),
                **tally.as_dict(),
            }
        )
        return
    stdout.print(
        f"{len(reports)} reports: {tally.stored} stored ({tally.accepted} accepted, "
        f"{tally.quarantined} quarantined), {tally.duplicates} already stored, "
        f"{len(tally.refused)} refused, {tally.retries} retries"
    )
    for r in tally.refused:
        stdout.print(f"  refused {r}", highlight=False)
