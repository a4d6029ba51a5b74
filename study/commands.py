"""The ``simulate``, ``compare`` and ``sweep`` sub-commands: thin layers over
:mod:`urbangrid.simulation` and this package's comparisons, sweeps and reports.

``simulate`` lives here, not in the simulation package, because it writes
``report.html`` through :mod:`urbangrid.study.report` and the simulation never imports
the study. Registering imports only ``argparse`` code; each handler imports its engine
when it runs.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import time
from pathlib import Path
from typing import Any

from urbangrid.errors import InputError

from .numbers import estimate, estimate_of, estimate_parts

__all__ = ["check_scenario", "output_folder", "register", "run_compare", "run_init",
           "run_options", "run_simulate", "run_sweep_command"]

log = logging.getLogger("urbangrid.study")
log_simulate = logging.getLogger("urbangrid.simulate")

# Rows of the printed comparison table: (group, KPI, format).
_COMPARE_ROWS = (
    ("all", "cases_created", "{:,.0f}"), ("all", "cases_closed", "{:,.0f}"),
    ("all", "handling_days_calendar_mean", "{:.2f}"),
    ("all", "handling_days_working_mean", "{:.2f}"), ("all", "same_day_rate", "{:.1%}"),
    ("all", "on_time_rate", "{:.1%}"), ("all", "resolution_rate", "{:.1%}"),
    ("all", "backlog_mean", "{:,.0f}"), ("all", "utilisation_mean", "{:.1%}"),
    ("all", "dispatch_delay_min_mean", "{:.1f}"),
    ("hotline", "handling_days_calendar_mean", "{:.2f}"),
    ("hotline", "handling_days_working_mean", "{:.2f}"),
    ("hotline", "resolution_rate", "{:.1%}"), ("hotline", "satisfaction_rate", "{:.1%}"),
    ("iot", "same_day_rate", "{:.1%}"), ("patrol", "resolution_rate", "{:.1%}"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate``, ``compare``, ``sweep``, ``scenario diff`` and ``decompose`` to the
    ``urbangrid`` command line."""
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

    i = subparsers.add_parser(
        "init", help="write a starter scenario for a district from its boundary file",
        description="Write DIR/NAME.toml: the built-in Jing'an defaults with demand, crews, "
        "work-order staff and grids scaled to the district (by --population, else by "
        "area), each scaled figure commented with its rule. A boundary without a code "
        "column is copied to DIR with generated codes.")
    i.add_argument("--boundary", required=True, help="GeoJSON, GeoPackage or Shapefile "
                   "of the sub-districts (one polygon is a one-sub-district district)")
    i.add_argument("--population", type=float, help="residents (default: scale by area)")
    i.add_argument("--weights", help="CSV of cell or sub-district weights (district."
                   "weights_file); --weight names the column demand follows")
    i.add_argument("--weight", default="w_area", help="cell weight demand follows "
                   "(default w_area; a weights CSV column c is w_c)")
    i.add_argument("--code-column", default="code")
    i.add_argument("--name-column", default="name")
    i.add_argument("--source-crs", default="EPSG:4326")
    i.add_argument("--resolution", type=int, default=10, help="H3 resolution (7-11)")
    i.add_argument("--name", help="scenario name (default: the boundary file's stem)")
    i.add_argument("--out", required=True, help="folder for the scenario")
    i.set_defaults(func=run_init)

    c = subparsers.add_parser(
        "compare", help="compare scenarios under common random numbers",
        description="Run two or more scenarios with the same seed and replications "
        "(common random numbers) and report each KPI with paired differences against the "
        "first scenario and 95 % t-intervals. Writes DIR/comparison.json, PNG figures "
        "and DIR/report.html.")
    c.add_argument("scenarios", nargs="+", metavar="SCENARIO.toml",
                   help="scenario files; the first is the baseline")
    run_options(c)
    c.add_argument("--by-subdistrict", action="append", default=[], metavar="KPI",
                   help="also print KPI per sub-district with its paired differences "
                   "(repeatable), e.g. --by-subdistrict dispatch_delay_min_mean")
    c.add_argument("--out", default="results/compare", help="output folder")
    c.set_defaults(func=run_compare)

    s = subparsers.add_parser(
        "sweep", help="run a scenario over a grid of parameter values",
        description="Run the cross product of --grid values × replications of a scenario "
        "on a local process pool or a Dask cluster. Writes DIR/sweep.parquet (one row per "
        "run), DIR/sweep_summary.csv, DIR/sweep.png.")
    s.add_argument("scenario", metavar="SCENARIO.toml", help="base scenario file")
    s.add_argument("--grid", action="append", default=[], required=True,
                   metavar="KEY=V1,V2,...", help="scenario key and the values to sweep, "
                   "e.g. --grid inspectors.per_grid=2.2,2.7 (repeatable: cross product)")
    run_options(s)
    s.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool (default) or Dask distributed")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: start a LocalCluster)")
    s.add_argument("--dask-threads", action="store_true",
                   help="run the LocalCluster's workers as threads in this process")
    s.add_argument("--kpi", action="append", default=[], metavar="NAME",
                   help="KPI to summarise and plot (repeatable; channel.kpi for a channel)")
    s.add_argument("--out", default="results/sweep", help="output folder")
    s.set_defaults(func=run_sweep_command)

    sc = subparsers.add_parser("scenario", help="look at scenario files",
                               description="Tools for scenario files.")
    scs = sc.add_subparsers(dest="scenario_command", metavar="COMMAND")
    diff = scs.add_parser(
        "diff", help="the resolved differences of two scenarios",
        description="Print every key whose resolved value (after extends and the "
        "defaults) differs between two scenarios, one 'key: A -> B' per line.")
    diff.add_argument("a", metavar="A.toml")
    diff.add_argument("b", metavar="B.toml")
    diff.set_defaults(func=run_scenario_diff)
    sc.set_defaults(func=lambda args: (sc.print_help(), 2)[1])

    d = subparsers.add_parser(
        "decompose", help="attribute a KPI's change between two scenarios to the levers",
        description="Apply the levers that differ between BEFORE and AFTER one at a time "
        "along several orderings (common random numbers), average each lever's marginal "
        "effect (Shapley-style) and write DIR/decomposition.json and DIR/report.html "
        "with a waterfall chart. The runs use BEFORE's run settings.")
    d.add_argument("before", metavar="BEFORE.toml")
    d.add_argument("after", metavar="AFTER.toml")
    d.add_argument("--kpi", default="hotline.handling_days_calendar_mean",
                   help="GROUP.NAME of the KPI (default: hotline.handling_days_calendar_mean)")
    d.add_argument("--orderings", type=int, default=0,
                   help="random orderings beside the forward and reverse ones")
    d.add_argument("--exact", action="store_true",
                   help="every ordering (exact Shapley values; 2^levers scenario runs)")
    run_options(d)
    d.add_argument("--out", default="results/decompose", help="output folder")
    d.set_defaults(func=run_decompose)


