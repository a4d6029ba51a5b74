"""Is a scenario in steady state, and how busy are its crews? The evidence a reference
scenario's header cites (``scenarios/reference_stressed.toml``).

    python -m benchmarks.steady_state SCENARIO.toml [--days 21] [--seed N]
                                      [--replication 0] [--set KEY=VALUE ...]

Runs one replication (the drain is cut to one day: it adds nothing to what is measured
here) and prints:

* each crew skill's teams and utilisation in the window, (travel + work) / on-duty
  time as ``utilisation_mean`` defines it (:mod:`urbangrid.simulation.kpis`);
* the daily mean of the open cases waiting for the crews (registration, dispatch pool,
  crew queue, verification: ``backlog_crew_mean``'s split, day by day) and for the
  offices (work orders with an office), the mean of the first and of the last week and
  the least-squares slope of the crews' series per day with its standard error: a
  steady crew pool has a slope within a few standard errors of zero and a last week
  like the first;
* the run-time guards' warnings (:func:`urbangrid.simulation.run_warnings`), which read
  the backlog of all open cases, offices included (not ``censored``: with the drain cut
  the window's last cases are open by design, and handling times are not judged here).

Saturation is a property of the crews' pool: the offices' backlog of long work orders
still fills for weeks after a 15-day warm-up at any crew staffing (the integrated
scenario's guard says "growing" with crews 45 % busy), so the crews' series is the one
that says whether the crews keep up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import stats

from urbangrid.calendar import DAY
from urbangrid.errors import InputError
from urbangrid.simulation import load_scenario, parse_overrides, simulate
from urbangrid.simulation.kpis import _backlog_split


def skill_utilisation(result) -> dict[str, dict[str, float]]:
    """Per crew skill, and per skill and shift (``"greenery/night"``): the teams holding
    it and their mean utilisation in the window (``utilisation_mean``'s rule, restricted
    to those teams)."""
    teams = result.teams
    duty = np.array([teams["patterns"][p].on_duty_seconds(result.t_stats, result.t_end)
                     for p in teams["pattern"]])
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(duty > 0, teams["busy_s"] / duty, np.nan)
    shifts = list(result.scenario.shifts)
    out = {}
    for b, skill in enumerate(result.catalogue.skills):
        has = (teams["skills"] >> b) & 1 == 1
        groups = [(skill, has)]
        patterns = np.unique(teams["pattern"][has])
        if patterns.size > 1:
            groups += [(f"{skill}/{shifts[k]}", has & (teams["pattern"] == k)) for k in patterns]
        for key, sel in groups:
            if sel.any():
                u = util[sel]
                out[key] = {"teams": int(sel.sum()),
                            "utilisation": float(np.nanmean(u)) if np.isfinite(u).any()
                            else float("nan")}
    return out


def daily_pools(result) -> tuple[np.ndarray, np.ndarray]:
    """Daily time-weighted means of the open cases with the crews and with the offices
    over the window's whole days (:func:`~urbangrid.simulation.kpis` ``_backlog_split``
    on each day)."""
    days = int((result.t_end - result.t_stats) // DAY)
    crew, office = np.empty(days), np.empty(days)
    for d in range(days):
        a = result.t_stats + d * DAY
        window = SimpleNamespace(cases=result.cases, events=result.events,
                                 scenario=result.scenario, t_stats=a, t_end=a + DAY)
        crew[d], office[d] = _backlog_split(window)
    return crew, office


def trend(series: np.ndarray) -> dict[str, float]:
    """First and last week's means and the least-squares slope per day (± its standard
    error) of a daily series."""
    fit = stats.linregress(np.arange(series.size, dtype=float), series)
    week = min(7, series.size)
    return {"first_week": float(series[:week].mean()), "last_week": float(series[-week:].mean()),
            "slope_per_day": float(fit.slope), "slope_se": float(fit.stderr)}


def measure(scenario, *, seed: int | None = None, replication: int = 0) -> dict[str, Any]:
    """The steady-state evidence of one replication of ``scenario`` (see the module
    docstring)."""
    from urbangrid.simulation import check_warmup, compute_kpis, run_warnings

    result = simulate(scenario, seed=seed, replication=replication)
    kpis = compute_kpis(result)
    crew, office = daily_pools(result)
    all_kpis = {k: {"mean": v} for k, v in kpis["all"].items()}
    return {
        "scenario": scenario.name, "days": scenario.run.days, "seed": result.seed,
        "replication": replication,
        "utilisation_mean": kpis["all"]["utilisation_mean"],
        "skills": skill_utilisation(result),
        "crew_pool": trend(crew), "office_backlog": trend(office),
        "crew_pool_daily": crew.round(1).tolist(), "office_backlog_daily": office.round(1).tolist(),
        "on_time_rate": kpis["all"]["on_time_rate"],
        "waiting_end": result.stats["waiting_end"],
        # handling times are censored by the cut drain, on purpose: not judged here
        "warnings": [w for w in run_warnings(all_kpis, result, check_warmup(result))
                     if not w.startswith("censored")],
    }


def report(doc: dict[str, Any]) -> str:
    """The evidence as text."""
    lines = [f"{doc['scenario']}: {doc['days']:g} days after warm-up, seed {doc['seed']}, "
             f"replication {doc['replication']}",
             f"crew utilisation (all teams) {doc['utilisation_mean']:.1%}"]
    for skill, row in doc["skills"].items():
        lines.append(f"  {skill:<16} {row['teams']:>4} teams  {row['utilisation']:.1%}")
    for key, label in (("crew_pool", "open cases with the crews"),
                       ("office_backlog", "open cases with the offices")):
        t = doc[key]
        lines.append(f"{label}: first week {t['first_week']:,.0f}, last week "
                     f"{t['last_week']:,.0f}, slope {t['slope_per_day']:+.1f} ± "
                     f"{t['slope_se']:.1f} per day")
    lines.append(f"waiting in the dispatch pool at the end: {doc['waiting_end']}")
    lines.append(f"on-time {doc['on_time_rate']:.1%} (overdue open cases count as late)")
    lines += [f"warning: {w}" for w in doc["warnings"]] or ["warnings: none"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.steady_state", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", type=Path)
    ap.add_argument("--days", type=float, default=21.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--replication", type=int, default=0)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", type=Path, default=None, help="also write the evidence here")
    args = ap.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
        changes = {"run.days": args.days, "run.drain_days": 1.0,
                   **parse_overrides(args.sets)}
        scenario = scenario.replace(changes)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    doc = measure(scenario, seed=args.seed, replication=args.replication)
    print(report(doc))
    if args.json is not None:
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
