"""Key performance indicators from a run's records, exactly defined.

Warm-up: the model simulates ``run.warmup_days`` first and **discards** them: only cases
*reported* in the statistics window ``[t_stats, t_end)`` enter the case KPIs, and the
time-weighted backlog and team utilisation are measured over that window only (the
backlog counts every open case, whenever it was reported).

Definitions (all over valid cases, i.e. excluding IoT false positives, unless stated):

``cases_created``
    Cases reported in the window (valid and invalid).
``cases_closed`` / ``cases_parked`` / ``cases_open_end`` / ``cases_invalid``
    Their state at the horizon; the four add up to ``cases_created``.
``handling_days_calendar_*`` / ``handling_days_working_*``
    ``closed − registered`` over closed cases, in calendar days and in working days
    (working seconds on the Chinese calendar / length of a working day); mean, p50, p90.
``same_day_rate``
    Share of registered cases closed on the calendar day they were registered.
``on_time_rate``
    Closed by the deadline, among cases closed or whose deadline has passed by the
    horizon (parked and still-open overdue cases count as late). The deadline is the
    category limit, or for a hotline work order its order type's limit in working days
    (``orders.types``).
``resolution_rate``
    Resolved / (closed + parked).
``satisfaction_rate``
    Satisfied final callbacks / hotline cases with a callback.
``backlog_mean``
    Time-weighted mean number of open cases (reported, not closed, parked or invalid);
    ``backlog_office_mean`` the part of it that is work orders with an office (all of an
    order's life but its crew part), ``backlog_crew_mean`` the rest.
``utilisation_mean``
    Mean over crews of (travel + work time) / on-duty time in the window.
``travel_share``
    Travel time / (travel + work) time, all crews.
``dispatch_delay_min_mean``
    First dispatch − first entry into the dispatch pool (after registration, forwarding
    and preparation), minutes, dispatched cases.
``misroutes``, ``reworks``, ``reopened``, ``extensions``
    Counts of those loops over the window's cases.
``teams`` / ``crew_utilisation_mean`` (departments)
    Teams holding a crew skill the department owns, and their mean utilisation (as
    ``utilisation_mean``).
``handling_subdistrict_max_min`` / ``handling_subdistrict_gini`` (fairness)
    Spread of ``handling_days_calendar_mean`` over the sub-districts with at least
    ``FAIR_MIN_CASES`` closed cases in the window: the largest over the smallest, and the
    Gini coefficient of the sub-districts' means (each sub-district one unit: 0 = all
    alike, 1 = all the time in one).
``handling_channel_max_min`` / ``handling_channel_gini`` (fairness)
    The same over the channels (IoT, patrol, hotline, other).
``on_time_worst_subdistrict`` (fairness)
    The lowest ``on_time_rate`` of a sub-district (same rule).

Groups (:func:`compute_kpis`): all cases, each channel, each sub-district (the cell a
case was reported in), each sub-district × channel, each department (the cases of the
categories whose crew skill it owns, as the work orders route them), each work-order
office, and ``fairness``: how evenly service is spread over sub-districts and channels
(replications give its interval like any other KPI's).
"""

from __future__ import annotations

import numpy as np

from urbangrid.calendar import DAY
from urbangrid.catalogue import CHANNELS

from .codes import Channel, Event, Status

__all__ = [
    "DEPARTMENT_PREFIX", "GROUP_KPIS", "KPI_NAMES", "OFFICE_PREFIX",
    "SUBDISTRICT_CHANNEL_PREFIX", "SUBDISTRICT_PREFIX", "SUMMARY_KPIS", "FAIRNESS",
    "FAIR_MIN_CASES", "category_departments", "fairness_kpis", "gini", "daily_backlog",
    "kpi_definitions", "backlog_series", "case_table_metrics", "compute_kpis",
]

KPI_NAMES = (
    "cases_created", "cases_closed", "cases_open_end", "cases_parked", "cases_invalid",
    "handling_days_calendar_mean", "handling_days_calendar_p50",
    "handling_days_calendar_p90", "handling_days_working_mean",
    "handling_days_working_p50", "handling_days_working_p90", "same_day_rate",
    "on_time_rate", "resolution_rate", "satisfaction_rate", "backlog_mean",
    "backlog_crew_mean", "backlog_office_mean",
    "utilisation_mean", "travel_share", "dispatch_delay_min_mean", "misroutes", "reworks",
    "reopened", "extensions", "throughput_per_day",
)