def run_options(p: argparse.ArgumentParser) -> None:
    """The options every command that runs scenarios takes (compare, sweep, decompose,
    the hall's simulate and staff): replications, days, seed, --set, processes, quiet."""
    p.add_argument("--replications", type=int, help="replications (default: run.replications)")
    p.add_argument("--days", type=float, help="simulated days after warm-up (run.days)")
    p.add_argument("--seed", type=int, help="root random seed (run.seed)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a scenario value, in every scenario "
                   "given (repeatable)")
    p.add_argument("--processes", type=int, help="worker processes (default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")


# -- simulate ----------------------------------------------------------------------

def _coded_boundary(boundary: Path, out: Path, name: str, code_column: str,
                    name_column: str) -> tuple[Path, str, str, list[str]]:
    """The boundary as the district reader will take it: the file itself when it has a
    code column (or, for the default, one of the reader's candidates); otherwise a copy
    in ``out`` with codes D01, D02 .. in file order (and names where it has none).
    Returns the path, the code and name columns, and a note for the user."""
    import pyogrio

    from urbangrid.grid._readers import CODE_CANDIDATES

    try:
        fields = set(pyogrio.read_info(boundary)["fields"])
    except Exception as exc:  # pyogrio raises several types; the district reader says why
        log.debug("init: cannot read the fields of %s: %s", boundary, exc)
        return boundary, code_column, name_column, []
    if code_column in fields or (code_column == "code" and fields & set(CODE_CANDIDATES)):
        return boundary, code_column, name_column, []
    import geopandas as gpd

    gdf = gpd.read_file(boundary)
    gdf["code"] = [f"D{k + 1:02d}" for k in range(len(gdf))]
    if name_column not in fields:
        gdf["name"] = [f"sub-district {k + 1}" for k in range(len(gdf))]
        name_column = "name"
    coded = out / f"{name}.boundary.geojson"
    gdf.to_file(coded, driver="GeoJSON")
    return coded, "code", name_column, [
        f"the boundary had no code column: codes D01 .. D{len(gdf):02d} in file order, "
        f"written with the polygons to {coded.name}"]


