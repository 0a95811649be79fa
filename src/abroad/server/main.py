"""The ASGI app that ``abroad serve`` (and ``uvicorn abroad.server.main:app``) runs.

Configured from the environment so that every uvicorn worker builds the same app:
``ABROAD_DB`` (database URL), ``ABROAD_SECURE_COOKIES`` (1/0, empty: by request scheme),
``ABROAD_MAX_UPLOAD_BYTES``, ``ABROAD_NOWCASTER`` (0: no nowcaster process; nowcasts are
then recomputed when read stale), ``ABROAD_GROUP_COMMIT`` (0: one transaction per station
report instead of the group-commit writer; for comparisons), ``ABROAD_ACCESS_CACHE_SECONDS``
(how long a worker keeps a resolved caller; 0: no cache).
"""

from __future__ import annotations

import gc
import os

from abroad.server.app import create_app
from abroad.server.config import Settings, default_db_url


def settings_from_env() -> Settings:
    secure = os.environ.get("ABROAD_SECURE_COOKIES", "")
    max_upload = os.environ.get("ABROAD_MAX_UPLOAD_BYTES", "")
    access_cache = os.environ.get("ABROAD_ACCESS_CACHE_SECONDS", "")
    return Settings(
        db_url=default_db_url(),
        secure_cookies=None if secure == "" else secure == "1",
        max_upload_bytes=int(max_upload) if max_upload else Settings.max_upload_bytes,
        nowcast_thread=os.environ.get("ABROAD_NOWCASTER", "1") != "0",
        group_commit=os.environ.get("ABROAD_GROUP_COMMIT", "1") != "0",
        access_cache_seconds=(
            float(access_cache) if access_cache else Settings.access_cache_seconds
        ),
    )


app = create_app(settings_from_env())

# Everything loaded so far (the libraries, the app, its routes and models) lives as long as
# the process: out of the collector's way, so that a full collection does not walk it. A
# full collection of it took about 0.1 s and stalled every request in flight (the report
# ingest's p99).
gc.collect()
gc.freeze()
