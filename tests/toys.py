"""The toy scenarios the tests share: a 4 × 4 lattice district that runs in well under a
second (as a :class:`Scenario` and as a TOML file), an M/M/c queue, and a researcher's
policy module outside urbangrid."""

from __future__ import annotations

import copy
import textwrap
import uuid
from pathlib import Path

from tests.shared import SIM_DATA
from urbangrid.simulation import Scenario

#: The toy: 4 × 4 cells in 2 sub-districts, 300 cases a day, three crews, 2 days after
#: half a day of warm-up. Tests that need other values pass them as overrides.
TOY = {
    "name": "toy",
    "run.days": 2, "run.warmup_days": 0.5, "run.processes": 1,
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
    """The toy scenario (:data:`TOY`) with dotted-path ``overrides``.

    :data:`TOY` is copied first: an override of a crew field (``"crews.0.capacity"``)
    is applied in place to the crew list it was given.
    """
    return Scenario().replace({**copy.deepcopy(TOY), **overrides})


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
    """Write a toy scenario TOML file, one day and 2 replications (``extra`` is appended
    verbatim), for the command-line tests."""
    path = folder / f"{name}.toml"
    path.write_text(TOY_TOML.format(name=name, extra=extra), encoding="utf-8")
    return path


def mmc_scenario(c: int, lam_per_h: float, days: float, warmup: float) -> Scenario:
    """One cell, one category with exponential work (mean 30 min), ``c`` identical
    always-on teams of capacity 1, no delays or loops: an M/M/c queue."""
    return Scenario().replace({
        "name": "mmc",
        "run.days": days, "run.warmup_days": warmup, "run.processes": 1,
        "district.source": "toy", "district.toy_rows": 1, "district.toy_cols": 1,
        "district.toy_subdistricts": 1,
        "demand.cases_per_day": lam_per_h * 24, "demand.event_share": None,
        "demand.hour_of_day": [1.0] * 24, "demand.day_of_week": [1.0] * 7,
        "channels.iot.share": 0.0, "channels.patrol.share": 0.0,
        "channels.hotline.share": 0.0, "channels.other.share": 1.0,
        "catalogue.file": str(SIM_DATA / "mmc_catalogue.csv"),
        "crews": [{"name": "server", "skills": ["service"], "district_wide": c,
                   "capacity": 1, "shift": "always"}],
        "workflow.register_mean_min_urgent": 0.0, "workflow.register_mean_min_normal": 0.0,
        "workflow.sign_mean_min": 0.0, "workflow.misroute_prob": 0.0,
        "workflow.feedback_mean_min": 0.0, "workflow.rework_prob": 0.0,
        "inspectors.verify_delay_min": 0.0, "inspectors.shift": "always",
        "dispatch.on_events": "all", "dispatch.interval_s": 86400.0,
        "dispatch.batch_per_slot": 1,
    })


#: A researcher's policy module: ``closest`` is a policy factory (nearest's teams, the
#: answer filled by ``evaluate``) that counts its calls in ``CALLS`` and, when the
#: environment names a file in ``UG_TEST_POLICY_MARK``, writes a line there per call
#: (for runs in other processes); the other names are mistakes the tests refer to.
POLICY_MODULE = """\
import os

from urbangrid.optimizer import evaluate, get_policy

CALLS = []
NOT_CALLABLE = 3


def closest(label="closest"):
    nearest = get_policy("nearest")

    def run(problem):
        CALLS.append(problem.n_tasks)
        mark = os.environ.get("UG_TEST_POLICY_MARK")
        if mark:
            with open(mark, "a", encoding="utf-8") as f:
                f.write(f"{problem.n_tasks}\\n")
        return evaluate(problem, nearest(problem).team).to_assignment(label)

    return run


def plain(problem):  # a policy, not a factory
    raise AssertionError("never called")


def returns_number():
    return 42
"""


def write_policy_module(folder: Path, source: str = POLICY_MODULE) -> str:
    """Write a policy module (:data:`POLICY_MODULE` by default) into ``folder`` under a
    fresh name, so that nothing of another test is cached in ``sys.modules``; returns
    the module name (``folder`` must be on ``sys.path`` or ``PYTHONPATH``)."""
    name = f"ug_test_policies_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return name
