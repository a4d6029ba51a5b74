"""Measure the engine: ``python -m urbangrid.simulation.measure [--days N] [--policy P]``.

Runs the built-in Jing'an scenario (6,500 cases/day) for ``--days`` simulated days with
the given policy, then a *bare SimPy floor*: a model with no logic that processes the
same number of SimPy events (chains of timeouts with an empty callback, one chain per
case, with the same number of events per case). Prints wall time, events per second,
time per simulated day, the ratio to the floor, the dispatch policy's share, and peak
memory (max RSS of this process).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time

import numpy as np

__all__ = ["bare_simpy_floor", "main", "measure"]


def bare_simpy_floor(n_cases: int, events_per_case: float, horizon_s: float,
                     seed: int = 0) -> float:
    """Seconds for SimPy to process ``n_cases × events_per_case`` events with no logic.

    Each case is a chain of timeouts scheduled from its arrival, like the model's
    callback-per-stage design, so the event-queue size is comparable.
    """
    from simpy import Environment
    from simpy.events import NORMAL, Event

    rng = np.random.default_rng(seed)
    arrivals = np.sort(rng.random(n_cases) * horizon_s).tolist()
    k = max(int(round(events_per_case)), 1)
    env = Environment()

    class _Call(Event):
        def __init__(self, env, delay, callback, value):
            self.env = env
            self.callbacks = [callback]
            self._value = value
            self._ok = True
            env.schedule(self, NORMAL, delay)

    left = [k - 1] * n_cases

    def step(ev):
        c = ev._value
        if left[c] > 0:
            left[c] -= 1
            _Call(env, 600.0, step, c)

    for c, t in enumerate(arrivals):
        _Call(env, t, step, c)
    gc.collect()
    gc.freeze()
    t0 = time.perf_counter()
    env.run()
    dt = time.perf_counter() - t0
    gc.unfreeze()
    return dt


def measure(days: float = 1.0, policy: str = "nearest", seed: int = 1,
            overrides: dict | None = None) -> dict:
    """Run the Jing'an scenario and the bare floor; return the figures."""
    from .run import simulate
    from .scenario import Scenario

    sc = Scenario().replace({"run.days": days, "run.warmup_days": 0.0,
                             "dispatch.policy": policy, **(overrides or {})})
    # Load the district and its travel times once, outside the timing.
    simulate(sc.replace({"run.days": 0.05}), seed=seed)
    res = simulate(sc, seed=seed)
    n_cases = int(res.cases["status"].size)
    # Events SimPy scheduled in the run (its event-id counter).
    n_events = int(res.stats["simpy_events"])
    run_s = res.stats["run_seconds"]
    floor = bare_simpy_floor(n_cases, n_events / max(n_cases, 1), days * 86400.0, seed)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "days": days, "policy": policy, "cases": n_cases, "simpy_events": n_events,
        "log_rows": res.n_events,
        "run_seconds": run_s, "seconds_per_day": run_s / days,
        "events_per_second": n_events / run_s,
        "policy_calls": res.stats["policy_calls"],
        "policy_seconds": res.stats["policy_seconds"],
        "dispatch_rounds": res.stats["dispatch_rounds"],
        "dispatch_seconds_incl_policy": res.stats["dispatch_seconds"],
        "bare_simpy_seconds": floor, "ratio_to_bare_simpy": run_s / floor,
        "year_extrapolated_seconds": run_s / days * 365.0,
        "peak_rss_mb": rss_mb, "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m urbangrid.simulation.measure",
                                description=__doc__.splitlines()[0])
    p.add_argument("--days", type=float, default=1.0)
    p.add_argument("--policy", default="nearest")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON only")
    args = p.parse_args(argv)
    r = measure(args.days, args.policy, args.seed)
    if args.json:
        print(json.dumps(r))
        return 0
    for k, v in r.items():
        print(f"{k:>26}: {v:,.3f}" if isinstance(v, float) else f"{k:>26}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