def run_init(args: argparse.Namespace) -> int:
    from urbangrid.grid import District
    from urbangrid.simulation.starter import starter_scenario

    boundary = Path(args.boundary)
    if not boundary.is_file():
        raise InputError(f"boundary file not found: {boundary}", source=str(boundary))
    out = output_folder(args.out)
    name = args.name or boundary.stem
    boundary, code_column, name_column, notes = _coded_boundary(
        boundary, out, name, args.code_column, args.name_column)
    district = District.from_files(boundary, code_column=code_column,
                                   name_column=name_column, source_crs=args.source_crs,
                                   resolution=args.resolution, weights=args.weights)
    if args.weight not in district.weight_columns:
        raise InputError(f"--weight {args.weight!r} is not a weight of this district "
                         f"(available: {', '.join(district.weight_columns)})")
    subs = district.subdistricts
    path = out / f"{name}.toml"
    def rel(p) -> str:  # scenario paths resolve against the scenario's folder
        p = Path(p).resolve()
        return str(p.relative_to(out.resolve())) if p.is_relative_to(out.resolve()) else str(p)

    starter = starter_scenario(
        name=name, boundary=rel(boundary), area_km2=float(subs["area_km2"].sum()),
        n_subdistricts=len(subs), population=args.population,
        weights_file=rel(args.weights) if args.weights else None, weight=args.weight,
        code_column=code_column, name_column=name_column, source_crs=args.source_crs,
        resolution=args.resolution)
    path.write_text(starter.toml(), encoding="utf-8")
    print(f"wrote {path}: {len(subs)} sub-district(s), {subs['area_km2'].sum():.2f} km², "
          f"{len(district.cells):,} cells")
    for line in notes + starter.rules:
        print(f"  {line}")
    print(f"next: urbangrid simulate {path}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from urbangrid.simulation import (
        SUMMARY_KPIS,
        backlog_series,
        check_warmup,
        json_safe,
        kpis_document,
        load_scenario,
        parse_overrides,
        run_replications,
        run_warnings,
        write_cases,
        write_events,
    )
    from urbangrid.simulation.kpis import run_end

    from .tables import named_tables

    overrides = parse_overrides(args.overrides)
    if args.days is not None:
        overrides["run.days"] = args.days
    if args.seed is not None:
        overrides["run.seed"] = args.seed
    if args.replications is not None:
        overrides["run.replications"] = args.replications
    scenario = load_scenario(args.scenario, overrides)
    check_scenario(scenario, args.scenario)
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
    # The Parquet files are written by a thread while the KPIs and the report are made
    # here: Arrow's encoding and compression release the GIL, the figures hold it, so
    # the two overlap (benchmarks/bench_simulation.py measures the whole command).
    from concurrent.futures import ThreadPoolExecutor

    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="urbangrid-write")
    written = []
    if scenario.output.events:
        written.append(writer.submit(write_events, first, out / "events.parquet"))
    if scenario.output.cases:
        written.append(writer.submit(write_cases, first, out / "cases.parquet"))
    writer.shutdown(wait=False)
    grid, counts = backlog_series(first, scenario.output.backlog_step_min * 60.0,
                                  end=run_end(first))
    warm = check_warmup(first)
    groups = summary.summary()
    warnings = run_warnings(groups["all"], first, warm)
    for text in warnings:
        log.warning("%s", text)
    doc = kpis_document(scenario, scenario.run.seed, summary, extra={
        "warnings": warnings,
        **named_tables(groups, first.space),
        "backlog_series": {"time_s": grid.tolist(), "open_cases": counts.tolist(),
                           "replication": 0, "window_s": [first.t_stats, first.t_end],
                           "note": "from the end of the warm-up to the end of the run: "
                                   "after window_s[1] comes the drain (arrivals go on; "
                                   "not in the KPIs)"},
        "runtime": {"wall_seconds": wall, "events_replication0": first.n_events,
                    **{k: v for k, v in first.stats.items() if k != "event_names"}},
    })
    doc["warmup"].update(warm.document())
    doc["organisations"] = first.organisations
    (out / "kpis.json").write_text(json.dumps(json_safe(doc), indent=1, ensure_ascii=False),
                                   encoding="utf-8")
    report = None
    if scenario.output.report:
        from .report import write_simulation_report

        report = write_simulation_report(out, first, doc)
    for job in written:
        job.result()  # a failed write raises here
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
        for name, fmt in SUMMARY_KPIS:
            k = doc["kpis"].get(name, {})
            per = [estimate(doc["by_channel"][ch].get(name, {}).get("mean"), None, fmt)
                   for ch in channels]
            table.add_row(name, *estimate_parts(k.get("mean"), k.get("ci95"), fmt), *per)
        Console().print(table)
        console.print(f"wrote {out}/kpis.json, events.parquet, cases.parquet"
                      f"{', report.html' if report else ''} in {wall:.1f} s")
    log_simulate.debug("simulate finished in %.2f s", wall)
    return 0


