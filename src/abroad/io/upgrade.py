"""``abroad upgrade``: write into scenario.yaml the old value of every changed default it
relies on, so that the file keeps its format-1 meaning and loads without notices.

The edit is textual (comments and layout are kept): the value is added to the mapping where it
belongs, in the mapping's own style (``{..., servers: 1}`` or an indented line). A file whose
layout this cannot edit safely is left alone and the reason given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from abroad.io.errors import InputError, Problem
from abroad.io.scenario import SCENARIO_FILE, load_scenario, scenario_folder
from abroad.model.format_notices import changed_defaults

_SECURITY = re.compile(r"^(?P<indent>[ \t]+)security:(?P<rest>.*)$")


@dataclass(frozen=True)
class Upgrade:
    path: Path
    written: tuple[str, ...]
    """What was written, one line each (``service.security.servers: 1``)."""


def upgrade_scenario(path: str | Path) -> Upgrade:
    """Write the old values of the changed defaults the scenario relies on (none: no change)."""
    folder = scenario_folder(path)
    scenario = load_scenario(folder)
    changes = changed_defaults(scenario)
    file = folder / SCENARIO_FILE
    if not changes:
        return Upgrade(file, ())
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    written = []
    for change in changes:
        if change.path != "service.security.servers":
            raise InputError([Problem(SCENARIO_FILE, f"cannot upgrade {change.path} yet")])
        lines = _add_security_servers(lines)
        written.append("service.security.servers: 1")
    file.write_text("".join(lines), encoding="utf-8")
    if changed_defaults(load_scenario(folder)):
        raise InputError([Problem(SCENARIO_FILE, "upgrade did not remove every notice")])
    return Upgrade(file, tuple(written))


def _add_security_servers(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        m = _SECURITY.match(line.rstrip("\n"))
        if m is None:
            continue
        rest = m["rest"]
        code, hash_, comment = rest.partition(" #")
        stripped = code.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            gap = code[len(code.rstrip()) :]  # the spacing before a comment, kept
            new_code = code.rstrip()[:-1].rstrip() + ", servers: 1}" + gap
            lines[i] = f"{m['indent']}security:{new_code}{hash_}{comment}\n"
            return lines
        if stripped == "":
            inner = _child_indent(lines, i, m["indent"])
            lines.insert(i + 1, f"{inner}servers: 1   # format 1 default (abroad upgrade)\n")
            return lines
    raise InputError(
        [
            Problem(
                SCENARIO_FILE,
                "cannot find the service.security mapping to add `servers: 1`; add it by hand",
                path="service.security",
            )
        ]
    )


def _child_indent(lines: list[str], i: int, indent: str) -> str:
    for line in lines[i + 1 :]:
        if line.strip() and not line.lstrip().startswith("#"):
            child = line[: len(line) - len(line.lstrip())]
            if len(child) > len(indent):
                return child
            break
    return indent + "  "
