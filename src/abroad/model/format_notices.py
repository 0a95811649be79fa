"""Defaults that changed after a scenario file was written, and the notices that name them.

Format 1 files load unchanged: every new field is optional. Where a file leaves a value to a
default that has since changed, loading it says so (the CLI prints these notices on stderr),
naming the default, its old and new value and how to keep the old meaning. What a file states
explicitly keeps its meaning. docs/reference/scenario-format.md lists the changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from abroad.model.scenario import DEFAULT_SECURITY_LANES, ServiceModel, Site


@dataclass(frozen=True)
class ChangedDefault:
    """One default a scenario relies on whose value changed."""

    path: str
    """Where in scenario.yaml (or which table column) the value would be written."""
    old: str
    new: str
    why: str
    keep_old: str
    """What to write to keep the old meaning."""

    def __str__(self) -> str:
        return (
            f"{self.path} is not set: its default changed from {self.old} to {self.new} "
            f"({self.why}); to keep the old meaning write {self.keep_old} "
            "(`abroad upgrade SCENARIO` does it)"
        )


class HasServiceAndSites(Protocol):
    """What the notices read: a ``Scenario``, or only its service model and sites (so that
    ``abroad validate`` need not keep a million voter places to print them)."""

    @property
    def service(self) -> ServiceModel: ...

    @property
    def sites(self) -> Sequence[Site]: ...


@dataclass(frozen=True)
class ServiceAndSites:
    """A scenario's service model and sites, without its voter places."""

    service: ServiceModel
    sites: tuple[Site, ...]


def changed_defaults(scenario: HasServiceAndSites) -> tuple[ChangedDefault, ...]:
    """The changed defaults this scenario relies on (empty for an up-to-date file)."""
    out = []
    security = scenario.service.security
    if security is not None and "servers" not in security.model_fields_set:
        relying = [
            s.site_id
            for s in scenario.sites
            if s.kind.is_mission and s.available and s.max_security_lanes is None
        ]
        if relying:
            out.append(
                ChangedDefault(
                    path="service.security.servers",
                    old="1 lane",
                    new=f"{DEFAULT_SECURITY_LANES} lanes at every mission without "
                    f"max_security_lanes in the sites table ({', '.join(relying)})",
                    why="one lane at 27 s a person passes about 133 voters an hour, half of "
                    "Berlin 2024; see docs/background/capacity.md",
                    keep_old="`servers: 1` under service.security",
                )
            )
    return tuple(out)