# -- compare and sweep ---------------------------------------------------------------

_FILE_KEYS = (("district", "network"), ("district", "boundary"),
              ("district", "weights_file"), ("catalogue", "file"))


def check_scenario(scenario, source: str) -> None:
    """Fail before any run when a scenario names a file that does not exist, a bad
    catalogue or a dispatch policy that does not resolve
    (:func:`urbangrid.optimizer.policy_factory`: not registered, no entry point, a
    ``module:function`` that does not import); a run would find each only after its
    warm-up, or in a worker process.

    Raises
    ------
    InputError
        Naming the scenario file, the key and the missing path.
    """
    from urbangrid.catalogue import load_catalogue

    for section, key in _FILE_KEYS:
        value = getattr(getattr(scenario, section), key)
        if value and not Path(value).is_file():
            raise InputError(f"{section}.{key} = {value!r}: file not found", source=source)
    try:
        load_catalogue(scenario.catalogue.file, scenario.catalogue.overrides)
    except InputError as exc:
        raise InputError(str(exc), source=source) from None
    from urbangrid.optimizer import policy_factory

    try:  # a registered name, an entry point or "package.module:function"
        policy_factory(scenario.dispatch.policy, key="dispatch.policy")
    except InputError as exc:
        raise InputError(str(exc), source=source) from None


def _load(path: str, overrides: dict[str, Any]):
    from urbangrid.simulation import load_scenario

    sc = load_scenario(path, overrides)
    check_scenario(sc, path)
    return sc


