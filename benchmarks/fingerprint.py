"""Fingerprints of the engine's behaviour: the check that a refactoring changed nothing.

A refactoring of the simulation or the optimizer must leave every output bit for bit as
it was. This tool runs a fixed set of reference runs and optimizer calls and hashes what
they produce:

- nine simulation runs (the integrated scenario with four policies and both other
  ``on_events`` modes, the legacy scenario, a longer ``mcf`` run, the multi-crew
  what-if): SHA-256 over the event log, the case table and the KPIs of each;
- the optimizer's records: :func:`~urbangrid.optimizer.solve` per method and every
  registered built-in policy on seeded random problems (team, reason, cost, ETA,
  objective, status), and :func:`~urbangrid.optimizer.assign` on raw cost matrices.

``python -m benchmarks.fingerprint --write`` stores them in
``benchmarks/fingerprints.json``; ``python -m benchmarks.fingerprint`` (``make
fingerprint``) recomputes them and exits 1 naming every entry that differs. A change
that is *meant* to change behaviour re-writes the file in the same commit, so the diff
shows which outputs moved. Timings, solver wall times and other run statistics are left
out: they are not behaviour.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STORE = HERE / "fingerprints.json"

#: Reference simulation runs: name -> (scenario file, overrides). Two simulated days after
#: each file's own warm-up and drain keep the whole set near a minute.
SIM_RUNS: dict[str, tuple[str, dict]] = {
    "integrated_mcf": ("scenarios/jingan_integrated.toml", {"dispatch.policy": "mcf"}),
    "integrated_nearest": ("scenarios/jingan_integrated.toml", {"dispatch.policy": "nearest"}),
    "integrated_legacy_policy": ("scenarios/jingan_integrated.toml",
                                 {"dispatch.policy": "legacy"}),
    "integrated_greedy": ("scenarios/jingan_integrated.toml", {"dispatch.policy": "greedy"}),
    "legacy": ("scenarios/jingan_legacy.toml", {}),
    "integrated_on_events_all": ("scenarios/jingan_integrated.toml",
                                 {"dispatch.on_events": "all"}),
    "integrated_on_events_none": ("scenarios/jingan_integrated.toml",
                                  {"dispatch.on_events": "none"}),
    "integrated_mcf_10d": ("scenarios/jingan_integrated.toml",
                           {"dispatch.policy": "mcf", "run.days": 10}),
    # multi-crew tasks (cpsat, every round through Python): a day of warm-up and drain
    # keep it short
    "joint_crews": ("scenarios/whatif_joint_crews.toml",
                    {"run.warmup_days": 1, "run.drain_days": 1}),
}
_SIM_DEFAULTS = {"run.days": 2, "run.replications": 1, "run.seed": 20261127}

SOLVE_METHODS = ("mcf", "mcf_dense", "greedy", "cpsat")
PROBLEM_SIZES = ((1, 1), (5, 3), (30, 20), (120, 80), (400, 60))


def _digest(h, value) -> None:
    """Feed ``value`` into hash ``h`` canonically (arrays by dtype, shape and bytes)."""
    if isinstance(value, dict):
        for k in sorted(value):
            h.update(repr(k).encode())
            _digest(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"seq{len(value)}".encode())
        for v in value:
            _digest(h, v)
    elif isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (float, np.floating)):
        h.update(float(value).hex().encode())
    else:
        h.update(repr(value).encode())


def digest(value) -> str:
    h = hashlib.sha256()
    _digest(h, value)
    return h.hexdigest()[:16]


def simulation_fingerprints(only: str | None = None) -> dict[str, str]:
    from urbangrid.simulation import compute_kpis, load_scenario, simulate

    out = {}
    for name, (path, overrides) in SIM_RUNS.items():
        if only and only not in name:
            continue
        scenario = load_scenario(ROOT / path, {**_SIM_DEFAULTS, **overrides})
        r = simulate(scenario)
        kpis = compute_kpis(r)
        out[f"sim/{name}"] = digest({"events": r.events, "cases": r.cases, "kpis": kpis})
        print(f"  sim/{name}: {out[f'sim/{name}']} ({r.n_events:,} events)", file=sys.stderr)
    return out


def _assignment_record(a) -> dict:
    return {"team": a.team, "reason": a.reason, "cost": a.cost, "eta": a.eta,
            "objective": a.objective, "method": a.method, "status": a.status,
            "order": a.order, "crew_teams": a.crew_teams}


def optimizer_fingerprints() -> dict[str, str]:
    from urbangrid.optimizer import assign, get_policy, solve
    from urbangrid.optimizer._random import random_problem

    out = {}
    problems = []
    for k, (n, m) in enumerate(PROBLEM_SIZES):
        problems.append((f"{n}x{m}", random_problem(k, n_tasks=n, n_teams=m)))
        problems.append((f"{n}x{m}_pinned", random_problem(
            100 + k, n_tasks=n, n_teams=m, pinned=0.2, current=0.2, capacity=(1, 4))))
    for label, p in problems:
        for method in SOLVE_METHODS:
            if method == "cpsat" and p.task_id.shape[0] > 120:
                continue
            out[f"solve/{method}/{label}"] = digest(_assignment_record(solve(p, method)))
        for policy in ("nearest", "legacy", "greedy", "mcf"):
            out[f"policy/{policy}/{label}"] = digest(_assignment_record(get_policy(policy)(p)))
    for k, (n, m) in enumerate(((50, 40), (300, 200), (2000, 300))):
        rng = np.random.default_rng(k)
        costs = rng.uniform(0, 3600, (n, m))
        costs[rng.random((n, m)) < 0.4] = np.inf
        cap = rng.integers(1, 4, m)
        r = assign(costs, cap, rng.uniform(1000, 5000, n), balance=60.0)
        out[f"assign/{n}x{m}"] = digest({"team": r.team, "reason": r.reason,
                                         "objective": r.objective, "status": r.status})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fingerprint", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help=f"store the fingerprints in {STORE}")
    ap.add_argument("--only", choices=("sim", "opt"), help="one part only")
    args = ap.parse_args(argv)
    got: dict[str, str] = {}
    if args.only in (None, "opt"):
        got.update(optimizer_fingerprints())
    if args.only in (None, "sim"):
        got.update(simulation_fingerprints())
    if args.write:
        stored = json.loads(STORE.read_text()) if STORE.exists() else {}
        stored.update(got)
        STORE.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
        print(f"wrote {len(got)} fingerprints to {STORE}")
        return 0
    want = json.loads(STORE.read_text())
    bad = [k for k in got if want.get(k) != got[k]]
    missing = [k for k in got if k not in want]
    for k in bad:
        print(f"DIFFERS {k}: stored {want.get(k)}, now {got[k]}")
    print(f"{len(got) - len(bad)} of {len(got)} fingerprints as stored"
          + (f" ({len(missing)} not stored)" if missing else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
