"""Simulate a log's own period with a scenario, reduced to what a comparison needs.

Used by the validation (:mod:`urbangrid.calibration.validation`) and by the calibration's
pilot correction (:mod:`urbangrid.calibration.pipeline`), so it imports neither.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.calendar import DAY

from .logs import CleanLog, holiday_dates

__all__ = ["read_calibration", "simulate_period"]


def read_calibration(scenario_path: str | Path) -> dict[str, Any] | None:
    """The ``SCENARIO.calibration.json`` written beside a calibrated scenario, or None."""
    p = Path(scenario_path).with_suffix(".calibration.json")
    if p.is_file():
        return json.loads(p.read_text(encoding="utf-8"))
    return None


def simulate_period(scenario_path: str | Path, clean: CleanLog, *, replications: int = 1,
                    seed: int | None = None, drain_days: float = 14.0,
                    calibration: dict[str, Any] | None = None,
                    processes: int | None = None) -> dict[str, np.ndarray]:
    """Simulate the window of ``clean`` (plus ``drain_days``) and pool the requests.

    The run starts at midnight opening the window with no warm-up (the calibrated model
    holds no backlog beyond the preparation stage, which starts with each request) and
    ends ``drain_days`` after the window, so every request of the window has at least
    that much follow-up. Holidays of the new period get the calibration's holiday factor.
    Replications run in ``processes`` worker processes (default: one per core) through
    :func:`urbangrid.simulation.run_tasks`; the result does not depend on how many.

    Returns
    -------
    dict
        Arrays over simulated requests made inside the window, all replications:
        ``rep``, ``requested`` (datetime64), ``category`` (codes), ``channel``,
        ``h3``, ``handling_days`` (NaN when not closed by the end of the run),
        ``closed_same_day`` (bool); and ``n_reps``.
    """
    from urbangrid.simulation import load_scenario, process_count, run_tasks

    scenario_path = Path(scenario_path)
    sc = load_scenario(scenario_path)
    cal = calibration if calibration is not None else read_calibration(scenario_path)
    t0, t1 = clean.window
    start = t0.normalize()
    days = math.ceil((t1 - start) / pd.Timedelta(days=1)) + drain_days
    over: dict[str, Any] = {"run.start": start.strftime("%Y-%m-%dT%H:%M"),
                            "run.days": float(days), "run.warmup_days": 0.0,
                            "output.events": False}
    if cal and cal.get("holidays", {}).get("factor") is not None:
        hol = holiday_dates(cal["holidays"]["rule"], start.date(),
                            (start + pd.Timedelta(days=days)).date())
        f = max(float(cal["holidays"]["factor"]), 0.0)
        over["demand.surges"] = [{"start_day": float((pd.Timestamp(d) - start).days),
                                  "days": 1.0, "factor": f} for d in sorted(hol)]
    sc = sc.replace(over)
    seed = sc.run.seed if seed is None else int(seed)
    reps = int(replications)
    jobs = [(sc, seed, r, start, t0, t1) for r in range(reps)]
    procs = process_count(processes)
    workers = min(procs, reps) if reps > 1 and procs > 1 else 0
    # Results come back in replication order: independent of the process count.
    results = run_tasks(_one_replication, jobs, workers=workers, districts=[sc])
    parts = {k: [res[k] for res in results] for k in results[0]}
    out = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    out["n_reps"] = int(replications)
    out["resolution"] = sc.district.resolution
    out["drain_days"] = float(drain_days)
    return out


def _one_replication(job) -> dict[str, np.ndarray]:
    """One replication reduced to the arrays the comparison needs (picklable)."""
    from urbangrid.catalogue import CHANNELS
    from urbangrid.simulation import Status, simulate

    sc, seed, r, start, t0, t1 = job
    res = simulate(sc, seed=seed, replication=r)
    c = res.cases
    base = np.datetime64(start.to_datetime64(), "ms")
    req = base + (c["t_report"] * 1000).astype("timedelta64[ms]")
    sel = (req >= np.datetime64(t0.to_datetime64(), "ms")) & \
        (req <= np.datetime64(t1.to_datetime64(), "ms"))
    closed = c["status"] == Status.CLOSED
    h = np.where(closed, (c["t_close"] - c["t_report"]) / DAY, np.nan)
    day_r = np.floor((c["t_report"] - res.calendar.day_offset) / DAY)
    day_c = np.floor((np.nan_to_num(c["t_close"], nan=-1e18) - res.calendar.day_offset)
                     / DAY)
    return {
        "rep": np.full(int(sel.sum()), r),
        "requested": req[sel],
        "category": np.asarray(res.catalogue.code, dtype=object)[c["category"][sel]],
        "channel": np.asarray(CHANNELS, dtype=object)[c["channel"][sel]],
        "h3": np.asarray(res.space.h3, dtype=object)[c["cell"][sel]],
        "handling_days": h[sel],
        "closed_same_day": (closed & (day_r == day_c))[sel],
    }