def output_folder(path: str) -> Path:
    """``path`` created if need be (InputError naming it when it cannot be)."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder: {exc}", source=str(out)) from None
    return out


def _progress(quiet: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, quiet=quiet)
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                    transient=True, disable=quiet)


def run_compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from urbangrid.simulation import GROUP_KPIS, parse_overrides
    from urbangrid.simulation.guards import censoring_warnings

    from .compare import compare_scenarios, comparison_document
    from .report import write_comparison_report

    if len(args.scenarios) < 2:
        raise InputError("compare needs at least two scenario files")
    hall = _hall_compare(args)
    if hall is not None:
        return hall
    bad = [k for k in args.by_subdistrict if k not in GROUP_KPIS]
    if bad:
        raise InputError(f"--by-subdistrict {bad[0]!r}: not a per-sub-district KPI (one "
                         f"of: {', '.join(GROUP_KPIS)})")
    overrides = parse_overrides(args.overrides)
    scenarios = [_load(p, overrides) for p in args.scenarios]
    days = {s.run.days for s in scenarios}
    if args.days is None and len(days) > 1:
        log.warning("scenarios have different run.days %s; using the first's (%g) for all",
                    sorted(days), scenarios[0].run.days)
    out = output_folder(args.out)
    reps = args.replications if args.replications is not None else \
        scenarios[0].run.replications
    t0 = time.perf_counter()
    with _progress(args.quiet) as bar:
        task = bar.add_task("comparing", total=len(scenarios) * max(reps, 1))
        cmp = compare_scenarios(scenarios, replications=args.replications, seed=args.seed,
                                days=args.days, processes=args.processes,
                                on_done=lambda k: bar.update(task, completed=k))
    wall = time.perf_counter() - t0
    for name, first in cmp.first.items():
        for text in censoring_warnings(first):
            log.warning("%s (first replication): %s", name, text)
    doc = comparison_document(cmp, extra={
        "files": dict(zip(cmp.names, [str(Path(p)) for p in args.scenarios], strict=True))})
    (out / "comparison.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False),
                                         encoding="utf-8")
    write_comparison_report(out, doc, cmp.first)
    if not args.quiet:
        labels = [name if group == "all" else f"{group}.{name}"
                  for group, name, _ in _COMPARE_ROWS]
        table = _compare_table(
            f"{' vs '.join(cmp.names)}: {cmp.scenarios[0].run.days:g} days, "
            f"{cmp.replications} replications (common random numbers), seed {cmp.seed}",
            "KPI", cmp, labels)
        zero = False
        for label, (group, name, fmt) in zip(labels, _COMPARE_ROWS, strict=True):
            cells, crosses = _compare_cells(doc, cmp.names, group, name, fmt)
            zero |= crosses
            table.add_row(label, *cells)
        Console().print(table)
        for kpi in args.by_subdistrict:
            zero |= _print_by_subdistrict(doc, cmp, kpi)
        if zero:
            Console().print("* the 95 % interval of the difference contains 0: the runs do "
                            "not tell the scenarios apart on that KPI")
        Console(stderr=True).print(f"wrote {out}/comparison.json and report.html in "
                                   f"{wall:.1f} s")
    return 0


def _hall_compare(args: argparse.Namespace) -> int | None:
    """Services-hall scenarios (a ``[hall]`` table) are compared by the hall package's
    own runner (same method: common random numbers, paired t-intervals); None for grid
    scenarios. The hall package is imported only here, and only when it is installed."""
    try:
        from urbangrid.hall.scenario import is_hall_scenario
    except ModuleNotFoundError:
        return None
    if not any(is_hall_scenario(p) for p in args.scenarios):
        return None
    from urbangrid.hall.commands import run_hall_compare

    return run_hall_compare(args)


def _compare_table(title: str, first_column: str, cmp, labels: list[str]):
    """An empty comparison table: the row label, each scenario, then each paired
    difference against the baseline (rows come from :func:`_compare_cells`). The
    labels are never cut (on 80 columns "handling_days_cal…" hid whether calendar or
    working days were meant); the figures wrap instead."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column(first_column, no_wrap=True,
                     min_width=max(len(first_column), *map(len, labels)))
    for n in cmp.names:
        table.add_column(n, justify="right")
    for n in cmp.names[1:]:
        table.add_column(f"{n} − {cmp.baseline}", justify="right")
    return table


