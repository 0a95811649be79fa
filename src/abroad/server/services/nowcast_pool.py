"""The nowcaster's worker processes: a batch of stations' nowcasts spread over the cores.

The nowcaster (one process per database, ``services.nowcaster``) reads a pass's stations
and their reports, hands the computation (``nowcast_compute.compute_station``: condition,
run, summarise, alerts without actions) to these workers in chunks, and stores each chunk's
outcomes as it comes back (so the stores overlap the computation of the next chunks).

- **Processes.** One worker per core the nowcaster may use (``ABROAD_NOWCAST_WORKERS``
  overrides; 0 or 1: no workers, the nowcaster computes in its own process). A worker is a
  fresh interpreter (``subprocess``: the nowcaster is itself a daemonic ``multiprocessing``
  child, which may not have ``multiprocessing`` children) talking to the nowcaster over a
  socket pair with pickled messages. Workers start when a nowcaster takes the lead and are
  restarted if one dies.
- **The election model is sent once.** A worker keeps the specs of the election's stations
  by model key (the election's version: ``nowcaster.election_model``); a chunk names the key
  and carries only its stations' tasks. The plan's processed curves (the console's chart)
  are computed where first needed and sent back, so the nowcaster's cache holds them all and
  sends each chunk the ones it needs.
- **Same numbers.** A station's seed depends on its key and newest report only
  (``nowcast_compute.seed_of``), not on which process computes it: a pooled pass stores
  exactly what the one-station path stores.
- **No orphans.** A worker ignores Ctrl-C (the nowcaster stops it) and exits when told to,
  when its socket closes (the nowcaster has exited, even after a ``kill -9``), or when its
  parent process changes. If a worker dies mid-chunk, the chunk is computed in the
  nowcaster's own process and the worker is started again on the next pass.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from typing import Any

from abroad.ops.alerts import AlertThresholds
from abroad.server.services.nowcast_compute import (
    PlannedCurve,
    StationOutcome,
    StationTask,
    compute_station,
)

log = logging.getLogger(__name__)

WORKERS_ENV = "ABROAD_NOWCAST_WORKERS"
STOP_SECONDS = 10.0
"""How long a worker may take to stop when told before it is killed."""
POLL_SECONDS = 1.0
"""How often an idle worker checks that its parent is still the one that started it."""
_COMMAND = "from abroad.server.services.nowcast_pool import worker_main; worker_main()"


def default_workers() -> int:
    """Workers for a pass: ``ABROAD_NOWCAST_WORKERS`` if set (a whole number), else the cores
    this process may run on (at most 8)."""
    given = os.environ.get(WORKERS_ENV, "").strip()
    if given:
        try:
            return max(int(given), 0)
        except ValueError:
            log.warning("%s=%r is not a number of workers; using the cores", WORKERS_ENV, given)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover  (not Linux)
        cores = os.cpu_count() or 1
    return min(cores, 8)


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    conn: Connection
    models: list[Any] = field(default_factory=list)
    """The model keys this worker holds, oldest first (as ``_keep`` keeps them there)."""

    @classmethod
    def start(cls) -> _Worker:
        ours, theirs = Pipe(duplex=True)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _COMMAND, str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return cls(proc, ours)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(("stop",))
        try:
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.conn.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.conn.close()


@dataclass(frozen=True)
class _Chunk:
    number: int
    tasks: tuple[StationTask, ...]


def chunk_sizes(n: int, workers: int, smallest: int = 2) -> list[int]:
    """Guided self-scheduling: each chunk is the remaining stations over twice the workers
    (large chunks first, small ones last to even out the end), at least ``smallest``."""
    out = []
    left = n
    while left > 0:
        size = min(left, max(smallest, math.ceil(left / (2 * workers))))
        out.append(size)
        left -= size
    return out


class NowcastPool:
    """Worker processes computing chunks of stations' nowcasts (see the module docstring)."""

    def __init__(self, workers: int | None = None) -> None:
        self.size = default_workers() if workers is None else workers
        self._workers: list[_Worker | None] = [None] * self.size
        self._numbered = 0
        self.cpu_seconds = 0.0
        """CPU time the workers spent on the last ``map`` (the caller's own is apart)."""

    def start(self) -> None:
        """Start the workers not running (a worker that fails to start is left out)."""
        for i, w in enumerate(self._workers):
            if w is not None and w.proc.poll() is None:
                continue
            if w is not None:
                w.conn.close()
            try:
                self._workers[i] = _Worker.start()
            except OSError:
                log.exception("could not start a nowcast worker")
                self._workers[i] = None

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self._workers if w is not None and w.proc.poll() is None]

    def close(self) -> None:
        for i, w in enumerate(self._workers):
            if w is not None:
                w.stop()
            self._workers[i] = None

    def map(
        self,
        model_key: Any,
        specs: Mapping[str, Any],
        thresholds: AlertThresholds,
        tasks: Sequence[StationTask],
        planned: Mapping[tuple[str, int], PlannedCurve],
    ) -> Iterator[list[StationOutcome]]:
        """Compute every task, yielding the outcomes chunk by chunk as they are done (in no
        particular order). ``tasks`` go out in the order given (costliest first evens out
        the end). A chunk whose worker fails is computed in this process."""
        self.cpu_seconds = 0.0
        self.start()
        sizes = chunk_sizes(len(tasks), max(self.size, 1))
        todo: deque[_Chunk] = deque()
        at = 0
        for size in sizes:
            self._numbered += 1  # never reused: an answer is matched to its own chunk
            todo.append(_Chunk(self._numbered, tuple(tasks[at : at + size])))
            at += size
        busy: dict[Connection, tuple[int, _Chunk]] = {}
        try:
            yield from self._run(model_key, specs, thresholds, planned, todo, busy)
        finally:
            for i, _ in list(busy.values()):  # left early: their answers would be stale
                self._drop(i)

    def _run(
        self,
        model_key: Any,
        specs: Mapping[str, Any],
        thresholds: AlertThresholds,
        planned: Mapping[tuple[str, int], PlannedCurve],
        todo: deque[_Chunk],
        busy: dict[Connection, tuple[int, _Chunk]],
    ) -> Iterator[list[StationOutcome]]:
        while todo or busy:
            for i, w in enumerate(self._workers):
                if not todo:
                    break
                if w is None or any(j == i for j, _ in busy.values()):
                    continue
                chunk = todo.popleft()
                if self._send(i, w, model_key, specs, thresholds, chunk, planned):
                    busy[w.conn] = (i, chunk)
                else:
                    todo.appendleft(chunk)
            if not busy:  # no worker left: the rest here
                while todo:
                    yield _here(specs, thresholds, todo.popleft(), planned)
                break
            for conn in wait(list(busy)):
                assert isinstance(conn, Connection)
                i, chunk = busy.pop(conn)
                try:
                    kind, number, outcomes, cpu = conn.recv()
                    if (kind, number) != ("done", chunk.number):
                        raise ValueError(f"unexpected answer {kind!r} {number!r}")
                except (EOFError, OSError, ValueError):
                    log.warning("a nowcast worker failed; its chunk is computed here")
                    self._drop(i)
                    yield _here(specs, thresholds, chunk, planned)
                    continue
                self.cpu_seconds += cpu
                yield outcomes

    def _send(
        self,
        i: int,
        w: _Worker,
        model_key: Any,
        specs: Mapping[str, Any],
        thresholds: AlertThresholds,
        chunk: _Chunk,
        planned: Mapping[tuple[str, int], PlannedCurve],
    ) -> bool:
        sites = {t.site_key for t in chunk.tasks}
        theirs = {k: v for k, v in planned.items() if k[0] in sites}
        try:
            if model_key not in w.models:
                w.conn.send(("model", model_key, dict(specs)))
                _keep(w.models, model_key)
            w.conn.send(("run", chunk.number, model_key, thresholds, chunk.tasks, theirs))
            return True
        except OSError:
            log.warning("a nowcast worker is gone; starting another on the next pass")
            self._drop(i)
            return False

    def _drop(self, i: int) -> None:
        w = self._workers[i]
        self._workers[i] = None
        if w is not None:
            w.kill()


