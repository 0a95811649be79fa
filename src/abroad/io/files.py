"""Opening input files safely: regular files only, no loops, no devices, bounded sizes.

Every file an input names (scenario.yaml, its tables, a station spec) is read through
``read_input_bytes``: the path is resolved (a symlink loop is an error, not a hang), it must be
a regular file (not a folder, FIFO, socket or device such as ``/dev/zero``) and no larger than
the limit of its kind (docs/reference/limits.md). The bytes read are capped too, so a file that
grows while it is read cannot exhaust memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from abroad.io.errors import InputError, Problem
from abroad.model.limits import MAX_TABLE_BYTES, MAX_YAML_BYTES

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
"""Read only; the resolved path is not followed again (no link swapped in); a FIFO swapped in
after the check does not block the open."""

__all__ = [
    "MAX_TABLE_BYTES",
    "MAX_YAML_BYTES",
    "check_regular_file",
    "read_input_bytes",
    "resolve_input_path",
]


def resolve_input_path(path: Path, label: str) -> Path:
    """The absolute path with symlinks followed; a loop or an unreadable link is an error."""
    try:
        return path.resolve(strict=True)
    except FileNotFoundError:
        raise InputError([Problem(label, "file not found")]) from None
    except RuntimeError:  # Python 3.11 raises RuntimeError for a symlink loop
        raise InputError([Problem(label, "symbolic link loop")]) from None
    except OSError as exc:
        raise InputError([Problem(label, f"cannot open: {_reason(exc)}")]) from None


def check_regular_file(path: Path, label: str, max_bytes: int) -> Path:
    """Resolve ``path`` and check that it is a regular file of at most ``max_bytes``."""
    real = resolve_input_path(path, label)
    try:
        info = real.stat()
    except OSError as exc:
        raise InputError([Problem(label, f"cannot open: {_reason(exc)}")]) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError([Problem(label, "is a folder; expected a file")])
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            [Problem(label, "not a regular file (a device, FIFO or socket); expected a file")]
        )
    if info.st_size > max_bytes:
        raise InputError([Problem(label, _too_large(info.st_size, max_bytes))])
    return real


def read_input_bytes(path: Path, label: str, max_bytes: int) -> bytes:
    """The content of a regular input file, at most ``max_bytes`` long (else InputError)."""
    real = check_regular_file(path, label, max_bytes)
    try:
        fd = os.open(
            real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as exc:
        raise InputError([Problem(label, f"cannot open: {_reason(exc)}")]) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the check
            raise InputError([Problem(label, "not a regular file; expected a file")])
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError([Problem(label, _too_large(len(data), max_bytes))])
    return data


def read_input_text(path: Path, label: str, max_bytes: int) -> str:
    """UTF-8 text of a regular input file (a byte-order mark is dropped)."""
    data = read_input_bytes(path, label, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(label, f"not UTF-8 text: {exc}")]) from None


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"file too large ({size:,} bytes; the limit is {max_bytes:,} bytes, "
        "see docs/reference/limits.md)"
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
