"""Command: demo-live (registered on import): the operations console, live, in one command.

A throwaway server on 127.0.0.1 (a SQLite database in a temporary folder, deleted on exit),
the scenario imported, an ``admin`` account with a one-time password printed once, and a
voting day replayed to it (``abroad replay``, on the server's network) while you watch the
console. It serves until Ctrl-C (or, with ``--stop-after-replay``, until the replay ends).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer

from abroad.cli.app import app
from abroad.cli.common import ScenarioArg, fail, fail_input, progress, stderr, stdout
from abroad.cli.replay import (
    Client,
    EveryOption,
    SeedOption,
    SilentOption,
    SpeedOption,
    SurgeOption,
    day_options,
    deliver,
    server_network,
)

START_SECONDS = 120.0
"""How long the server may take to answer /healthz before the demo gives up."""
ADMIN = "admin"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if proc.poll() is not None:
                fail(f"the server stopped at start (exit {proc.returncode})")
            if time.monotonic() > deadline:
                fail(f"the server did not answer within {START_SECONDS:.0f} s")
            time.sleep(0.2)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the demo as Ctrl-C does: the server is stopped, the folder removed."""
    raise KeyboardInterrupt


def _remove(folder: Path) -> None:
    """Delete the throwaway folder; the server's nowcaster process may still be finishing a
    write after the server is gone (it exits within a tick), so try again for a while."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        if time.monotonic() > deadline:
            stderr.print(f"note: could not delete {folder}", highlight=False)
            return
        time.sleep(0.5)


def _with_parent() -> None:
    """In the server's process before it runs (Linux): end it if the demo is killed."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=45)  # the server waits up to 30 s for its nowcaster process
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _adopt(db: Any, folder: Path) -> None:
    """Store the plan folder's plan in the election and adopt it (as the workspace does)."""
    import json

    from sqlalchemy import select

    from abroad.server.models import Election, Plan
    from abroad.server.services.workspace import adopt_plan

    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    with db.write() as s:
        election = s.scalar(select(Election).where(Election.election_key == summary["scenario"]))
        row = Plan(
            election_id=election.id,
            variant=summary.get("variant"),
            created_by="cli:demo-live",
            open_sites=[st["site_id"] for st in summary["stations"]],
            expected_votes_cast=float(summary.get("expected_votes_cast") or 0.0),
            summary=summary,
        )
        s.add(row)
        s.flush()
        adopt_plan(db, s, row, "cli:demo-live")


@app.command("demo-live")
def demo_live(
    scenario: ScenarioArg,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8000,
    speed: SpeedOption = 120.0,
    every: EveryOption = 15,
    seed: SeedOption = 0,
    surge: SurgeOption = None,
    silent: SilentOption = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="Adopt this plan folder (the output of `abroad plan --out`) on the server "
            "first: its stations are the ones replayed and watched.",
            show_default=False,
        ),
    ] = None,
    stop_after_replay: Annotated[
        bool,
        typer.Option(
            "--stop-after-replay", help="Stop the server when the replay ends (for scripts)."
        ),
    ] = False,
) -> None:
    """Show the operations console live: a throwaway server with the scenario imported and
    a voting day replayed to it. Prints the console's address and a one-time admin password.

    Example:  abroad demo-live examples/us-2024 --speed 120   (then open the printed address)
    """
    from abroad.io.errors import InputError, Problem
    from abroad.io.plan_files import read_plan_network
    from abroad.io.scenario import load_scenario
    from abroad.jobs.replay import ReplayNetwork, ReplayOptions, replay_day
    from abroad.model import SiteId
    from abroad.network.simulation import Resources
    from abroad.server.db import Database, upgrade
    from abroad.server.schemas import UserIn
    from abroad.server.services.accounts import create_user
    from abroad.server.services.importer import import_scenario

    problems: list[Problem] = []
    opts = day_options(-1, every, seed, surge, silent, 0.0, problems)
    if problems:
        fail_input(InputError(problems))
    folder = Path(scenario)
    try:
        sc = load_scenario(folder)
        plan_net = read_plan_network(plan) if plan is not None else None
    except InputError as exc:
        fail_input(exc)
    if plan_net is not None and plan_net.scenario != sc.name:
        fail_input(
            InputError(
                [
                    Problem(
                        str(plan_net.folder / "summary.json"),
                        f"the plan is for scenario {plan_net.scenario!r}, not {sc.name!r}",
                        path="scenario",
                    )
                ]
            )
        )
    if not _port_free(port):
        fail(f"port {port} on 127.0.0.1 is in use; pick another with --port")

    signal.signal(signal.SIGTERM, _interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="abroad-demo-live-"))
    url = f"sqlite:///{tmp / 'demo.db'}"
    password = secrets.token_urlsafe(15)
    proc: subprocess.Popen[bytes] | None = None
    try:
        db = Database.open(url)
        try:
            upgrade(db)
            with db.write() as s:
                import_scenario(s, folder, "cli:demo-live", sc)
                create_user(
                    s, UserIn(username=ADMIN, password=password, role="admin"), "cli:demo-live"
                )
            if plan_net is not None:
                _adopt(db, plan_net.folder)
        finally:
            db.dispose()
        base = f"http://127.0.0.1:{port}"
        serve = ["serve", "--db", url, "--port", str(port)]
        proc = subprocess.Popen(
            [sys.executable, "-c", "from abroad.cli import main; main()", *serve],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_with_parent if sys.platform == "linux" else None,
        )
        _wait_healthy(base, proc)
        client = Client(base, None, ADMIN, timeout=30.0, password=password)
        client.login()
        network = server_network(client, sc.name)
        assert network is not None  # an admin reads the network
        if network.variant is not None:  # the adopted plan's hours, service and policies
            sc = load_scenario(folder, network.variant)
        played = ReplayNetwork(
            network.label, {SiteId(k): Resources(*v) for k, v in network.stations.items()}
        )
        reports = replay_day(sc, ReplayOptions(**opts), played)
        day = sc.election.days[-1]
        span = (reports[-1].minute - reports[0].minute) / speed if reports else 0.0
        stdout.print(
            f"abroad demo-live: a throwaway server at {base} (database in {tmp}, deleted on exit)\n"
            f"  console:    {base}/elections/{sc.name}/console\n"
            f"  log in as:  {ADMIN}  password: {password}   (one-time, for this run only)\n"
            f"  replaying:  {sc.name} on {day.date}, {played.label}, "
            f"{len(played.stations)} station(s), {len(reports)} reports at {speed:g}x "
            f"(about {span:.1f} min)\n"
            f"  a station's page: {base}/elections/{sc.name}/stations/"
            f"{next(iter(played.stations), '')}/report\n"
            "Press Ctrl-C to stop.",
            highlight=False,
            soft_wrap=True,
        )
        sys.stdout.flush()
        with progress() as bar:
            task = bar.add_task(f"replaying {sc.name}", total=len(reports))
            tally = deliver(client, sc.name, reports, speed, 300.0, lambda: bar.advance(task))
        stdout.print(
            f"replay done: {tally.stored} reports stored ({tally.quarantined} quarantined), "
            f"{len(tally.refused)} refused, {tally.retries} retries",
            highlight=False,
        )
        sys.stdout.flush()
        if not stop_after_replay:
            stdout.print(f"the console stays at {base}; Ctrl-C stops the server", highlight=False)
            sys.stdout.flush()
            proc.wait()
    except KeyboardInterrupt:
        stderr.print("stopping", highlight=False)
    except (RuntimeError, TimeoutError, ValueError, InputError) as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        if proc is not None:
            _stop(proc)
        _remove(tmp)
