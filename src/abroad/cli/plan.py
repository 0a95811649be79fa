"""Commands: plan (registered on import)."""

from __future__ import annotations
