"""Services-hall benchmark: one simulated week of the Jing'an hall.

The week is ``scenarios/jingan_services_hall.toml`` with 7 days, no warm-up and no
drain: about 600 hall requests a weekday, the 14 sub-district centres, the online
channel and the back offices (all arrivals of the week, every counter). There is no
natural floor for it, so the ratio is against :func:`harness.calibration_seconds` (a
fixed mixed NumPy + interpreter workload timed in the same process), as the optimizer's
benchmarks do. The issue's target: a simulated week takes seconds.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from urbangrid.hall.model import HallModel, build_plan
from urbangrid.hall.scenario import load_hall_scenario

from .harness import Measurement, calibration_seconds

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "jingan_services_hall.toml"


def _week(repeats: int) -> Measurement:
    sc = load_hall_scenario(SCENARIO, {"run.days": 7, "run.warmup_days": 0,
                                       "run.drain_days": 0})
    plan = build_plan(sc)  # catalogue and plan outside the timing
    HallModel(plan, sc.run.seed, 0).run()  # imports and first-call costs untimed
    seconds = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        run = HallModel(plan, sc.run.seed, 0).run()
        seconds = min(seconds, time.perf_counter() - t)
    cal = calibration_seconds()
    return Measurement("hall_week", seconds, "calibration workload (harness)", cal,
                       extra={"requests": int(len(run.requests["t_arrive"])),
                              "visits": int(len(run.visits["t_ticket"]))})


def run(quick: bool) -> list[Measurement]:
    return [_week(3 if quick else 5)]  # the fastest of a few: one week is 0.3 s
