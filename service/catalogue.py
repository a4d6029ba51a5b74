"""The Open311 service list, read from the simulation's case catalogue data file.

The catalogue module itself lives in ``urbangrid.simulation``, whose package imports
SimPy; the service must not load SimPy, so it reads the same data file
(``simulation/data/categories.csv``, the one source of truth) without importing that
package: ``find_spec`` locates a subpackage without executing its ``__init__``.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from urbangrid.grid.errors import InputError

__all__ = ["Service", "load_services"]

_URGENCY_PRIORITY = {"normal": 1.0, "high": 2.0, "urgent": 3.0}
# handling limits as elapsed seconds. Working hours and days are counted as calendar time:
# the service has no working-day calendar (the simulation's lives behind SimPy imports),
# so a deadline set out of office hours comes earlier than the regulation's.
_UNIT_SECONDS = {"calendar_hours": 3600.0, "working_hours": 3600.0, "working_days": 86400.0}
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
    limit_seconds: float
    work_seconds: float

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


def _default_path() -> Path:
    spec = importlib.util.find_spec("urbangrid.simulation")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the case catalogue (urbangrid.simulation data) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "categories.csv"


def load_services(path: str | Path | None = None) -> dict[str, Service]:
    """Services by code from a catalogue CSV (default: the shipped catalogue)."""
    path = Path(path) if path else _default_path()
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read the catalogue: {exc}", source=str(path)) from None
    out: dict[str, Service] = {}
    for k, r in enumerate(rows):
        try:
            out[r["code"]] = Service(
                code=r["code"], name=r["name_en"], name_zh=r["name_zh"], kind=r["kind"],
                group=r["group"], skill=r["skill"],
                priority=_URGENCY_PRIORITY[r["urgency"]],
                limit_seconds=float(r["limit"]) * _UNIT_SECONDS[r["limit_unit"]],
                work_seconds=float(r["work_mean_min"]) * 60.0)
        except (KeyError, ValueError) as exc:
            raise InputError(f"row {k + 2}: bad or missing field {exc}", source=str(path)) from None
    return out
