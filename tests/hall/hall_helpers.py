"""Toy hall scenarios for the hall tests: small enough that a run takes well under a
second."""

from __future__ import annotations

import copy
from pathlib import Path

from urbangrid.hall.scenario import HallScenario

DATA = Path(__file__).resolve().parent / "data"

#: 120 hall requests a weekday, 8 comprehensive windows, 2 small sub-district centres,
#: 2 days after a day of warm-up, a 10-day drain; one process.
TOY_HALL = {
    "name": "toy_hall",
    "run.days": 2, "run.warmup_days": 1, "run.drain_days": 10, "run.processes": 1,
    "run.replications": 1,
    "hall.demand.hall_requests_per_day": 120,
    "hall.subdistrict.centres": 2, "hall.subdistrict.counters": 2,
    "hall.counters": [{"name": "comprehensive", "count": 8, "skills": ["*"]}],
}

TOY_TOML = """\
name = "{name}"
[run]
days = 2
warmup_days = 1
drain_days = 10
processes = 1
replications = 1
[hall.demand]
hall_requests_per_day = 120
[hall.subdistrict]
centres = 2
counters = 2
[[hall.counters]]
name = "comprehensive"
count = {count}
skills = {skills}
hours = "{hours}"
"""


def toy_hall(**overrides) -> HallScenario:
    """The toy hall (:data:`TOY_HALL`) with dotted-path ``overrides``."""
    return HallScenario().replace({**copy.deepcopy(TOY_HALL), **overrides})


def toy_toml(path: Path, *, name: str = "toy_hall", count: int = 8,
             skills: str = '["*"]', hours: str = "09:00-17:00", extra: str = "") -> Path:
    """Write the toy hall as a TOML file (with ``extra`` text appended)."""
    path.write_text(TOY_TOML.format(name=name, count=count, skills=skills, hours=hours)
                    + extra, encoding="utf-8")
    return path
