"""Server settings: one frozen value built once, passed to the app factory."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DB_URL = "sqlite:///abroad.db"
DB_ENV = "ABROAD_DB"


def default_db_url() -> str:
    """The database URL from ``ABROAD_DB``, else a SQLite file in the working folder."""
    return os.environ.get(DB_ENV, DEFAULT_DB_URL)


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its deployment."""

    db_url: str = DEFAULT_DB_URL
    secure_cookies: bool | None = None
    """Secure flag on cookies; None: set it when the request came over TLS."""
    session_hours: float = 12.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 100 * 1024 * 1024
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    login_attempts_per_minute: int = 20
    """Per client address, successful or not."""
    job_threads: int = 1
    heartbeat_seconds: float = 2.0
    """Running jobs touch their row this often; a row silent for 3 beats is interrupted."""
    run_jobs: bool = True
    """False: accept jobs but leave them queued (tests of the queue itself)."""
    nowcast_thread: bool = True
    """Run the nowcaster process; False: nowcasts are recomputed only when read stale."""
    group_commit: bool = True
    """Store station reports through one writer, a batch per transaction (``services.ingest``);
    False: one transaction per report on the request's thread."""
    access_cache_seconds: float = 2.0
    """How long a resolved caller (token or session) and a station's mission are kept in a
    server process (``access.AccessCache``): the longest a change made through another process
    (another worker, the command line) takes to reach this one; 0: looked up on every request.
    Changes made through the same process take effect at once."""
