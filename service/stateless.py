"""``POST /dispatch``: the stateless contract of ``urbangrid dispatch`` over HTTP.

The tasks and teams tables arrive as JSON rows with the columns the command's files have
(see :mod:`urbangrid.optimizer.tables`); they are checked and turned into a problem by
:func:`urbangrid.optimizer.build_problem` and the answer rows are built by
:func:`urbangrid.optimizer.result_rows`, the two functions the command uses, so both front
ends accept, refuse and answer alike.

What JSON adds, checked here before the tables reach the optimizer:

- a cell holds a number, a string, a boolean or null (no lists or objects), integers fit
  in 64 bits (ids are int64; ``capacity``, ``crews`` and ``load`` are 32-bit counts), and
  two keys that differ only in case (``lat`` and ``LAT``) are one column given twice;
- date-times with a UTC offset are read as the instants they name: every ISO time of the
  tables and ``now`` is turned into UTC before the optimizer sees it (the tables' and
  ``now``'s offsets may differ), and the ETAs come back with ``now``'s offset (else the
  first team's ``shift_start``'s). Times with and without an offset are not mixed (a
  naive time has no instant), nor seconds with ISO date-times;
- tasks needing several crews at once (``crews`` > 1) are only staffed by ``cpsat``;
  another method is refused rather than silently staffing one team.

Error texts are the optimizer's with NumPy scalar reprs (``np.float64(1.5)``) written as
plain numbers.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from urbangrid.errors import InputError
from urbangrid.optimizer import Router, build_problem, result_rows, solve

__all__ = ["dispatch_tables"]

#: the tables' time columns, by table
TIME_COLUMNS = {"tasks": ("deadline",), "teams": ("shift_start", "shift_end", "free_at")}
#: columns the optimizer stores as 32-bit counts
COUNT_COLUMNS = ("capacity", "crews", "load")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|bool|str)\w*\(([^()]*)\)")


def _plain(message: str) -> str:
    """``np.float64(1.5)`` -> ``1.5`` in an error text (NumPy 2 scalar reprs)."""
    return _NUMPY_REPR.sub(r"\1", message)


def _where(source: str, r: int, row: dict, col: str) -> str:
    rid = row.get("id", row.get("ID"))
    return f"{source}: row {r + 2}{f' (id {rid})' if rid is not None else ''}, column {col!r}"


def _frame(rows: list[dict], source: str) -> pd.DataFrame:
    """The rows as a table with lower-case column names (as the command reads files),
    after the JSON-only checks of the module docstring."""
    names: dict[str, str] = {}
    for r, row in enumerate(rows):
        for key, v in row.items():
            col = str(key).strip().lower()
            first = names.setdefault(col, key)
            if first != key:
                raise InputError(f"{source}: columns {first!r} and {key!r} are the same column "
                                 "given twice (column names are case-insensitive)")
            if v is not None and not isinstance(v, str | int | float | bool):
                raise InputError(f"{_where(source, r, row, key)}: a cell holds a number, a "
                                 f"string or null, not a JSON {type(v).__name__}")
            if isinstance(v, int) and not isinstance(v, bool):
                bound = 2**31 - 1 if col in COUNT_COLUMNS else INT64_MAX
                if not INT64_MIN <= v <= bound:
                    raise InputError(f"{_where(source, r, row, key)}: {v} is outside the "
                                     f"range of {'32' if bound < INT64_MAX else '64'}-bit "
                                     "integers")
            if col == "id" and not isinstance(v, int | type(None)):
                _check_id_text(v, source, r, row, key)
    df = pd.DataFrame.from_records(rows)
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def _check_id_text(v, source: str, r: int, row: dict, key: str) -> None:
    # a float or string id: whole and exactly representable, else the int64 cast of the
    # optimizer would wrap it (2**70 came back as -9223372036854775808)
    try:
        x = float(v)
    except (TypeError, ValueError):
        return  # not a number: the optimizer names it
    if np.isfinite(x) and abs(x) >= 2**53:
        raise InputError(f"{_where(source, r, row, key)}: {v!r} is too large for an exact id "
                         "(give ids as JSON integers of at most 64 bits)")


def _parse_time(v) -> pd.Timestamp | None:
    if not isinstance(v, str):
        return None
    try:
        return pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError):
        return None  # the optimizer names the cell


def _to_utc_text(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").tz_localize(None).isoformat()


def _normalise_times(frames: dict[str, pd.DataFrame], now):
    """Turn every ISO time with an offset into naive UTC (the optimizer reads naive times
    as one clock); returns ``(now, eta_offset)``: ``now`` as the optimizer takes it and
    the offset for the ETAs (``None``: the tables' times are naive or seconds)."""
    aware = naive = None  # an example of each: (where, value)
    parsed: dict[tuple[str, str], list] = {}
    for source, cols in TIME_COLUMNS.items():
        df = frames[source]
        for col in cols:
            if col not in df:
                continue
            stamps = [_parse_time(v) for v in df[col].tolist()]
            parsed[source, col] = stamps
            for r, ts in enumerate(stamps):
                if ts is None:
                    continue
                here = (f"{source}: row {r + 2}, column {col!r}", df[col].iloc[r])
                if ts.tzinfo is None:
                    naive = naive or here
                else:
                    aware = aware or here
    kind = "iso"
    if "shift_start" in frames["teams"]:
        numeric = pd.to_numeric(frames["teams"]["shift_start"], errors="coerce")
        kind = "seconds" if len(numeric) and numeric.notna().all() else "iso"
    now_ts = None
    if now is not None:
        if kind == "seconds":
            try:
                now = float(now)
            except (TypeError, ValueError):
                raise InputError(f"now: {now!r}: the tables give times in seconds, so give "
                                 "now in seconds too") from None
        else:
            if not isinstance(now, str):
                raise InputError(f"now: {now!r}: the tables give ISO 8601 date-times, so give "
                                 "now as one too (e.g. 2026-12-06T09:00:00+08:00)")
            now_ts = _parse_time(now)
            if now_ts is None:
                raise InputError(f"now: {now!r} is not an ISO 8601 date-time")
            if now_ts.tzinfo is None:
                naive = naive or ("now", now)
            else:
                aware = aware or ("now", now)
    if aware and naive:
        raise InputError(f"times with a UTC offset ({aware[0]}: {aware[1]!r}) and without one "
                         f"({naive[0]}: {naive[1]!r}) cannot be compared: give every time "
                         "with an offset (or none)")
    if not aware:
        return now, None
    for (source, col), stamps in parsed.items():
        frames[source][col] = [
            _to_utc_text(ts) if ts is not None else v
            for ts, v in zip(stamps, frames[source][col].tolist(), strict=True)]
    if now_ts is not None:
        return _to_utc_text(now_ts), now_ts.tzinfo
    first = next((ts for ts in parsed.get(("teams", "shift_start"), []) if ts is not None),
                 None)
    return now, (first.tzinfo if first is not None else dt.UTC)


def _json_rows(df: pd.DataFrame) -> list[dict]:
    """Records with JSON-native values: Python ints/floats/strings, ``None`` when missing."""
    cols = {c: [None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v
                for v in df[c].tolist()] for c in df.columns}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def dispatch_tables(district, tasks: list[dict], teams: list[dict], *, now=None,
                    method: str = "mcf", mode: str = "ebike", skills: str | None = None,
                    time_limit: float | None = None, seed: int = 0,
                    routes: bool = False) -> dict:
    """Solve one batch; returns ``{"assignments": rows, "summary": {...}}``.

    Raises
    ------
    InputError
        Malformed tables, naming the table (``tasks``/``teams``), row and column.
    """
    try:
        return _dispatch(district, tasks, teams, now=now, method=method, mode=mode,
                         skills=skills, time_limit=time_limit, seed=seed, routes=routes)
    except InputError as exc:
        raise InputError(_plain(str(exc))) from None


def _dispatch(district, tasks, teams, *, now, method, mode, skills, time_limit, seed,
              routes) -> dict:
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"time_limit must be > 0, got {time_limit}")
    frames = {"tasks": _frame(tasks, "tasks"), "teams": _frame(teams, "teams")}
    now, eta_offset = _normalise_times(frames, now)
    if "crews" in frames["tasks"] and method != "cpsat":
        crews = pd.to_numeric(frames["tasks"]["crews"], errors="coerce").to_numpy(np.float64)
        several = np.flatnonzero(crews > 1)
        if several.size:
            i = int(several[0])
            raise InputError(f"{_where('tasks', i, tasks[i], 'crews')}: {crews[i]:g} crews "
                             f"at once need method 'cpsat' (method {method!r} sends one team "
                             "to a task)")
    problem, _, kind = build_problem(
        frames["tasks"], frames["teams"], district, now=now, mode=mode,
        skills=skills, tasks_source="tasks", teams_source="teams", with_cell_travel=routes)
    a = solve(problem, method=method, time_limit=time_limit, seed=seed)
    if routes:
        a = Router("auto", seed=seed)(problem, a)
    rows = result_rows(problem, a, kind)
    if eta_offset is not None:
        rows["eta"] = [None if e is None else pd.Timestamp(e).tz_localize("UTC")
                       .tz_convert(eta_offset).isoformat() for e in rows["eta"]]
    lb = float(a.lower_bound)
    return {"assignments": _json_rows(rows), "summary": {
        "tasks": problem.n_tasks, "teams": problem.n_teams, "assigned": a.n_assigned,
        "deferred": a.n_deferred, "objective": float(a.objective),
        "lower_bound": lb if np.isfinite(lb) else None, "method": a.method,
        "status": a.status, "solve_seconds": float(a.solve_seconds)}}
