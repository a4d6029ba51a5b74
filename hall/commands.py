"""The ``urbangrid hall simulate`` and ``urbangrid hall staff`` commands, and the hall
branch of ``urbangrid compare`` (:func:`run_hall_compare`, called by
:mod:`urbangrid.study.commands` when the scenario files have a ``[hall]`` table).

Registering imports only ``argparse`` code; each handler imports the engine when it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from urbangrid.errors import InputError
from urbangrid.study.commands import run_options

__all__ = ["register", "run_hall_compare", "run_hall_simulate", "run_hall_staff"]

log = logging.getLogger("urbangrid.hall")

_COMPARE_ROWS = ("requests_per_day", "wait_min_mean", "wait_min_p90", "counter_utilisation",
                 "trips_per_matter_mean", "trips_over_one_share",
                 "approval_days_working_mean", "approval_days_calendar_mean",
                 "on_time_rate", "online_share")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``hall simulate`` and ``hall staff`` to the ``urbangrid`` command line."""
    hall = subparsers.add_parser(
        "hall", help="the services hall (一网通办): simulate, staff counters",
        description="The district's administrative services hall: its matters, counters, "
        "back offices and online channel.")
    sub = hall.add_subparsers(dest="hall_command", metavar="COMMAND")
    s = sub.add_parser("simulate", help="simulate a hall scenario; write hall_kpis.json "
                       "and report.html",
                       description="Simulate a hall scenario (TOML with a [hall] table). "
                       "Writes DIR/hall_kpis.json (KPIs with 95 % intervals over "
                       "replications) and a self-contained DIR/report.html.")
    s.add_argument("scenario", help="hall scenario TOML file")
    run_options(s)
    s.add_argument("--out", default="results/hall", help="output folder")
    s.set_defaults(func=run_hall_simulate)
    st = sub.add_parser(
        "staff", help="the fewest counter-hours meeting a p90 wait target",
        description="Find the weekday counter schedule (CP-SAT over legal shifts with "
        "breaks) with the fewest counter-hours whose simulated p90 wait at the district "
        "hall meets --target-wait-min; writes DIR/staffing.json and DIR/staffing.png.")
    st.add_argument("scenario", help="hall scenario TOML file")
    st.add_argument("--target-wait-min", type=float, required=True, metavar="M",
                    help="target for the 90th percentile of the wait, minutes")
    st.add_argument("--per-hour", action="store_true",
                    help="every hour of the ticket must meet the target (default: the "
                    "whole day's p90)")
    st.add_argument("--strict", action="store_true",
                    help="the whole 95 %% interval of the simulated p90 must meet the "
                    "target (default: its mean over replications)")
    run_options(st)
    st.add_argument("--out", default="results/hall_staff", help="output folder")
    st.set_defaults(func=run_hall_staff)
    hall.set_defaults(func=lambda args: (hall.print_help(), 2)[1])


def _load(args: argparse.Namespace, path: str | None = None):
    from urbangrid.simulation.scenario import parse_overrides

    from .scenario import load_hall_scenario

    overrides = parse_overrides(args.overrides)
    if args.days is not None:
        overrides["run.days"] = args.days
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.replications is not None:
        overrides["run.replications"] = args.replications
    if getattr(args, "processes", None) is not None:
        overrides["run.processes"] = args.processes
    return load_hall_scenario(path or args.scenario, overrides)


def _out(path: str) -> Path:
    from urbangrid.study.commands import output_folder

    return output_folder(path)


def _fmt(rec: dict[str, Any] | None, fmt: str, difference: bool = False) -> str:
    from urbangrid.study.numbers import estimate_of

    return estimate_of(rec, fmt, difference=difference)


def _kpi_column(table, labels) -> None:
    """The KPI column, never cut: the figures wrap instead."""
    table.add_column("KPI", no_wrap=True, min_width=max(3, *map(len, labels)))