def _compare_cells(doc: dict, names: list[str], group: str, kpi: str,
                   fmt: str) -> tuple[list[str], bool]:
    """One row of a comparison table: each scenario's value, then each paired difference
    against the first (``*`` where its interval contains 0), and whether any did."""
    cells = [estimate_of(doc["kpis"][n].get(group, {}).get(kpi), fmt) for n in names]
    crosses = False
    for n in names[1:]:
        rec = doc["differences"][n].get(group, {}).get(kpi) or {}
        text = estimate_of(rec, fmt, difference=True)
        if rec.get("crosses_zero"):
            text += " *"
            crosses = True
        cells.append(text)
    return cells, crosses


def _print_by_subdistrict(doc: dict, cmp, kpi: str) -> bool:
    """One KPI per sub-district, each scenario and the paired differences; True when a
    difference's interval contains 0."""
    from rich.console import Console

    from urbangrid.simulation import SUBDISTRICT_PREFIX

    fmt = dict((n, f) for g, n, f in _COMPARE_ROWS).get(kpi, "{:.3g}")
    space = next(iter(cmp.first.values())).space
    labels = [f"{name} ({code})"
              for code, name in zip(space.sub_codes, space.sub_names, strict=True)]
    table = _compare_table(f"{kpi} by sub-district", "sub-district", cmp, labels)
    zero = False
    for label, code in zip(labels, space.sub_codes, strict=True):
        cells, crosses = _compare_cells(doc, cmp.names, SUBDISTRICT_PREFIX + str(code), kpi,
                                        fmt)
        zero |= crosses
        table.add_row(label, *cells)
    Console().print(table)
    return zero


def run_sweep_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from urbangrid.simulation import parse_overrides

    from .sweep import SWEEP_KPIS, parse_grid, plan_sweep, plot_sweep, run_sweep, summarise_sweep

    overrides = parse_overrides(args.overrides)
    if args.days is not None:
        overrides["run.days"] = args.days
    base = _load(args.scenario, overrides)
    grid = parse_grid(args.grid, base)
    for key, values in grid.items():  # each point's files and policy, before any run
        for value in values:
            check_scenario(base.replace({key: value}),
                           f"--grid {key}={value!r} (on {args.scenario})")
    plan = plan_sweep(base, grid, replications=args.replications, seed=args.seed)
    kpis = args.kpi or list(SWEEP_KPIS)
    out = output_folder(args.out)
    if args.executor == "dask" and not getattr(args, "verbose", False):
        # Dask logs every scheduler and worker step at INFO; keep the console readable.
        # Its import sets its own levels, so import it first (InputError later if absent).
        try:
            import distributed  # noqa: F401
        except ModuleNotFoundError:
            pass
        logging.getLogger("distributed").setLevel(logging.WARNING)
    tasks = len(plan.points) * plan.replications
    t0 = time.perf_counter()
    with _progress(args.quiet) as bar:
        task = bar.add_task(f"sweep ({args.executor})", total=tasks)
        df = run_sweep(plan, executor=args.executor, processes=args.processes,
                       scheduler=args.scheduler, dask_processes=not args.dask_threads,
                       on_done=lambda k: bar.update(task, completed=k))
    wall = time.perf_counter() - t0
    keys = list(grid)
    summary = summarise_sweep(df, keys, kpis)
    df.to_parquet(out / "sweep.parquet", index=False)
    summary.to_csv(out / "sweep_summary.csv", index=False)
    plot_sweep(summary, keys, out / "sweep.png")
    if not args.quiet:
        table = Table(title=f"sweep of {base.name}: {len(plan.points)} points × "
                      f"{plan.replications} replications, seed {plan.seed}")
        for k in keys:
            table.add_column(k)
        for k in kpis:
            table.add_column(k, justify="right")
        for _p, g in summary.groupby("point", sort=True):
            first = g.iloc[0]
            cells = [str(first[k]) for k in keys]
            for k in kpis:
                r = g[g["kpi"] == k].iloc[0]
                cells.append(estimate_of({"mean": r["mean"], "ci95": r["ci95"]}, "{:.3g}"))
            table.add_row(*cells)
        Console().print(table)
        Console(stderr=True).print(f"wrote {out}/sweep.parquet, sweep_summary.csv, "
                                   f"sweep.png in {wall:.1f} s")
    return 0


