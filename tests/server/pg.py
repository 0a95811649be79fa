"""A throwaway PostgreSQL 15 cluster for the tests (Debian's package, no docker, no mock).

PostgreSQL refuses to run as root: initdb and pg_ctl run as the ``postgres`` user (runuser)
on a temporary directory it owns, listening on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path("/usr/lib/postgresql/15/bin")


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    if not (BIN / "initdb").exists():
        return "PostgreSQL 15 is not installed (make install-test installs it when run as root)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "runuser is missing"
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "there is no postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    root: Path
    port: int
    _admin: Any = field(default=None, repr=False)
    """Engine on the maintenance database, made on first use (CREATE DATABASE)."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given); its URL."""
        from sqlalchemy import create_engine, text

        if self._admin is None:
            self._admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with self._admin.connect() as c:
            c.execute(
                text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
            )
        return self.url(name)

    @classmethod
    def start(cls) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="abroad-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        cluster = cls(root, _free_port())
        run = {"check": True, "capture_output": True, "cwd": root}
        subprocess.run(
            _as_postgres(
                [
                    str(BIN / "initdb"),
                    "-D",
                    str(cluster.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        options = (
            f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(BIN / "pg_ctl"),
                    "-D",
                    str(cluster.data),
                    "-o",
                    options,
                    "-l",
                    str(root / "log"),
                    "-w",
                    "start",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        return cluster

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        subprocess.run(
            _as_postgres(
                [str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            cwd=self.root,
        )
        shutil.rmtree(self.root, ignore_errors=True)