def run_hall_simulate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .kpis import HALL_KPIS, hall_kpis_document, hourly_profile, run_hall_replications
    from .model import build_plan
    from .report import write_hall_report

    scenario = _load(args)
    plan = build_plan(scenario)
    out = _out(args.out)
    t0 = time.perf_counter()
    per_rep, first = run_hall_replications(plan)
    wall = time.perf_counter() - t0
    doc = hall_kpis_document(plan, scenario.run.seed, per_rep)
    (out / "hall_kpis.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    write_hall_report(out, doc, hourly_profile(first))
    if not args.quiet:
        table = Table(title=f"{scenario.name}: {doc['matters']} matters, "
                      f"{doc['departments']} departments, {scenario.run.days:g} days, "
                      f"{len(per_rep)} replication(s), seed {scenario.run.seed}")
        _kpi_column(table, [n for n, _ in HALL_KPIS])
        table.add_column("all (hall)", justify="right")
        for c in doc["by_channel"]:
            table.add_column(c, justify="right")
        for name, fmt in HALL_KPIS:
            table.add_row(name, _fmt(doc.get(name), fmt),
                          *[_fmt(doc["by_channel"][c].get(name), fmt)
                            for c in doc["by_channel"]])
        Console().print(table)
        Console(stderr=True).print(f"wrote {out}/hall_kpis.json and report.html in "
                                   f"{wall:.1f} s of simulation")
    return 0


def run_hall_staff(args: argparse.Namespace) -> int:
    from .report import plot_staffing
    from .staffing import staff_hall

    scenario = _load(args)
    out = _out(args.out)
    t0 = time.perf_counter()
    res = staff_hall(scenario, args.target_wait_min,
                     replications=scenario.run.replications, seed=scenario.run.seed,
                     processes=scenario.run.processes, strict=args.strict,
                     per_hour=args.per_hour,
                     log=None if args.quiet else (lambda s: log.info("%s", s)))
    doc = res.document()
    from urbangrid.simulation.replications import json_safe

    (out / "staffing.json").write_text(
        json.dumps(json_safe(doc), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_staffing(doc, out / "staffing.png")
    if not args.quiet:
        print(f"counter-hours per weekday: {res.counter_hours:g} (scenario's own "
              f"{res.baseline_counter_hours:g}); simulated p90 wait {res.p90_wait_min:.1f} "
              f"min (target {res.target_wait_min:g}; worst hour "
              f"{res.worst_hour_p90_wait_min:.1f} min), mean {res.wait_min_mean:.1f} min")
        for row in res.schedule:
            brk = f", break {row['break']}" if row["break"] else ""
            print(f"  {row['group']}: {row['counters']} x {row['start']}-{row['end']}{brk}")
        print(f"wrote {out}/staffing.json and staffing.png in "
              f"{time.perf_counter() - t0:.1f} s")
    if res.counter_hours > res.baseline_counter_hours:
        log.warning("the schedule needs more counter-hours (%g) than the scenario's own "
                    "(%g)", res.counter_hours, res.baseline_counter_hours)
    return 0


def run_hall_compare(args: argparse.Namespace) -> int:
    """``urbangrid compare`` on hall scenarios: every scenario with the same seed and
    replication indices (common random numbers), paired differences against the first
    (:func:`urbangrid.study.compare.paired_differences`)."""
    from rich.console import Console
    from rich.table import Table

    from urbangrid.simulation.replications import json_safe, summarise
    from urbangrid.study.compare import paired_differences

    from .kpis import HALL_KPIS, run_hall_replications
    from .model import build_plan
    from .report import write_hall_comparison_report
    from .scenario import is_hall_scenario

    bad = [p for p in args.scenarios if not is_hall_scenario(p)]
    if bad:
        raise InputError(f"compare: {bad[0]} is not a hall scenario while "
                         f"{args.scenarios[0] if bad[0] != args.scenarios[0] else 'others'}"
                         " are; compare hall scenarios with hall scenarios")
    scenarios = [_load(args, p) for p in args.scenarios]
    first = scenarios[0].run
    reps = first.replications if args.replications is None else int(args.replications)
    if reps < 2:
        raise InputError(f"--replications = {reps}: paired confidence intervals need at "
                         "least 2 replications")
    seed = first.seed
    common = {"run.replications": reps, "run.seed": seed, "run.days": first.days,
              "run.warmup_days": first.warmup_days, "run.drain_days": first.drain_days}
    runs = [s.replace(common) for s in scenarios]
    names = []
    for i, s in enumerate(runs):
        names.append(s.name if [r.name for r in runs].count(s.name) == 1
                     else f"{s.name}#{i + 1}")
    out = _out(args.out)
    t0 = time.perf_counter()
    per_rep = {}
    for name, sc in zip(names, runs, strict=True):
        per_rep[name], _ = run_hall_replications(build_plan(sc), replications=reps, seed=seed)
    base = names[0]
    doc = json_safe({
        "kind": "hall", "baseline": base, "seed": seed, "replications": reps,
        "method": "common random numbers: every scenario runs replications 0..R-1 of the "
                  "same root seed; differences are per-replication (label - baseline) with "
                  "a 95 % paired Student-t interval; crosses_zero marks intervals that "
                  "contain 0",
        "kpis": {n: summarise(per_rep[n]) for n in names},
        "differences": {n: paired_differences(per_rep[base], per_rep[n]) for n in names[1:]},
        "scenarios": {n: s.to_dict() for n, s in zip(names, runs, strict=True)},
        "files": dict(zip(names, [str(Path(p)) for p in args.scenarios], strict=True)),
    })
    (out / "comparison.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    write_hall_comparison_report(out, doc)
    if not args.quiet:
        fmts = dict(HALL_KPIS)
        table = Table(title=f"{' vs '.join(names)}: {first.days:g} days, {reps} replications "
                      f"(common random numbers), seed {seed}")
        _kpi_column(table, _COMPARE_ROWS)
        for n in names:
            table.add_column(n, justify="right")
        for n in names[1:]:
            table.add_column(f"{n} − {base}", justify="right")
        zero = False
        for kpi in _COMPARE_ROWS:
            fmt = fmts[kpi]
            cells = [_fmt(doc["kpis"][n]["all"].get(kpi), fmt) for n in names]
            for n in names[1:]:
                rec = doc["differences"][n]["all"].get(kpi) or {}
                text = _fmt(rec, fmt, difference=True)
                if rec.get("crosses_zero"):
                    text += " *"
                    zero = True
                cells.append(text)
            table.add_row(kpi, *cells)
        Console().print(table)
        if zero:
            Console().print("* the 95 % interval of the difference contains 0")
        Console(stderr=True).print(f"wrote {out}/comparison.json and report.html in "
                                   f"{time.perf_counter() - t0:.1f} s")
    return 0
