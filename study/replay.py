"""``urbangrid replay``: the live service's record re-simulated, the engine as its own twin.

    urbangrid replay --db URL [--from T0 --to T1] --scenario S [--policy P]
                     [--staffing roster|scenario] --out DIR
    urbangrid replay --db URL [--from T0 --to T1] --export bulk.csv

The ledger's requests received in the period (their times, places and categories) are
written as a log (:func:`urbangrid.service.export.ledger_log`, Open311 Bulk columns) and
replayed through the model as its arrivals (``demand.trace``, simulation/trace.py), so
the model handles exactly those cases, under another dispatch policy or staffing, and
each case's replayed outcome is set beside what actually happened to it.

The replay runs from ``--from`` (default: the local midnight before the first request)
to ``--to`` (default: just after the last), then on, with no new arrivals, until the
ledger's last recorded change (or ``--until``), so that the replayed cases had as long to
close as the real ones. Staffing ``roster`` (the default when the ledger has teams) replaces the
scenario's crews by the ledger's teams (:func:`roster_crews`), keeping the scenario's
crews only for skills no team of the roster has (the model needs a crew for every
category; ``kpis.json`` names them); ``scenario`` keeps the scenario's crews.

Outputs: ``DIR/trace.csv`` (the period's log, the replay's input), ``DIR/kpis.json``
(``actual``, ``replayed`` per KPI as mean and 95 % interval over replications, and
``paired``: the mean per-case difference replayed − actual of handling days, same-day
and on-time, with its interval) and ``DIR/report.html``. The KPIs of both sides are
computed by one definition (:func:`urbangrid.service.export.outcome_kpis`); on-time is
judged against the deadline the live service gave each request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

from urbangrid.errors import InputError

__all__ = ["register", "roster_crews", "run_replay"]

DAY = 86400.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``replay`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser(
        "replay", help="re-simulate the live service's requests of a period, or export them",
        description="Take the requests the dispatch service recorded in a period and "
        "re-simulate exactly those cases through the model under another policy or "
        "staffing, beside what actually happened (DIR/kpis.json, DIR/report.html); or, "
        "with --export, write them as an Open311 Bulk log that `urbangrid calibrate` and "
        "`demand.trace` read. Needs the 'service' extra (SQLAlchemy).")
    p.add_argument("--db", required=True, metavar="URL",
                   help="the service's database, sqlite:///path or postgresql://...")
    p.add_argument("--from", dest="t_from", metavar="T0",
                   help="period start, ISO 8601 (local Asia/Shanghai without an offset)")
    p.add_argument("--to", dest="t_to", metavar="T1", help="period end (exclusive)")
    p.add_argument("--until", dest="t_until", metavar="T",
                   help="run the replay until T (default: the ledger's last recorded change; "
                   "later is useful when the ledger is young: real requests still open stay "
                   "open)")
    p.add_argument("--export", metavar="CSV", help="write the period's log and stop")
    p.add_argument("--scenario", metavar="TOML", help="the scenario to replay in")
    p.add_argument("--policy", help="dispatch policy of the replay (default: the scenario's)")
    p.add_argument("--staffing", choices=("roster", "scenario"),
                   help="crews: the ledger's teams (default when it has any) or the "
                   "scenario's")
    p.add_argument("--replications", type=int, help="replications (default: run.replications)")
    p.add_argument("--seed", type=int, help="root random seed (run.seed)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY=VALUE", help="override a scenario value (repeatable)")
    p.add_argument("--out", metavar="DIR", help="output folder")
    p.set_defaults(func=run_replay_command)


def _when(text: str | None, flag: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not an ISO 8601 date-time "
                         "(e.g. 2026-12-01T00:00)") from None
    if t.tzinfo is not None:
        from urbangrid.calendar import CHINA_TZ

        t = t.astimezone(CHINA_TZ).replace(tzinfo=None)
    return t


def _store(url: str):
    try:
        from urbangrid.service.db import Store
    except ModuleNotFoundError as exc:
        raise InputError(f"replay needs the 'service' extra ({exc.name} is missing): "
                         "pip install 'urbangrid[service]'") from None
    import sqlalchemy as sa

    try:
        store = Store(url)
        with store.read() as conn:
            names = set(sa.inspect(conn).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(f"cannot open the database {url!r}: {exc.__class__.__name__}: "
                         f"{str(exc).splitlines()[0]}") from None
    missing = {"requests", "teams", "events"} - names
    if missing:
        raise InputError(f"{url!r} is not an urbangrid service ledger (no table(s) "
                         f"{', '.join(sorted(missing))})")
    return store


def roster_crews(roster) -> tuple[list[dict], dict[str, dict]]:
    """Crews and shifts for a scenario from the ledger's teams: one crew per distinct
    (skills, mode, capacity, daily shift), district-wide, as many teams as the roster has
    of it (named after its first team). Positions are not kept: a district-wide team
    starts where the scenario starts them."""
    crews: dict[tuple, dict] = {}
    shifts: dict[str, dict] = {}
    for row in roster.itertuples(index=False):
        if row.mode not in ("walk", "ebike", "car"):
            raise InputError(f"team {row.team_id} ({row.name!r}): mode {row.mode!r} is not "
                             "one the model knows (walk, ebike, car)")
        if row.shift_hours <= 0:
            continue  # never on duty
        key = (row.skills, row.mode, max(1, int(row.capacity)), row.shift_start,
               round(float(row.shift_hours), 4))
        if key not in crews:
            name = f"roster_{len(crews) + 1}"
            shifts[name] = {"days": "all", "start": row.shift_start,
                            "hours": float(min(24.0, row.shift_hours))}
            crews[key] = {"name": name, "skills": list(row.skills), "district_wide": 0,
                          "mode": row.mode, "shift": name, "capacity": key[2],
                          "agency": str(row.name)}
        crews[key]["district_wide"] += 1
    return list(crews.values()), shifts


def run_replay_command(args: argparse.Namespace) -> int:
    import logging

    log = logging.getLogger("urbangrid")
    store = _store(args.db)
    t0, t1 = _when(args.t_from, "--from"), _when(args.t_to, "--to")
    if args.export:
        from urbangrid.service.export import ledger_log

        frame = ledger_log(store, t0, t1, _service_names())
        path = Path(args.export)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
        except OSError as exc:
            raise InputError(f"cannot write the log: {exc}", source=str(path)) from None
        log.info("wrote %d request(s) to %s", len(frame), path)
        return 0
    if not args.scenario or not args.out:
        raise InputError("replay needs --scenario and --out (or --export CSV)")
    doc = run_replay(store, args.scenario, Path(args.out), t0=t0, t1=t1,
                     until=_when(args.t_until, "--until"),
                     policy=args.policy, staffing=args.staffing,
                     replications=args.replications, seed=args.seed,
                     overrides=args.overrides)
    a, r = doc["actual"], doc["replayed"]
    for k in ("cases_created", "handling_days_calendar_mean", "same_day_rate", "on_time_rate"):
        log.info("%s: actual %s, replayed %s", k, _fmt(a[k]), _fmt(r[k]["mean"]))
    for text in doc["warnings"]:
        log.warning("%s", text)
    return 0


def _service_names() -> dict[str, str]:
    from urbangrid.catalogue import load_catalogue

    cat = load_catalogue(None)
    return dict(zip(cat.code, cat.name_en, strict=True))


def _fmt(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:,.4g}"


def run_replay(store, scenario_path: str | Path, out: Path, *, t0=None, t1=None, until=None,
               policy: str | None = None, staffing: str | None = None,
               replications: int | None = None, seed: int | None = None,
               overrides: list[str] | None = None) -> dict:
    """Replay the ledger's period in ``scenario_path`` (see the module docstring) and
    write ``out``'s files; returns the ``kpis.json`` document."""
    import numpy as np
    import sqlalchemy as sa

    from urbangrid.service.db import events
    from urbangrid.service.export import (
        actual_kpis,
        case_outcomes,
        ledger_log,
        ledger_roster,
        log_times,
        outcome_kpis,
    )
    from urbangrid.simulation import load_scenario, parse_overrides
    from urbangrid.simulation.guards import run_warnings
    from urbangrid.simulation.output import case_table
    from urbangrid.simulation.replications import t_interval
    from urbangrid.simulation.run import simulate
    from urbangrid.simulation.warmup import check_warmup

    log = ledger_log(store, t0, t1, _service_names())
    if log.empty:
        raise InputError(f"the ledger has no request in the period "
                         f"[{t0 or 'start'}, {t1 or 'end'})")
    times = log_times(log)
    from urbangrid.calendar import CHINA_TZ

    def local(t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, CHINA_TZ).replace(tzinfo=None)

    start = t0 or dt.datetime.combine(local(times["requested"].min()).date(), dt.time())
    end = t1 or local(times["requested"].max() + 1.0)
    epoch0 = start.replace(tzinfo=CHINA_TZ).timestamp()
    with store.read() as conn:
        last = conn.execute(sa.select(sa.func.max(events.c.at))).scalar()
    horizon = float(last or 0.0) if until is None else until.replace(
        tzinfo=CHINA_TZ).timestamp()
    if until is not None and horizon < float(last or 0.0):
        raise InputError(f"--until {until.isoformat()} is before the ledger's last change "
                         f"({dt.datetime.fromtimestamp(last, CHINA_TZ).isoformat()}): the "
                         "actual record would include later closings")
    until = max(horizon, end.replace(tzinfo=CHINA_TZ).timestamp())
    days = (end - start).total_seconds() / DAY
    drain = (until - epoch0) / DAY - days + 1e-6
    out.mkdir(parents=True, exist_ok=True)
    trace = out / "trace.csv"
    log.to_csv(trace, index=False)
    values = {"demand.trace": str(trace.resolve()),
              "run.start": start.isoformat(timespec="seconds"), "run.days": days,
              "run.warmup_days": 0.0, "run.drain_days": drain}
    if policy:
        values["dispatch.policy"] = policy
    if replications is not None:
        values["run.replications"] = replications
    if seed is not None:
        values["run.seed"] = seed
    roster = ledger_roster(store)
    staffing = staffing or ("roster" if len(roster) else "scenario")
    given = {**parse_overrides(overrides or []), **values}
    scenario = load_scenario(scenario_path, given)
    kept: list[str] = []
    if staffing == "roster":
        crews, shifts = roster_crews(roster)
        if not crews:
            raise InputError("--staffing roster: the ledger has no team on duty")
        # skills no team of the roster has keep the scenario's crews for them (the model
        # needs a crew for every category of its catalogue)
        have = {s for c in crews for s in c["skills"]}
        keep = [c for c in scenario.crews if not set(c.skills) <= have]
        kept = [c.name for c in keep]
        given.update({"crews": crews + [c.model_dump() for c in keep], "workstations": [],
                      **{f"shifts.{k}": v for k, v in shifts.items()}})
        scenario = load_scenario(scenario_path, given)
    actual = actual_kpis(log)
    ids = log["service_request_id"].to_numpy(dtype=str)
    reps = scenario.run.replications
    replayed: list[dict[str, float]] = []
    paired: dict[str, list[float]] = {"handling_days_calendar": [], "same_day": [],
                                      "on_time": []}
    case_level: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for rep in range(reps):
        result = simulate(scenario, replication=rep)
        if rep == 0:
            # A replay starts at the period's start with nothing open by construction
            # (the report says so): the steady-state guard does not apply.
            warnings = [w for w in run_warnings({}, result, check_warmup(result))
                        if not w.startswith("not steady")]
        cases = case_table(result).set_index("service_request_id")
        missing = set(ids) - set(cases.index)
        if missing or len(cases) != len(ids):
            raise RuntimeError(f"replay lost or duplicated cases: {len(cases)} simulated for "
                               f"{len(ids)} requests ({len(missing)} missing)")
        cases = cases.loc[ids]
        t_close = epoch0 + cases["closed_s"].to_numpy(dtype=float)
        t_disp = epoch0 + cases["dispatched_s"].to_numpy(dtype=float)
        replayed.append(outcome_kpis(times["requested"], t_close, times["deadline"], t_disp))
        same_r, on_r = case_outcomes(times["requested"], t_close, times["deadline"])
        same_a, on_a = case_outcomes(times["requested"], times["closed"], times["deadline"])
        both = np.isfinite(t_close) & np.isfinite(times["closed"])
        d_days = (t_close - times["closed"])[both] / DAY  # same receipt time: Δ handling
        diffs = {"handling_days_calendar": d_days,
                 "same_day": same_r.astype(float) - same_a,
                 "on_time": on_r.astype(float) - on_a}
        for k, v in diffs.items():
            paired[k].append(float(v.mean()) if v.size else np.nan)
        if rep == 0:
            case_level = diffs
    replayed_doc = {}
    for k in actual:
        vals = np.array([r[k] for r in replayed])
        mean, half, n = t_interval(vals)
        replayed_doc[k] = {"mean": mean, "ci95": half, "n": n}
    paired_doc = {}
    for k, per_rep in paired.items():
        if reps >= 2:
            mean, half, n = t_interval(np.array(per_rep))
            basis = f"{n} replications"
        else:  # one replication: the cases are the units
            v = case_level[k]
            mean, half, n = t_interval(v)
            basis = f"{n} cases"
        paired_doc[k] = {"mean_difference": mean, "ci95": half, "over": basis}
    doc = {
        "period": {"from": start.isoformat(timespec="seconds"),
                   "to": end.isoformat(timespec="seconds"),
                   "observed_until": dt.datetime.fromtimestamp(until, CHINA_TZ).isoformat(
                       timespec="seconds"),
                   "requests": int(len(log))},
        "scenario": scenario.name, "policy": scenario.dispatch.policy,
        "staffing": staffing, "crews": [c.model_dump() for c in scenario.crews],
        "scenario_crews_kept": kept,
        "replications": reps, "seed": scenario.run.seed,
        "actual": actual, "replayed": replayed_doc, "paired": paired_doc,
        "warnings": warnings,
    }
    from urbangrid.simulation import json_safe

    (out / "kpis.json").write_text(json.dumps(json_safe(doc), indent=1, ensure_ascii=False),
                                   encoding="utf-8")
    _report(out, doc)
    return doc


