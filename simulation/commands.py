"""The ``simulate`` sub-command: a thin layer over :mod:`urbangrid.simulation`."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from urbangrid.errors import InputError

__all__ = ["register", "run_simulate"]

log = logging.getLogger("urbangrid.simulate")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser(
        "simulate", help="run a scenario and write KPIs, event log and case table",
        description="Simulate a scenario (TOML). Writes DIR/kpis.json, DIR/events.parquet "
        "and DIR/cases.parquet and prints a KPI table.")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--days", type=float, help="simulated days after warm-up (run.days)")
    p.add_argument("--seed", type=int, help="root random seed (run.seed)")
    p.add_argument("--replications", type=int, help="independent replications")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a scenario value, e.g. "
                   "--set dispatch.policy=mcf (repeatable)")
    p.add_argument("--out", default="results", help="output folder (default: results)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(func=run_simulate)


def _fmt(value, fmt: str) -> str:
    if value is None:
        return "–"
    return fmt.format(value)


def run_simulate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .output import write_cases, write_events
    from .replications import kpis_document, run_replications
    from .scenario import load_scenario, parse_overrides

    overrides = parse_overrides(args.overrides)
    if args.days is not None:
        overrides["run.days"] = args.days
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.replications is not None:
        overrides["run.replications"] = args.replications
    scenario = load_scenario(args.scenario, overrides)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder: {exc}", source=str(out)) from None
    console = Console(stderr=True, quiet=args.quiet)
    reps = scenario.run.replications
    t0 = time.perf_counter()
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=console, transient=True, disable=args.quiet) as bar:
        sim = bar.add_task(f"simulating {scenario.name}", total=1.0)
        rep_task = bar.add_task("replications", total=reps, visible=reps > 1)
        summary = run_replications(
            scenario,
            progress=lambda f: bar.update(sim, completed=f),
            on_done=lambda k: bar.update(rep_task, completed=k),
        )
    wall = time.perf_counter() - t0
    first = summary.first
    if scenario.output.events:
        write_events(first, out / "events.parquet")
    if scenario.output.cases:
        write_cases(first, out / "cases.parquet")
    from .kpis import backlog_series

    grid, counts = backlog_series(first, scenario.output.backlog_step_min * 60.0)
    doc = kpis_document(scenario, scenario.run.seed, summary, extra={
        "backlog_series": {"time_s": grid.tolist(), "open_cases": counts.tolist(),
                           "replication": 0},
        "runtime": {"wall_seconds": wall, "events_replication0": first.n_events,
                    **{k: v for k, v in first.stats.items() if k != "event_names"}},
    })
    (out / "kpis.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False),
                                   encoding="utf-8")
    report = None
    if scenario.output.report:
        try:
            from .report import write_simulation_report
        except ModuleNotFoundError:  # the reporting module is optional
            log.debug("no report module; report.html not written")
        else:
            report = write_simulation_report(out, first, doc)
    if not args.quiet:
        table = Table(title=f"{scenario.name}: {scenario.run.days:g} days, "
                      f"{len(summary.per_replication)} replication(s), seed "
                      f"{scenario.run.seed}")
        table.add_column("KPI")
        table.add_column("mean", justify="right")
        table.add_column("± 95 %", justify="right")
        channels = ("hotline", "iot", "patrol")
        for ch in channels:
            table.add_column(ch, justify="right")
        from .kpis import SUMMARY_KPIS

        for name, fmt in SUMMARY_KPIS:
            k = doc["kpis"].get(name, {})
            per = [_fmt(doc["by_channel"][ch].get(name, {}).get("mean"), fmt)
                   for ch in channels]
            table.add_row(name, _fmt(k.get("mean"), fmt), _fmt(k.get("ci95"), fmt), *per)
        Console().print(table)
        console.print(f"wrote {out}/kpis.json, events.parquet, cases.parquet"
                      f"{', report.html' if report else ''} in {wall:.1f} s")
    log.debug("simulate finished in %.2f s", wall)
    return 0