#: The KPIs of summary tables (the ``simulate`` table, reports), with a display format.
SUMMARY_KPIS: tuple[tuple[str, str], ...] = (
    ("cases_created", "{:,.0f}"), ("cases_closed", "{:,.0f}"), ("cases_open_end", "{:,.0f}"),
    ("cases_parked", "{:,.0f}"), ("handling_days_calendar_mean", "{:.2f}"),
    ("handling_days_calendar_p50", "{:.2f}"), ("handling_days_calendar_p90", "{:.2f}"),
    ("handling_days_working_mean", "{:.2f}"), ("same_day_rate", "{:.1%}"),
    ("on_time_rate", "{:.1%}"), ("resolution_rate", "{:.1%}"),
    ("satisfaction_rate", "{:.1%}"), ("backlog_mean", "{:,.0f}"),
    ("utilisation_mean", "{:.1%}"), ("dispatch_delay_min_mean", "{:.1f}"),
    ("misroutes", "{:,.0f}"), ("reworks", "{:,.0f}"),
)


def case_table_metrics(result) -> dict[str, np.ndarray]:
    """Per-case derived columns: handling time in both units, deadline, on-time, same day."""
    c = result.cases
    cal = result.calendar
    closed = c["status"] == Status.CLOSED
    reg, close = c["t_register"], c["t_close"]
    hd = np.where(closed, (close - reg) / DAY, np.nan)
    hw = np.full(hd.shape, np.nan)
    if closed.any():
        hw[closed] = cal.working_days_between(reg[closed], close[closed])
    dl = result.catalogue.deadlines(cal, reg, c["category"])
    # A hotline work order is due by its order type's published limit (1 / 3 / 5 / 15
    # working days in the Jing'an Daning Road sub-district 12345 rules, 2019) from
    # registration, not by its category's.
    otype = c.get("order_type")
    if otype is not None:
        has = (otype >= 0) & np.isfinite(reg)
        if has.any():
            limits = np.array([t.limit_working_days
                               for t in result.scenario.orders.types.values()])
            dl[has] = cal.add_working(reg[has], limits[otype[has]] * cal.day_length)
    same = closed & (cal.day_index(np.nan_to_num(close)) == cal.day_index(np.nan_to_num(reg)))
    on_time = closed & (close <= dl)
    return {"handling_days_calendar": hd, "handling_days_working": hw, "deadline": dl,
            "same_day": same, "on_time": on_time}


def kpi_definitions() -> list[tuple[str, str]]:
    """``(KPI names, definition)`` pairs, read from this module's docstring (the one
    place the definitions are written), for the reports."""
    text = (__doc__ or "").split("Definitions", 1)[-1]
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines()[1:]:
        if line.startswith("``"):
            out.append((line.replace("``", "").strip(), []))
        elif line.startswith("    ") and out:
            out[-1][1].append(line.strip())
    return [(name, " ".join(body).replace("``", "")) for name, body in out]


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else float("nan")


def _q(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q)) if x.size else float("nan")


