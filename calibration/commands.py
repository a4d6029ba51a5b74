"""The ``calibrate`` and ``validate`` sub-commands: thin layers over
:mod:`urbangrid.calibration.pipeline` and :mod:`urbangrid.calibration.validation`.

Two commands take a new user from a real log to a scenario and a validation report::

    urbangrid calibrate --log requests.parquet --out scen/city.toml
    urbangrid validate --log other_period.parquet --scenario scen/city.toml --out val/
"""

from __future__ import annotations

import argparse
import logging
import math

from urbangrid.errors import InputError

__all__ = ["register", "run_calibrate", "run_validate"]

log = logging.getLogger("urbangrid.calibrate")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and ``validate`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser(
        "calibrate", help="fit a scenario to a real service-request log (311 / 12345)",
        description="Read a CSV or Parquet log (Open311 GeoReport Bulk columns, or any "
        "layout through --columns), clean it, fit demand, mix, space and handling times, "
        "and write a scenario TOML with its catalogue, weights, boundary and "
        "calibration JSON next to it.")
    p.add_argument("--log", required=True, help="the log (CSV or Parquet)")
    p.add_argument("--columns", help="column mapping TOML, or '12345' for the built-in "
                   "Chinese 12345 / 网格 layout (default: Open311 Bulk names)")
    p.add_argument("--boundary", help="polygon file of the area (default: outline of the "
                   "log's own points)")
    p.add_argument("--resolution", type=int, help="H3 resolution (default: the finest "
                   "with at most 1,500 cells)")
    p.add_argument("--timezone", help="IANA zone of the log's local time (overrides the "
                   "mapping)")
    p.add_argument("--holidays", help="'us', 'cn' or comma-separated dates fitted apart "
                   "from the weekday factors")
    p.add_argument("--max-categories", type=int, default=30,
                   help="most frequent request types kept; the rest are one bucket")
    p.add_argument("--pilot-steps", type=int, default=2,
                   help="pilot simulations correcting the preparation times (default 2)")
    p.add_argument("--no-pilot", action="store_true", help="same as --pilot-steps 0")
    p.add_argument("--drain-days", type=float, default=14.0,
                   help="follow-up after the window in the pilot run (days)")
    p.add_argument("--seed", type=int, default=1, help="pilot simulation seed (default 1; "
                   "validation uses the scenario's seed)")
    p.add_argument("--period", help="START,END: fit only requests made in [START, END) "
                   "(local dates, e.g. 2017-12-27,2018-01-05)")
    p.add_argument("--out", required=True, help="scenario TOML to write")
    p.set_defaults(func=run_calibrate)

    v = subparsers.add_parser(
        "validate", help="compare a scenario's simulation with a real log",
        description="Simulate the log's period with the scenario and compare daily "
        "volume, hour-of-day profile, category shares, handling-time distributions, "
        "same-day closure and spatial counts. Writes DIR/validation.json and "
        "DIR/validation.html and prints a table.")
    v.add_argument("--log", required=True, help="the log (CSV or Parquet)")
    v.add_argument("--scenario", required=True, help="scenario TOML (from calibrate)")
    v.add_argument("--replications", type=int, default=2)
    v.add_argument("--columns", help="column mapping (default: the calibration's)")
    v.add_argument("--timezone", help="IANA zone of the log's local time")
    v.add_argument("--drain-days", type=float, default=14.0,
                   help="follow-up after the window; longer handling times are censored")
    v.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    v.add_argument("--processes", type=int, help="worker processes for the replications "
                   "(default: one per core; results do not depend on it)")
    v.add_argument("--period", help="START,END: compare only requests made in "
                   "[START, END) (local dates)")
    v.add_argument("--out", required=True, help="output folder")
    v.set_defaults(func=run_validate)


def _check_drain(x: float) -> None:
    if not (math.isfinite(x) and 0.0 < x <= 365.0):
        raise InputError(f"--drain-days {x}: give a number of days in (0, 365]")


def run_calibrate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .pipeline import calibrate

    _check_drain(args.drain_days)
    if not 0 <= args.pilot_steps <= 10:
        raise InputError(f"--pilot-steps {args.pilot_steps}: give 0 – 10")
    if args.max_categories < 2 or args.max_categories > 62:
        raise InputError(f"--max-categories {args.max_categories}: give 2 – 62")
    cal = calibrate(args.log, args.out, columns=args.columns, boundary=args.boundary,
                    resolution=args.resolution, timezone=args.timezone,
                    holidays=args.holidays, max_categories=args.max_categories,
                    pilot=0 if args.no_pilot else args.pilot_steps,
                    drain_days=args.drain_days, seed=args.seed, period=args.period)
    d = cal.data
    con = Console()
    cl = d["cleaning"]
    con.print(f"read {cl['rows_read']:,} rows, used {cl['rows_used']:,}; cleaning: "
              + ", ".join(f"{k} {v:,}" for k, v in cl.items()
                          if k not in ("rows_read", "rows_used") and v))
    con.print(f"{d['demand']['cases_per_day']:,.1f} requests per ordinary day; channels "
              + ", ".join(f"{k} {v:.1%}" for k, v in d["channels"]["shares"].items() if v)
              + f"; {len(d['categories'])} categories; {d['district']['n_cells']} cells at "
              f"H3 resolution {d['district']['resolution']}")
    for f in cal.files.values():
        con.print(f"wrote {f}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .report import HEADLINE
    from .validation import validate

    _check_drain(args.drain_days)
    m = validate(args.log, args.scenario, args.out, columns=args.columns,
                 replications=args.replications, seed=args.seed,
                 drain_days=args.drain_days, timezone=args.timezone, period=args.period,
                 processes=args.processes)
    t = Table(title=f"validation: {m['n_real']:,} real vs {m['n_sim_mean']:,.0f} simulated "
              f"requests ({m['replications']} replication(s))")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for key, label, fmt in HEADLINE:
        v = m.get(key)
        t.add_row(label, "–" if v is None or (isinstance(v, float) and not math.isfinite(v))
                  else fmt.format(v))
    con = Console()
    con.print(t)
    con.print(f"wrote {args.out}/validation.json and validation.html")
    return 0
