"""YAML reading with the surprises of YAML 1.1 removed, safe against hostile files.

PyYAML reads ``8:00`` as the base-60 integer 480, ``no`` as False, and crashes on a date such as
``2024-02-30``. Scenario files are full of clock times and dates, so this loader keeps ``h:mm``
and dates as text (validated later, with a located message) and accepts only ``true``/``false``
as booleans.

It is also strict where YAML is lenient and safe where it is dangerous: a key given twice in
one mapping is an error (PyYAML keeps the last one silently); nesting deeper than
``MAX_YAML_DEPTH`` is refused before Python's recursion limit is reached; aliases (``*name``)
are limited in number and in the size of what they repeat, so an alias bomb ("billion laughs")
is refused instead of expanding to gigabytes. Files are read through ``abroad.io.files``
(regular files only, size capped).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from abroad.io.errors import InputError, Problem
from abroad.io.files import read_input_text
from abroad.model.limits import MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_DEPTH

MAX_ALIAS_EXPANSION = 10_000
"""Nodes that all aliases together may repeat (an alias of a 3-item list repeats 4 nodes)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like scalars, duplicate-key, depth and alias checks."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise ComposerError(
                    None,
                    None,
                    f"more than {MAX_YAML_ALIASES} aliases (the limit; see "
                    "docs/reference/limits.md)",
                    event.start_mark,
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise ComposerError(
                        None, None, "an alias inside its own anchor (recursive)", event.start_mark
                    )
                self._alias_nodes += size
                if self._alias_nodes > MAX_ALIAS_EXPANSION:
                    raise ComposerError(
                        None,
                        None,
                        f"aliases repeat more than {MAX_ALIAS_EXPANSION:,} nodes in all (the "
                        "limit; an alias bomb?)",
                        event.start_mark,
                    )
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"nested deeper than {MAX_YAML_DEPTH} levels (the limit)",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in _children(node))
        return node

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first.get(key)
                except TypeError:
                    continue  # unhashable: reported by the base class
                if earlier is not None:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {earlier.line + 1}); "
                        "each key may appear once",
                        key_node.start_mark,
                    )
                first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:timestamp",
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
        r"|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def parse_yaml_text(text: str, file_label: str) -> Any:
    """Parse YAML text; a syntax error becomes an InputError naming the line and column."""
    if len(text) > MAX_YAML_BYTES:
        raise InputError(
            [Problem(file_label, f"YAML text longer than {MAX_YAML_BYTES:,} characters")]
        )
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InputError(
            [Problem(file_label, f"{where}invalid YAML: {exc.problem or exc}")]
        ) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file_label, f"invalid YAML: {exc}")]) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a 5,000-digit number
        raise InputError([Problem(file_label, f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def read_yaml(path: Path, file_label: str | None = None) -> Any:
    """Read and parse a YAML (or JSON, which is YAML) file: a regular file, size capped."""
    label = file_label or path.name
    return parse_yaml_text(read_input_text(path, label, MAX_YAML_BYTES), label)