# -- scenario diff, decompose ---------------------------------------------------------

def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value is not None else "(absent)"


def run_scenario_diff(args: argparse.Namespace) -> int:
    from urbangrid.simulation import load_scenario

    from .decompose import scenario_diff

    a, b = load_scenario(args.a), load_scenario(args.b)
    for key, va, vb in scenario_diff(a, b):
        print(f"{key}: {_show(va)} -> {_show(vb)}")
    return 0


def run_decompose(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from urbangrid.simulation import parse_overrides

    from .decompose import decompose, plot_waterfall
    from .html import figure, table, write_page

    overrides = parse_overrides(args.overrides)
    if args.days is not None:
        overrides["run.days"] = args.days
    before, after = _load(args.before, overrides), _load(args.after, overrides)
    reps = args.replications if args.replications is not None else before.run.replications
    out = output_folder(args.out)
    t0 = time.perf_counter()
    with _progress(args.quiet) as bar:
        task = bar.add_task("decomposing", total=None)
        res = decompose(before, after, kpi=args.kpi, replications=reps,
                        orderings=args.orderings, exact=args.exact, seed=args.seed,
                        processes=args.processes,
                        progress=lambda k, n: bar.update(task, completed=k, total=n))
    doc = res.document()
    doc["files"] = {"before": args.before, "after": args.after}
    (out / "decomposition.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False),
                                            encoding="utf-8")
    png = plot_waterfall(doc, out / "waterfall.png")
    rows = [[html.escape(r["name"]), f"{r['contribution']:+.3f}", f"{r['ci95']:.3f}",
             html.escape(", ".join(r["keys"]))] for r in doc["levers"]]
    rows.append(["total", f"{doc['total']:+.3f}", f"{doc['total_ci95']:.3f}", ""])
    write_page(out / "report.html", f"Decomposition of {doc['kpi']}", [
        f"<h1>{html.escape(args.before)} -> {html.escape(args.after)}</h1>",
        f"<p class='note'>{doc['kpi']}: {doc['before']:.3f} before, {doc['after']:.3f} "
        f"after; {reps} replications under common random numbers, "
        f"{doc['scenario_runs']} scenarios, "
        f"{len(doc['orderings']) or 'all'} orderings of the levers.</p>",
        figure(png, "from before to after, one bar per lever (95 % intervals)"),
        table(["lever", "contribution", "± 95 %", "keys"], rows)])
    if not args.quiet:
        t = Table(title=f"{doc['kpi']}: {doc['before']:.3f} -> {doc['after']:.3f} "
                  f"({reps} replications)")
        for col in ("lever", "contribution", "± 95 %"):
            t.add_column(col, justify="left" if col == "lever" else "right")
        for r in doc["levers"]:
            t.add_row(r["name"], f"{r['contribution']:+.3f}", f"{r['ci95']:.3f}")
        t.add_row("total", f"{doc['total']:+.3f}", f"{doc['total_ci95']:.3f}")
        Console().print(t)
        Console(stderr=True).print(f"wrote {out}/decomposition.json and report.html in "
                                   f"{time.perf_counter() - t0:.1f} s")
    return 0