def _case_kpis(result, sel: np.ndarray, m: dict[str, np.ndarray]) -> dict[str, float]:
    """Case KPIs of the cases ``sel`` selects: a boolean mask, or ascending indices
    (the same figures; indices cost what the group holds, not the whole run)."""
    c = result.cases
    st = c["status"][sel]
    valid = st != Status.INVALID
    closed = st == Status.CLOSED
    parked = st == Status.PARKED
    invalid = ~valid
    hd = m["handling_days_calendar"][sel][closed]
    hw = m["handling_days_working"][sel][closed]
    registered = valid & ~np.isnan(c["t_register"][sel])
    dl = m["deadline"][sel]
    known = valid & (closed | (dl <= result.t_end))
    sat = c["satisfied"][sel]
    res = c["resolved"][sel]
    finished = closed | parked
    td = c["t_dispatch"][sel] - c["t_pool"][sel]
    td = td[~np.isnan(td)]
    n = int(sel.sum()) if sel.dtype == bool else int(sel.size)
    return {
        "cases_created": float(n),
        "cases_closed": float(closed.sum()),
        "cases_parked": float(parked.sum()),
        "cases_invalid": float(invalid.sum()),
        "cases_open_end": float(n - closed.sum() - parked.sum() - invalid.sum()),
        "handling_days_calendar_mean": _mean(hd),
        "handling_days_calendar_p50": _q(hd, 0.5),
        "handling_days_calendar_p90": _q(hd, 0.9),
        "handling_days_working_mean": _mean(hw),
        "handling_days_working_p50": _q(hw, 0.5),
        "handling_days_working_p90": _q(hw, 0.9),
        "same_day_rate": float(m["same_day"][sel][registered].mean())
        if registered.any() else float("nan"),
        "on_time_rate": float(m["on_time"][sel][known].mean()) if known.any() else float("nan"),
        "resolution_rate": float((res[finished] == 1).mean()) if finished.any()
        else float("nan"),
        "satisfaction_rate": float((sat[sat >= 0] == 1).mean()) if (sat >= 0).any()
        else float("nan"),
        "dispatch_delay_min_mean": _mean(td) / 60.0 if td.size else float("nan"),
        "misroutes": float(c["n_misroute"][sel].sum()),
        "reworks": float(c["n_rework"][sel].sum()),
        "reopened": float(c["n_reopen"][sel].sum()),
        "extensions": float(c["n_extension"][sel].sum()),
    }


