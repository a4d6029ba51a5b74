"""Tables in, tables out: the file contract shared by ``urbangrid dispatch`` and the service.

:func:`read_table` reads a file, :func:`build_problem` checks a tasks and a teams table and
builds the :class:`DispatchProblem` on the district's cells, :func:`result_rows` turns an
:class:`Assignment` into the one-row-per-task result. The command line
(:mod:`urbangrid.optimizer.cli`) and the HTTP service's ``POST /dispatch`` both use these
three, so they accept, refuse and answer exactly alike.

Tasks table, one row per task:
    ``id``; position as ``lat`` + ``lon`` (WGS84) or ``cell`` (H3 id or cell index) or a
    point geometry; ``skill`` (skill names joined by ``;``; a ``category`` column is used
    as the skill name when there is no ``skill`` column); ``priority`` (> 0, default 1);
    ``deadline`` (ISO date-time or seconds); ``work_minutes`` (>= 0); optional ``crews``,
    ``pinned_team`` (id of the team that must keep the task: started) and ``current_team``
    (id of the team the task is assigned to now: moving it costs ``reassignment``), each
    empty for none.
Teams table, one row per team:
    ``id``; position as for tasks; ``skills`` (names joined by ``;``); ``capacity`` (>= 1);
    ``shift_start``, ``shift_end`` (ISO date-time or seconds); optional ``free_at``,
    ``load``, ``subdistrict`` (code of the home sub-district) and ``mode`` (travel mode).

Times are all ISO date-times or all numbers (seconds). Skill names must come from the
teams' skills (or ``skills``). A deadline before ``now`` is refused unless the caller
allows overdue tasks (``allow_overdue``: a backlog, whose lateness then counts in every
cost). :func:`problem_tables` writes a problem back as the two tables (the reference
instances of ``benchmarks/instances`` are frozen with it). Malformed input raises
:class:`InputError` naming the source, row and column; a well-formed task no team can
serve is deferred with its reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from urbangrid.errors import InputError

from .problem import Assignment, DeferReason, DispatchProblem, ScoreWeights

__all__ = ["build_problem", "problem_tables", "read_table", "result_rows"]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet or GeoJSON table; point geometries become ``lat``/``lon``."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            df = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".geojson", ".json", ".gpkg"):
            import geopandas as gpd

            gdf = gpd.read_file(path)
            if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
                gdf = gdf.to_crs("EPSG:4326")
            geom = gdf.geometry
            if len(gdf) and not (geom.geom_type == "Point").all():
                raise InputError("geometries must be points", source=str(path))
            df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
            if len(gdf) and "lat" not in df:
                df["lat"], df["lon"] = geom.y.to_numpy(), geom.x.to_numpy()
        else:
            raise InputError(f"unsupported file type {suffix!r} (use .csv, .parquet or "
                             f".geojson)", source=str(path))
    except InputError:
        raise
    except Exception as exc:  # parser errors of the underlying readers
        raise InputError(f"cannot read: {exc}", source=str(path)) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


class _Table:
    """A read table with error helpers that name the file, row and column."""

    def __init__(self, df: pd.DataFrame, source: str, what: str) -> None:
        self.df, self.source, self.what = df, source, what

    def fail(self, msg: str, row: int | None = None, col: str | None = None):
        where = ""
        if row is not None:
            rid = self.df["id"].iloc[row] if "id" in self.df else row
            where = f"row {row + 2} (id {rid})"  # +2: header line and 1-based rows
        if col:
            where = f"{where}, column {col!r}" if where else f"column {col!r}"
        raise InputError(f"{where}: {msg}" if where else msg, source=self.source)

    def need(self, *cols: str) -> None:
        for c in cols:
            if c not in self.df:
                self.fail(f"missing column {c!r} (columns: {', '.join(self.df.columns)})")

    def numbers(self, col: str, default: float | None = None) -> np.ndarray:
        if col not in self.df:
            if default is None:
                self.need(col)
            return np.full(len(self.df), float(default))
        v = pd.to_numeric(self.df[col], errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            self.fail(f"{self.df[col].iloc[bad[0]]!r} is not a finite number", bad[0], col)
        return v

    def ids(self) -> np.ndarray:
        """Integer ids, read exactly (a float column would round ids above 2**53) and
        within 64 bits (larger ones would wrap)."""
        self.need("id")
        col = self.df["id"]
        if pd.api.types.is_integer_dtype(col):
            ids = col.to_numpy().astype(np.int64)
        else:
            ids = np.zeros(len(col), np.int64)
            for row, raw in enumerate(col.tolist()):
                text = str(raw).strip()
                if text.endswith(".0"):  # an integer written by a float column
                    text = text[:-2]
                try:
                    value = int(text)
                except ValueError:
                    self.fail(f"id {raw!r} is not an integer", row, "id")
                if not -2**63 <= value < 2**63:
                    self.fail(f"id {raw!r} does not fit in 64 bits", row, "id")
                ids[row] = value
        s = pd.Series(ids)
        dup = s.duplicated(keep="first").to_numpy()
        if dup.any():
            self.fail(f"duplicate {self.what} id {ids[dup][0]}", int(np.flatnonzero(dup)[0]), "id")
        return ids


def _times(t: _Table, col: str, epoch: dict) -> np.ndarray:
    """Seconds from ISO date-times or numbers; all time columns must use one kind."""
    t.need(col)
    s = t.df[col]
    if pd.api.types.is_datetime64_any_dtype(s):  # e.g. GeoJSON readers parse ISO strings
        num = pd.Series(np.nan, index=s.index)
    else:
        num = pd.to_numeric(s, errors="coerce")
    kind = "seconds" if num.notna().all() else "iso"
    if epoch.setdefault("kind", kind) != kind:
        t.fail(f"mixes {kind} with {epoch['kind']} times elsewhere: use one kind", None, col)
    if kind == "seconds":
        return num.to_numpy(np.float64)
    dt = pd.to_datetime(s, errors="coerce", utc=False)
    bad = np.flatnonzero(dt.isna().to_numpy())
    if bad.size:
        t.fail(f"{s.iloc[bad[0]]!r} is not a date-time", bad[0], col)
    aware = getattr(dt.dt, "tz", None) is not None
    if epoch.setdefault("aware", aware) != aware:
        t.fail("mixes times with a UTC offset and times without one: use one kind", None,
               col)
    if aware:
        dt = dt.dt.tz_convert(None)  # UTC
    return (dt - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()


def _cells(t: _Table, district) -> np.ndarray:
    df = t.df
    if "cell" in df:
        raw = df["cell"]
        num = pd.to_numeric(raw, errors="coerce")
        if num.notna().all():
            cell = num.to_numpy().astype(np.int64)
        else:
            lookup = pd.Series(np.arange(district.n_cells), index=district.cells["h3"])
            cell = lookup.reindex(raw.astype(str).str.lower()).fillna(-1).to_numpy(np.int64)
        bad = np.flatnonzero((cell < 0) | (cell >= district.n_cells))
        if bad.size:
            t.fail(f"cell {raw.iloc[bad[0]]!r} is not a cell of the district", bad[0], "cell")
        return cell.astype(np.int32)
    if "lat" not in df or "lon" not in df:
        t.fail("needs 'lat' and 'lon' columns, a 'cell' column or point geometries")
    lat, lon = t.numbers("lat"), t.numbers("lon")
    cell = district.cell_of(lat, lon)
    bad = np.flatnonzero(cell < 0)
    if bad.size:
        t.fail(f"point ({lat[bad[0]]}, {lon[bad[0]]}) lies outside the district", bad[0])
    return cell


def _team_refs(t: _Table, col: str, team_id: np.ndarray) -> np.ndarray:
    """Team indices of an optional column of team ids (empty: none, -1)."""
    out = np.full(len(t.df), -1, np.int32)
    if col not in t.df:
        return out
    index = {int(v): k for k, v in enumerate(team_id.tolist())}
    for row, raw in enumerate(t.df[col].tolist()):
        if pd.isna(raw) or str(raw).strip() == "":
            continue
        text = str(raw).strip()
        text = text[:-2] if text.endswith(".0") else text  # a float column's integer
        try:
            out[row] = index[int(text)]
        except (ValueError, KeyError):
            t.fail(f"{raw!r} is not the id of a team in the teams table", row, col)
    return out


def _split(v) -> list[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    return [s.strip() for s in str(v).replace("|", ";").replace(",", ";").split(";") if s.strip()]


def _skill_masks(t: _Table, col: str, vocab: dict[str, int]) -> np.ndarray:
    out = np.zeros(len(t.df), np.int64)
    for r, v in enumerate(t.df[col].tolist()):  # names -> bits, once per file row
        for name in _split(v):
            if name not in vocab:
                t.fail(f"unknown skill {name!r} (known: {', '.join(vocab)})", r, col)
            out[r] |= np.int64(1) << vocab[name]
    return out


def build_problem(tasks: pd.DataFrame, teams: pd.DataFrame, district, *, now=None,
                  mode: str = "ebike", skills: str | None = None,
                  tasks_source: str = "tasks", teams_source: str = "teams",
                  with_cell_travel: bool = False, allow_overdue: bool = False):
    """Check the two tables and build the :class:`DispatchProblem`.

    Returns ``(problem, cells, epoch_kind)``; ``cells`` maps the problem's local cell
    index to the district's cell index; ``epoch_kind`` is ``"seconds"``, ``"iso"`` or
    ``"iso_utc"`` (ISO times with a UTC offset, read as UTC; ``now`` must then carry one
    too, and the plan's ETAs are written in UTC with theirs). ``allow_overdue`` accepts
    deadlines before ``now`` (else refused: usually a wrong date or time zone).
    """
    T = _Table(tasks, tasks_source, "task")
    M = _Table(teams, teams_source, "team")
    if len(tasks) == 0:
        T.fail("no tasks")
    if len(teams) == 0:
        M.fail("no teams")
    task_id, team_id = T.ids(), M.ids()
    epoch: dict = {}
    shift_start = _times(M, "shift_start", epoch)
    shift_end = _times(M, "shift_end", epoch)
    bad = np.flatnonzero(shift_end <= shift_start)
    if bad.size:
        M.fail("shift_end is not after shift_start (a team needs a shift)", bad[0], "shift_end")
    deadline = _times(T, "deadline", epoch)
    free_at = _times(M, "free_at", epoch) if "free_at" in teams else None
    if now is None:
        now_s = float(shift_start.min())
    else:
        num = pd.to_numeric(pd.Series([now]), errors="coerce").iloc[0]
        if epoch["kind"] == "seconds":
            if pd.isna(num):
                raise InputError(f"--now {now!r}: the files use seconds, give seconds")
            now_s = float(num)
        else:
            if not pd.isna(num):
                raise InputError(f"--now {now!r} is a number of seconds but the files use "
                                 "ISO date-times: give an ISO date-time")
            ts = pd.to_datetime(now, errors="coerce")
            if pd.isna(ts):
                raise InputError(f"--now {now!r} is not a date-time")
            if (ts.tzinfo is not None) != epoch.get("aware", False):
                raise InputError(
                    f"--now {now!r} {'has' if ts.tzinfo else 'lacks'} a UTC offset and the "
                    f"files' times {'do not' if ts.tzinfo else 'have one'}: write both "
                    "with an offset (or both without)")
            # the same instant as the files' times: UTC when they carry an offset
            now_s = (ts.tz_convert(None) if ts.tzinfo else ts).value / 1e9
    late = np.flatnonzero(deadline < now_s)
    if late.size and not allow_overdue:
        T.fail(f"deadline {tasks['deadline'].iloc[late[0]]!r} is before now", late[0], "deadline")
    work = T.numbers("work_minutes") * 60.0
    if (work < 0).any():
        T.fail("work_minutes must be >= 0", int(np.flatnonzero(work < 0)[0]), "work_minutes")
    priority = T.numbers("priority", 1.0)
    if (priority <= 0).any():
        T.fail("priority must be > 0", int(np.flatnonzero(priority <= 0)[0]), "priority")
    capacity = M.numbers("capacity")
    bad = np.flatnonzero((capacity < 1) | (capacity != np.round(capacity)))
    if bad.size:
        M.fail(f"capacity {capacity[bad[0]]!r} must be a whole number >= 1", bad[0], "capacity")
    crews = T.numbers("crews", 1.0)
    if ((crews < 1) | (crews != np.round(crews))).any():
        T.fail("crews must be a whole number >= 1", int(np.flatnonzero(crews < 1)[0]), "crews")
    load = M.numbers("load", 0.0)
    pinned = _team_refs(T, "pinned_team", team_id)
    current = _team_refs(T, "current_team", team_id)

    M.need("skills")
    skill_col = "skill" if "skill" in tasks else ("category" if "category" in tasks else None)
    if skill_col is None:
        T.fail("needs a 'skill' (or 'category') column")
    names = _split(skills) if skills else [n for v in teams["skills"] for n in _split(v)]
    vocab = {n: k for k, n in enumerate(dict.fromkeys(names))}
    if len(vocab) > 62:
        raise InputError(f"at most 62 skills are supported, got {len(vocab)}")
    team_skills = _skill_masks(M, "skills", vocab)
    task_skill = _skill_masks(T, skill_col, vocab)

    task_cell_d = _cells(T, district)
    team_cell_d = _cells(M, district)
    # the problem only needs the cells that occur: map them to 0..u-1
    cells, inv = np.unique(np.concatenate([task_cell_d, team_cell_d]), return_inverse=True)
    task_cell = inv[: task_cell_d.size].astype(np.int32)
    team_cell = inv[task_cell_d.size:].astype(np.int32)
    modes = (teams["mode"].fillna(mode).astype(str).to_numpy() if "mode" in teams
             else np.full(len(teams), mode))
    travel = np.empty((len(teams), cells.size), np.float32)
    for md in np.unique(modes):
        rows = np.flatnonzero(modes == md)
        if md not in district.speeds_kmh:
            M.fail(f"unknown travel mode {str(md)!r} (known: {', '.join(district.speeds_kmh)})",
                   rows[0], "mode")
        travel[rows] = district.travel_time(team_cell_d[rows], cells, mode=md)
    cell_travel = None
    if with_cell_travel:
        cell_travel = district.travel_time(cells, cells, mode=mode)
    sub_of = district.subdistrict_index
    team_area = np.full(len(teams), -1, np.int32)
    if "subdistrict" in teams:
        codes = district.subdistricts["code"].astype(str).tolist()
        for r, v in enumerate(teams["subdistrict"].tolist()):
            if pd.isna(v) or str(v).strip() == "":
                continue
            key = str(v).split(".")[0] if isinstance(v, float) else str(v)
            if key not in codes:
                M.fail(f"unknown sub-district {v!r}", r, "subdistrict")
            team_area[r] = codes.index(key)
    problem = DispatchProblem(
        now=now_s, task_id=task_id, task_cell=task_cell, task_priority=priority,
        task_skill=task_skill, task_deadline=deadline, task_work=work,
        task_area=sub_of[task_cell_d], task_crews=crews.astype(np.int32),
        task_pinned=pinned, task_current=current,
        team_id=team_id, team_cell=team_cell, team_skills=team_skills,
        team_free_at=free_at if free_at is not None else np.full(len(teams), now_s),
        team_capacity=capacity.astype(np.int32), team_shift_start=shift_start,
        team_shift_end=shift_end, team_load=load.astype(np.int32), team_area=team_area,
        travel=travel, weights=ScoreWeights(), cell_travel=cell_travel,
    )
    # ISO times with an offset were read as UTC: the plan's ETAs say so
    kind = "iso_utc" if epoch["kind"] == "iso" and epoch.get("aware") else epoch["kind"]
    return problem, cells, kind


def result_rows(problem: DispatchProblem, assignment: Assignment,
                time_kind: str = "seconds") -> pd.DataFrame:
    """One row per task: the result ``urbangrid dispatch`` writes and the service returns.

    Parameters
    ----------
    problem, assignment
        The solved problem and its assignment (routed or not).
    time_kind
        ``"iso"`` writes ETAs as ISO date-times (rounded to the second), ``"iso_utc"`` the
        same in UTC with its offset (input times that carried an offset), ``"seconds"`` as
        numbers, matching the input tables (the third value :func:`build_problem` returns).

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``status`` (``assigned``/``deferred``), ``team`` and ``order``
        (nullable integers, missing when deferred; ``order`` also when not routed),
        ``eta`` (missing when deferred), ``cost`` (rounded to 3 decimals), ``reason``
        (the :class:`DeferReason` name in lower case, empty when assigned) and, for
        several-crew assignments, ``crew_teams`` (team ids joined by ``;``).
    """
    a = assignment
    team = a.team
    assigned = team >= 0
    if time_kind in ("iso", "iso_utc"):
        stamps = pd.to_datetime(np.where(assigned, np.round(a.eta), np.nan), unit="s")
        if time_kind == "iso_utc":
            stamps = stamps.tz_localize("UTC")
        eta = [None if pd.isna(x) else x.isoformat() for x in stamps]
    else:
        eta = np.where(assigned, a.eta, np.nan)
    order = a.order if a.order is not None else np.full(team.size, -1)
    result = pd.DataFrame({
        "id": problem.task_id,
        "status": np.where(assigned, "assigned", "deferred"),
        "team": pd.Series(problem.team_id[np.maximum(team, 0)], dtype="Int64").where(assigned),
        "order": pd.Series(order, dtype="Int64").where(assigned & (a.order is not None)),
        "eta": eta,
        "cost": np.round(a.cost, 3),
        "reason": [DeferReason(int(r)).name.lower() if r else "" for r in a.reason],
    })
    if a.crew_teams is not None:
        crews = problem.team_id[np.maximum(a.crew_teams, 0)]
        result["crew_teams"] = [";".join(str(x) for x, k in zip(row, raw, strict=True) if k >= 0)
                                for row, raw in zip(crews, a.crew_teams, strict=True)]
    return result


def problem_tables(problem: DispatchProblem, *, task_cells, team_cells, skill_names,
                   modes, team_subdistricts=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tasks and teams tables of ``problem``: the inverse of :func:`build_problem`.

    Times are written as seconds (the problem's own clock), cells as the ids given, so
    that ``build_problem(tasks, teams, district, now=problem.now)`` on the district the ids
    belong to gives back the problem's tasks and teams (travel then comes from the
    district). Pinned and current tasks have no column: a problem with either is refused.

    Parameters
    ----------
    problem
        The snapshot.
    task_cells, team_cells
        The cell id (an H3 id, or a district cell index) of each task and each team.
    skill_names
        ``skill_names[b]`` names bit ``b`` of the skill masks.
    modes
        The travel mode of each team (or one for all).
    team_subdistricts
        The home sub-district code of each team (``None``/empty for district-wide), or
        None to leave the column out.
    """
    p = problem
    names = list(skill_names)

    def masks(values) -> list[str]:
        out = []
        for v in np.asarray(values, np.int64).tolist():
            bits = [b for b in range(63) if v >> b & 1]
            if bits and bits[-1] >= len(names):
                raise InputError(f"skill bit {bits[-1]} has no name ({len(names)} given)")
            out.append(";".join(names[b] for b in bits))
        return out

    tasks = pd.DataFrame({
        "id": p.task_id, "cell": list(task_cells), "skill": masks(p.task_skill),
        "priority": p.task_priority, "deadline": p.task_deadline,
        "work_minutes": p.task_work / 60.0, "crews": p.task_crews,
    })
    for col, ref in (("pinned_team", p.task_pinned), ("current_team", p.task_current)):
        if (ref >= 0).any():
            tasks[col] = pd.Series(p.team_id[np.maximum(ref, 0)], dtype="Int64").where(
                ref >= 0)
    teams = pd.DataFrame({
        "id": p.team_id, "cell": list(team_cells), "skills": masks(p.team_skills),
        "capacity": p.team_capacity, "shift_start": p.team_shift_start,
        "shift_end": p.team_shift_end, "free_at": p.team_free_at, "load": p.team_load,
        "mode": np.broadcast_to(np.asarray(modes, dtype=object), (p.n_teams,)),
    })
    if team_subdistricts is not None:
        teams["subdistrict"] = list(team_subdistricts)
    return tasks, teams
