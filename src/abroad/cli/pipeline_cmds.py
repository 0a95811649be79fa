"""Commands: pipeline_cmds (registered on import)."""

from __future__ import annotations