def backlog_series(result, step_s: float = 3600.0, *, start: float | None = None,
                   end: float | None = None, cases: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Open cases at ``start, start + step, …`` up to ``end`` (default start: the end of
    the warm-up, 0 for the whole run as the warm-up detection reads it; default end: the
    horizon, :func:`run_end` for the drain too); only those of the boolean mask
    ``cases`` when given."""
    c = result.cases
    report, close = c["t_report"], c["t_close"]
    if cases is not None:
        report, close = report[cases], close[cases]
    ends = np.sort(np.where(np.isnan(close), np.inf, close))
    starts = np.sort(report)
    t0 = result.t_stats if start is None else start
    t1 = result.t_end if end is None else end
    grid = np.arange(t0, t1 + 1e-9, step_s)
    counts = np.searchsorted(starts, grid, side="right") - np.searchsorted(ends, grid,
                                                                          side="right")
    return grid, counts


def run_end(result) -> float:
    """When the run stopped: the horizon plus ``run.drain_days`` (arrivals go on in the
    drain, so the open cases after the horizon show how a backlog recovers)."""
    return result.t_end + result.scenario.run.drain_days * DAY


def daily_backlog(result, *, start: float | None = None,
                  cases: np.ndarray | None = None) -> np.ndarray:
    """Daily means of the hourly open-case counts from ``start`` (default: the end of the
    warm-up) over whole days: the day's cycle of arrivals and office hours averaged out,
    as the warm-up detection and the run-time guards read the backlog (of the cases in
    the boolean mask ``cases`` when given)."""
    _, counts = backlog_series(result, 3600.0, start=start, cases=cases)
    days = counts.size // 24
    return counts[: 24 * days].reshape(days, 24).mean(axis=1)


def _backlog_mean(result) -> float:
    c = result.cases
    a, b = result.t_stats, result.t_end
    s = c["t_report"]
    e = np.where(np.isnan(c["t_close"]), np.inf, c["t_close"])
    overlap = np.clip(np.minimum(e, b) - np.maximum(s, a), 0.0, None)
    return float(overlap.sum() / (b - a))


def _field_seconds(result) -> float:
    """Case-seconds in the window that work orders spent with the crews (from each
    ``field_requested`` row to the case's next ``field_done``, or the window's end)."""
    ev = result.events
    a, b = result.t_stats, result.t_end
    sel = np.flatnonzero((ev["kind"] == Event.FIELD_REQUESTED) | (ev["kind"] == Event.FIELD_DONE))
    if sel.size == 0:
        return 0.0
    case, t, kind = ev["case"][sel], ev["time"][sel], ev["kind"][sel]
    order = np.lexsort((t, case))  # by case, then time (rows alternate per case)
    case, t, kind = case[order], t[order], kind[order]
    start = kind == Event.FIELD_REQUESTED
    nxt_same = np.zeros(start.shape, dtype=bool)
    nxt_same[:-1] = (case[1:] == case[:-1]) & (kind[1:] == Event.FIELD_DONE)
    end = np.full(t.shape, np.inf)
    end[:-1] = np.where(nxt_same[:-1], t[1:], np.inf)
    lo = np.maximum(t[start], a)
    hi = np.minimum(end[start], b)
    return float(np.clip(hi - lo, 0.0, None).sum())


def work_orders(result) -> np.ndarray:
    """Boolean mask of the cases that are work orders, handled by the offices (with a
    crew part when they need one): hotline cases with an order type, and those not yet
    through intake, which are with the municipal centre."""
    c = result.cases
    order = c.get("order_type")
    is_order = (order >= 0) if order is not None else np.zeros(c["t_report"].shape, bool)
    return is_order | ((c["channel"] == Channel.HOTLINE) & ~np.isfinite(c["t_register"])
                       & result.scenario.orders.enabled)


def _backlog_split(result) -> tuple[float, float]:
    """Time-weighted mean open cases waiting for a crew and for an office: a work order
    is with an office except while its crew part runs; every other open case waits for
    the crews (registration, dispatch, crew queue, verification)."""
    c = result.cases
    a, b = result.t_stats, result.t_end
    s = c["t_report"]
    e = np.where(np.isnan(c["t_close"]), np.inf, c["t_close"])
    overlap = np.clip(np.minimum(e, b) - np.maximum(s, a), 0.0, None)
    is_order = work_orders(result)
    field = _field_seconds(result)
    office = overlap[is_order].sum() - field
    crew = overlap[~is_order].sum() + field
    return float(crew / (b - a)), float(office / (b - a))


#: Prefix of the per-organisation groups of :func:`compute_kpis` (``"office:housing"``).
OFFICE_PREFIX = "office:"


#: KPIs every group has (channels, sub-districts); the others are district-wide only.
GROUP_KPIS = tuple(k for k in KPI_NAMES if k not in (
    "backlog_mean", "backlog_crew_mean", "backlog_office_mean", "utilisation_mean",
    "travel_share", "throughput_per_day"))

#: Prefix of the per-sub-district groups of :func:`compute_kpis` (``"sub:310106100"``).
SUBDISTRICT_PREFIX = "sub:"

#: Prefix of the sub-district × channel groups (``"subchannel:310106100/hotline"``).
SUBDISTRICT_CHANNEL_PREFIX = "subchannel:"

#: Prefix of the per-department groups (``"department:housing"``).
DEPARTMENT_PREFIX = "department:"


def category_departments(catalogue, departments) -> list[str]:
    """The department code of each category (``Departments.category_owners``, the rule
    the work orders route by)."""
    return departments.category_owners(catalogue.skill)


def _groups(keys: np.ndarray, index: np.ndarray, n: int) -> list[np.ndarray]:
    """``index`` split by ``keys`` (0 .. n-1, one per index): each group's indices in
    ascending order."""
    order = np.argsort(keys, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))])
    return [index[order[bounds[k]:bounds[k + 1]]] for k in range(n)]


def _department_groups(result, window: np.ndarray, m, util: np.ndarray,
                       out: dict[str, dict[str, float]]) -> None:
    """The per-department groups of :func:`compute_kpis`: case KPIs of the categories it
    owns, and the teams holding one of its skills with their mean utilisation."""
    from urbangrid.organisations import load_departments

    cat = result.catalogue
    owner = category_departments(cat, load_departments())
    codes = list(dict.fromkeys(owner))
    dept_of_cat = np.array([codes.index(d) for d in owner], dtype=np.int64)
    idx = np.flatnonzero(window)
    groups = _groups(dept_of_cat[result.cases["category"][idx]], idx, len(codes))
    skills = cat.skills
    team_skills = result.teams["skills"]
    for k, code in enumerate(codes):
        row = _case_kpis(result, groups[k], m)
        bits = 0
        for s, d in zip(cat.skill, owner, strict=True):
            if d == code:
                bits |= 1 << skills.index(s)
        serving = (team_skills & bits) != 0
        row["teams"] = float(serving.sum())
        u = util[serving]
        row["crew_utilisation_mean"] = (float(np.nanmean(u)) if np.isfinite(u).any()
                                        else float("nan"))
        out[DEPARTMENT_PREFIX + code] = row


def compute_kpis(result) -> dict[str, dict[str, float]]:
    """KPIs of one run: ``{"all": {name: value}, "iot": {...}, "patrol": …,
    "sub:<code>": {...}, "subchannel:<code>/<channel>": {...}, "department:<code>":
    {...}, "office:<name>": {...}}`` — all cases, each channel, each sub-district's cases
    (by the cell they were reported in; case KPIs only), each sub-district × channel,
    each department and each work-order office."""
    c = result.cases
    m = case_table_metrics(result)
    window = (c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end)
    out = {"all": _case_kpis(result, window, m)}
    for k, name in enumerate(CHANNELS):
        out[name] = _case_kpis(result, window & (c["channel"] == k), m)
        if k != Channel.HOTLINE:
            out[name]["satisfaction_rate"] = float("nan")
    space = result.space
    sub = space.subdistrict[c["cell"]]
    for k, code in enumerate(space.sub_codes):
        out[SUBDISTRICT_PREFIX + str(code)] = _case_kpis(result, window & (sub == k), m)
    idx = np.flatnonzero(window)
    nch = len(CHANNELS)
    cells = _groups(sub[idx].astype(np.int64) * nch + c["channel"][idx].astype(np.int64),
                    idx, space.n_subdistricts * nch)
    for k, code in enumerate(space.sub_codes):
        for j, name in enumerate(CHANNELS):
            row = _case_kpis(result, cells[k * nch + j], m)
            if j != Channel.HOTLINE:
                row["satisfaction_rate"] = float("nan")
            out[f"{SUBDISTRICT_CHANNEL_PREFIX}{code}/{name}"] = row
    a = out["all"]
    a["backlog_mean"] = _backlog_mean(result)
    a["backlog_crew_mean"], a["backlog_office_mean"] = _backlog_split(result)
    for name, row in getattr(result, "organisations", {}).items():
        out[OFFICE_PREFIX + name] = {k: float(v) for k, v in row.items()
                                     if isinstance(v, (int, float)) and not isinstance(v, bool)}
    days = (result.t_end - result.t_stats) / DAY
    a["throughput_per_day"] = a["cases_closed"] / days
    teams = result.teams
    duty = np.array([teams["patterns"][p].on_duty_seconds(result.t_stats, result.t_end)
                     for p in teams["pattern"]])
    busy = teams["busy_s"]
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(duty > 0, busy / duty, np.nan)
    a["utilisation_mean"] = float(np.nanmean(util)) if np.isfinite(util).any() else float("nan")
    a["travel_share"] = float(teams["travel_s"].sum() / busy.sum()) if busy.sum() > 0 \
        else float("nan")
    _department_groups(result, window, m, util, out)
    out[FAIRNESS] = fairness_kpis(
        [out[SUBDISTRICT_PREFIX + str(code)] for code in space.sub_codes],
        [out[name] for name in CHANNELS])
    return out


#: The group of :func:`fairness_kpis` in :func:`compute_kpis`'s result.
FAIRNESS = "fairness"
#: Closed cases a sub-district (or channel) needs in the window to enter the spread.
FAIR_MIN_CASES = 30


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0: all equal; NaN for none or all 0)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return float("nan")
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * x).sum()) / (n * x.sum()) - (n + 1.0) / n)


def fairness_kpis(subdistricts: list[dict[str, float]],
                  channels: list[dict[str, float]]) -> dict[str, float]:
    """The fairness group (definitions in the module docstring) from the sub-districts'
    and the channels' KPI rows."""
    def usable(rows):
        idx = [k for k, r in enumerate(rows)
               if r.get("cases_closed", 0) >= FAIR_MIN_CASES
               and np.isfinite(r.get("handling_days_calendar_mean", np.nan))]
        return idx, np.array([rows[k]["handling_days_calendar_mean"] for k in idx])

    def max_min(v):
        return float(v.max() / v.min()) if v.size and v.min() > 0 else float("nan")

    sub_idx, sub = usable(subdistricts)
    _, chan = usable(channels)
    on_time = np.array([subdistricts[k].get("on_time_rate", np.nan) for k in sub_idx])
    ok = np.isfinite(on_time)
    return {
        "handling_subdistrict_max_min": max_min(sub),
        "handling_subdistrict_gini": gini(sub),
        "handling_channel_max_min": max_min(chan),
        "handling_channel_gini": gini(chan),
        "on_time_worst_subdistrict": float(on_time[ok].min()) if ok.any() else float("nan"),
    }
