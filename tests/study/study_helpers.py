"""Tiny toy-district scenarios for the study tests (compare, report, sweep)."""

from pathlib import Path

from urbangrid.simulation import Scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"

# A 4 × 4 lattice, 300 cases a day, a day after half a day of warm-up: well under a second.
TOY = {
    "name": "toy",
    "run.days": 1, "run.warmup_days": 0.5, "run.processes": 1, "run.replications": 3,
    "district.source": "toy", "district.toy_rows": 4, "district.toy_cols": 4,
    "district.toy_subdistricts": 2,
    "demand.cases_per_day": 300,
    "crews": [
        {"name": "sanitation", "skills": ["sanitation"], "per_subdistrict": 2},
        {"name": "city", "skills": ["city_management", "housing"], "per_subdistrict": 3,
         "shift": "day"},
        {"name": "works", "skills": ["facilities", "greenery", "utilities"],
         "district_wide": 2, "mode": "car"},
    ],
}


def toy_scenario(**overrides) -> Scenario:
    """The toy scenario with dotted-path ``overrides``."""
    return Scenario().replace({**TOY, **overrides})


TOY_TOML = """\
name = "{name}"
[run]
days = 1
warmup_days = 0.5
replications = 2
processes = 1
[district]
source = "toy"
toy_rows = 4
toy_cols = 4
[demand]
cases_per_day = 300
{extra}
"""


def write_toy(folder: Path, name: str, extra: str = "") -> Path:
    """Write a toy scenario TOML file (``extra`` is appended verbatim)."""
    path = folder / f"{name}.toml"
    path.write_text(TOY_TOML.format(name=name, extra=extra), encoding="utf-8")
    return path
