"""The Open311 service list: the case catalogue of the domain layer, as request types.

One source of truth: the categories come from :func:`urbangrid.catalogue.load_catalogue`
(the same file and validation the simulation uses) and a request's deadline from
:func:`urbangrid.catalogue.due_at`, so working hours and working days follow the Chinese
working-day calendar (holidays, make-up days) exactly as in the simulation. Neither
imports SimPy or the simulation engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from urbangrid.catalogue import due_at, load_catalogue

__all__ = ["Service", "load_services"]

_GROUP_NAME = {"component": "components 部件", "event": "events 事件"}


@dataclass(frozen=True)
class Service:
    """One request type (a case category)."""

    code: str
    name: str
    name_zh: str
    kind: str
    group: str
    skill: str
    priority: float
    limit: float
    limit_unit: str
    work_seconds: float

    def deadline(self, requested: float) -> float:
        """Deadline (POSIX seconds) of a request of this type made at ``requested``
        (POSIX seconds): the category limit on the working-day calendar."""
        filed = dt.datetime.fromtimestamp(requested, dt.UTC)
        return due_at(filed, self.limit, self.limit_unit).timestamp()

    def open311(self) -> dict:
        """The Open311 ``service`` record."""
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": f"{self.name_zh} / {self.name} ({self.group})",
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join([self.name_zh, self.name, self.group]),
            "group": _GROUP_NAME.get(self.kind, self.kind),
        }


def load_services(path: str | Path | None = None) -> dict[str, Service]:
    """Services by code, in catalogue order, from a catalogue CSV (default: the built-in
    catalogue); a bad file raises :class:`urbangrid.InputError` naming row and column."""
    cat = load_catalogue(path)
    return {
        cat.code[k]: Service(
            code=cat.code[k], name=cat.name_en[k], name_zh=cat.name_zh[k], kind=cat.kind[k],
            group=cat.group[k], skill=cat.skill[k], priority=float(cat.priority[k]),
            limit=float(cat.limit[k]), limit_unit=cat.limit_unit[k],
            work_seconds=float(cat.work_mean_s[k]))
        for k in range(cat.n)
    }