def _here(
    specs: Mapping[str, Any],
    thresholds: AlertThresholds,
    chunk: _Chunk,
    planned: Mapping[tuple[str, int], PlannedCurve],
) -> list[StationOutcome]:
    return [compute_station(specs.get(t.site_key), t, thresholds, planned)[0] for t in chunk.tasks]


MODELS_KEPT = 4
"""Election models a worker holds (several elections live at once need no resending)."""


def _keep(keys: list[Any], key: Any) -> list[Any]:
    """Add ``key`` to the kept model keys; the keys dropped (oldest beyond ``MODELS_KEPT``).
    The nowcaster and the worker apply it to the same sequence of models sent, so they
    agree on what the worker holds."""
    keys.append(key)
    dropped = keys[:-MODELS_KEPT]
    del keys[:-MODELS_KEPT]
    return dropped


def worker_main() -> None:
    """A worker: ``python -c ... FD PARENT_PID`` (see ``_Worker.start``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, parent = int(sys.argv[1]), int(sys.argv[2])
    conn = Connection(fd)
    models: dict[Any, tuple[Mapping[str, Any], dict[tuple[str, int], PlannedCurve]]] = {}
    kept: list[Any] = []
    try:
        while True:
            if not conn.poll(POLL_SECONDS):
                if os.getppid() != parent:
                    return
                continue
            msg = conn.recv()
            if msg[0] == "stop":
                return
            if msg[0] == "model":
                models[msg[1]] = (msg[2], {})
                for gone in _keep(kept, msg[1]):
                    del models[gone]
                continue
            _, number, key, thresholds, tasks, planned = msg
            specs, mine = models[key]
            c0 = time.process_time()
            outcomes = []
            mine.update(planned)
            for task in tasks:
                outcome, _ = compute_station(specs.get(task.site_key), task, thresholds, mine)
                if outcome.planned is not None:
                    mine[outcome.planned[0]] = outcome.planned[1]
                outcomes.append(outcome)
            conn.send(("done", number, outcomes, time.process_time() - c0))
    except (EOFError, OSError, KeyboardInterrupt):
        return
