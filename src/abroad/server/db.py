"""Engines, sessions and the schema check.

SQLite runs in WAL mode with foreign keys on; every write transaction starts with
``BEGIN IMMEDIATE`` so that writers queue instead of failing on a stale snapshot. On
PostgreSQL every write transaction takes one advisory lock first: writes are serialised,
which the audit log's hash chain needs anyway (each entry names the previous one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_LOCK_KEY = 0x61627264
"""PostgreSQL advisory lock taken by every write transaction."""


class SchemaOutOfDate(RuntimeError):
    """The database's schema is not the one this version of abroad needs."""


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` URLs use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    in_memory = make_url(url).database in (None, "", ":memory:")
    pool = {} if in_memory else {"pool_size": 8, "max_overflow": 16, "pool_use_lifo": True}
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """A read engine and a write engine on the same database, with their session makers."""

    url: str
    engine: Engine
    write_engine: Engine

    @classmethod
    def open(cls, url: str) -> Database:
        url = normalise_url(url)
        if is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            return cls(
                url, _sqlite_engine(url, immediate=False), _sqlite_engine(url, immediate=True)
            )
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        return cls(url, engine, engine)

    @property
    def sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (and job bookkeeping that needs no audit entry)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, serialised with every other writer; commits on success."""
        with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
            if not self.sqlite:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """``write`` without the ORM session (SQLAlchemy Core only: the report writer)."""
        with self.write_engine.begin() as conn:
            if not self.sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()


# ---------------------------------------------------------------------------------------------
# Migrations


def _alembic_config(db: Database) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def head_revision(db: Database) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(db)).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema up to ``revision``; returns (before, after)."""
    from alembic import command

    before = current_revision(db)
    cfg = _alembic_config(db)
    with db.write_engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
    return before, current_revision(db) or ""


def check_schema(db: Database) -> None:
    """Raise ``SchemaOutOfDate`` naming the fix unless the schema is at the head revision."""
    have, need = current_revision(db), head_revision(db)
    if have != need:
        state = "empty (never upgraded)" if have is None else f"at revision {have}"
        raise SchemaOutOfDate(
            f"the database schema is {state}; this abroad needs revision {need}. "
            f"Run: abroad db upgrade --db {display_url(db.url)}"
        )


def display_url(url: str) -> str:
    """The URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)
