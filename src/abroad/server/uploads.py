"""Uploaded scenarios: files or one zip, unpacked into a temporary folder, safely.

A zip may hold the scenario at its top or in one folder; members with absolute paths, ``..``,
links, or a total unpacked size over the limit are refused before anything is written.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from abroad.server.errors import ApiError
from abroad.server.schemas import ErrorDetail

SCENARIO_FILE = "scenario.yaml"


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes


def _refuse(name: str, message: str) -> ApiError:
    return ApiError(
        422, "unsafe_archive", "the zip file was refused", [ErrorDetail(loc=[name], msg=message)]
    )


def _plain_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    if not base or base in (".", "..") or base.startswith("."):
        raise ApiError(
            422, "invalid_upload", "bad file name", [ErrorDetail(loc=[name], msg="not a file name")]
        )
    return base


def unpack(files: Sequence[UploadedFile], folder: Path, max_unzipped_bytes: int) -> None:
    """Write the uploaded scenario into ``folder`` (which must be empty)."""
    if not files:
        raise ApiError(422, "invalid_upload", "no file uploaded")
    if len(files) == 1 and files[0].name.lower().endswith(".zip"):
        _unzip(files[0], folder, max_unzipped_bytes)
        return
    for f in files:
        (folder / _plain_name(f.name)).write_bytes(f.data)
    if not (folder / SCENARIO_FILE).is_file():
        raise ApiError(
            422,
            "invalid_upload",
            "the upload has no scenario.yaml",
            [ErrorDetail(loc=[SCENARIO_FILE], msg="required file is missing")],
        )


def _unzip(upload: UploadedFile, folder: Path, limit: int) -> None:
    try:
        archive = zipfile.ZipFile(BytesIO(upload.data))
    except zipfile.BadZipFile as exc:
        raise _refuse(upload.name, f"not a zip file ({exc})") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        total = 0
        for m in members:
            p = PurePosixPath(m.filename)
            if m.filename.startswith(("/", "\\")) or ".." in p.parts or ":" in p.parts[0]:
                raise _refuse(m.filename, "path outside the scenario's folder")
            mode = m.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise _refuse(m.filename, "links are not allowed")
            total += m.file_size
            if total > limit:
                raise _refuse(m.filename, f"unpacks to more than {limit} bytes")
        wanted = [m for m in members if not PurePosixPath(m.filename).name.startswith(".")]
        roots = [m for m in wanted if PurePosixPath(m.filename).name == SCENARIO_FILE]
        if not roots:
            raise ApiError(
                422,
                "invalid_upload",
                "the zip has no scenario.yaml",
                [ErrorDetail(loc=[upload.name, SCENARIO_FILE], msg="required file is missing")],
            )
        root = PurePosixPath(min(roots, key=lambda m: len(m.filename)).filename).parent
        for m in wanted:
            p = PurePosixPath(m.filename)
            if p.parent != root:
                continue
            data = archive.read(m)
            (folder / p.name).write_bytes(data)