def _report(out: Path, doc: dict) -> Path:
    from .html import table, write_page

    def ci(mean, half):
        return f"{_fmt(mean)} ± {_fmt(half)}" if half is not None and math.isfinite(half) \
            else _fmt(mean)

    rows = [[k, _fmt(doc["actual"][k]), ci(v["mean"], v["ci95"])]
            for k, v in doc["replayed"].items()]
    pairs = [[k, ci(v["mean_difference"], v["ci95"]), v["over"]]
             for k, v in doc["paired"].items()]
    p = doc["period"]
    body = [
        f"<p>{p['requests']} requests received from {p['from']} to {p['to']} (local), "
        f"observed until {p['observed_until']}; replayed in scenario "
        f"<b>{doc['scenario']}</b> with policy <b>{doc['policy']}</b>, staffing "
        f"<b>{doc['staffing']}</b>, {doc['replications']} replication(s)."
        + (f" Skills the roster lacks keep the scenario's crews "
           f"{', '.join(doc['scenario_crews_kept'])}." if doc["scenario_crews_kept"] else "")
        + "</p>",
        "<h2>What happened and its replay</h2>",
        table(["KPI", "actual (ledger)", "replayed (mean ± 95 %)"], rows),
        "<h2>Paired per request: replayed − actual</h2>",
        table(["outcome", "mean difference ± 95 %", "interval over"], pairs),
    ]
    body.append("<p>The replay starts empty: requests still open before the period are "
                "not in it, while the real teams had them to work on.</p>")
    if doc["warnings"]:
        body += ["<h2>Warnings</h2>", "<ul>" + "".join(f"<li>{w}</li>" for w in
                                                        doc["warnings"]) + "</ul>"]
    return write_page(out / "report.html", f"Replay of {p['from']} – {p['to']}", body)
