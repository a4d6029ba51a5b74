"""KPIs of a hall run, replications with 95 % intervals, and the ``hall_kpis.json``
document.

Definitions (statistics window ``[t_stats, t_end)``; a request belongs to the window
when it first arrived in it, and is followed until the end of the drain):

``requests_per_day``
    Requests per weekday (Monday – Friday working days of the window): in group
    ``all``, those at the **district hall** (the seed's ~600); per channel, that
    channel's; per department, the department's over all channels.
``applications_per_day``
    All channels, per weekday (``all`` only).
``wait_min_mean``, ``wait_min_p90``, ``wait_share_over_target``
    Minutes from ticket to the start of service, over visits whose ticket was drawn in
    the window (district hall in ``all`` and per department; each counter channel's
    own sites per channel).
``abandoned_share``
    Visits whose walk-in left the queue after ``hall.service.patience_min`` (0 when
    abandonment is off, the default).
``counter_utilisation``
    Busy counter-seconds over scheduled counter-seconds in the window (district hall
    in ``all``).
``trips_per_matter_mean``, ``trips_over_one_share``
    Visits to a counter per approved matter (online and no-application: 0), and the
    share of approved matters that needed more than one trip (最多跑一次).
``approval_days_working_mean``, ``approval_days_calendar_mean``
    From first arrival to approval, approved matters.
``on_time_rate``
    Approved by the promised deadline (from acceptance), among approved matters.
``online_share``
    Online submissions among the requests that needed one (no-application excluded).
``completed_share``
    Approved by the end of the drain.
``backoffice_utilisation`` (per department)
    The department's back office: staff-seconds of review work over staff on duty in the
    window (:class:`urbangrid.simulation.offices.Office`).

Groups ``hour:HH`` hold the district hall's visits (``visits_per_day``: visits of the
window, Saturday mornings included, per weekday of it) and their waits by hour of the
ticket. Groups ``window:<name>`` hold, per window group of the district hall, the visits it
served a weekday, their waits and its utilisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from urbangrid.calendar import DAY

from .model import ABANDONED, CHANNELS, HALL, NOAPP, ONLINE, SUB, HallPlan, HallRun, build_plan
from .model import HallModel as _HallModel
from .scenario import HallScenario

__all__ = ["CHANNEL_PREFIX", "DEPT_PREFIX", "HALL_KPIS", "HOUR_PREFIX", "WINDOW_PREFIX",
           "hall_kpis",
           "hall_kpis_document", "hourly_profile", "run_hall_replications"]

DEPT_PREFIX = "dept:"
CHANNEL_PREFIX = "channel:"
WINDOW_PREFIX = "window:"
HOUR_PREFIX = "hour:"
#: The KPIs shown in tables, with a format.
HALL_KPIS = (
    ("requests_per_day", "{:,.0f}"), ("applications_per_day", "{:,.0f}"),
    ("wait_min_mean", "{:.1f}"), ("wait_min_p90", "{:.1f}"),
    ("wait_share_over_target", "{:.1%}"), ("abandoned_share", "{:.1%}"),
    ("counter_utilisation", "{:.1%}"),
    ("trips_per_matter_mean", "{:.3f}"), ("trips_over_one_share", "{:.1%}"),
    ("approval_days_working_mean", "{:.2f}"), ("approval_days_calendar_mean", "{:.2f}"),
    ("on_time_rate", "{:.1%}"), ("online_share", "{:.1%}"), ("completed_share", "{:.1%}"),
)


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _p90(x: np.ndarray) -> float:
    return float(np.percentile(x, 90)) if x.size else math.nan


def _weekdays(run: HallRun) -> int:
    """Monday – Friday working days inside the window."""
    cal = run.calendar
    d0 = int(math.floor(run.t_stats / DAY))
    d1 = int(math.ceil(run.t_end / DAY - 1e-9))
    return sum(1 for d in range(d0, d1)
               if cal.workday[d] and cal.dates[d].weekday() < 5) or 1


def _busy_and_duty(run: HallRun, mask_counters: np.ndarray) -> tuple[float, float]:
    v = run.visits
    lo, hi = run.t_stats, run.t_end
    sel = mask_counters[np.maximum(v["counter"], 0)] & (v["counter"] >= 0)
    s, e = v["t_start"][sel], v["t_end"][sel]
    busy = float(np.clip(np.minimum(e, hi) - np.maximum(s, lo), 0, None).sum())
    duty = 0.0
    for k in np.flatnonzero(mask_counters):
        w = run.counters["windows"][k]
        if len(w):
            duty += float(np.clip(np.minimum(w[:, 1], hi) - np.maximum(w[:, 0], lo), 0,
                                  None).sum())
    return busy, duty


def hall_kpis(run: HallRun) -> dict[str, dict[str, float]]:
    """KPIs of one run: ``{"all" | "channel:<c>" | "dept:<code>": {kpi: value}}``."""
    rq, v = run.requests, run.visits
    target = run.plan.scenario.hall.service.wait_target_min
    lo, hi = run.t_stats, run.t_end
    cohort = (rq["t_arrive"] >= lo) & (rq["t_arrive"] < hi)
    done = cohort & np.isfinite(rq["t_approve"])
    days = _weekdays(run)
    cal = run.calendar
    t_arr = rq["t_arrive"]
    wd_in = np.zeros(len(t_arr), bool)
    if len(t_arr):
        di = cal.day_index(t_arr)
        di = np.clip(di, 0, len(cal.workday) - 1)
        wd_in = cal.workday[di] & (np.array([cal.dates[d].weekday() for d in range(
            len(cal.dates))])[di] < 5) & cohort
    appr_w = np.full(len(t_arr), np.nan)
    appr_c = np.full(len(t_arr), np.nan)
    if done.any():
        appr_w[done] = cal.working_days_between(t_arr[done], rq["t_approve"][done])
        appr_c[done] = (rq["t_approve"][done] - t_arr[done]) / DAY
    on_time = rq["t_approve"] <= rq["deadline"] + 1e-6
    # visits of the window
    vr = v["request"]
    vtick = (v["t_ticket"] >= lo) & (v["t_ticket"] < hi)
    vin = vtick & np.isfinite(v["t_start"])
    wait = (v["t_start"] - v["t_ticket"]) / 60.0
    v_left = ~np.isfinite(v["t_start"]) & (rq["state"][vr] == ABANDONED) if len(vr) \
        else np.zeros(0, bool)
    v_site = rq["site"][vr] if len(vr) else np.zeros(0, int)
    v_ch = rq["channel"][vr] if len(vr) else np.zeros(0, int)
    v_dept = rq["dept"][vr] if len(vr) else np.zeros(0, int)
    csite = run.counters["site"]

    def block(req_mask: np.ndarray, visit_mask: np.ndarray, per_day_mask: np.ndarray,
              counters: np.ndarray | None) -> dict[str, float]:
        d = done & req_mask
        w = wait[visit_mask & vin]
        needs = cohort & req_mask & (rq["channel"] != NOAPP)
        out = {
            "requests_per_day": float((wd_in & per_day_mask).sum()) / days,
            "arrivals": float((cohort & req_mask).sum()),
            "wait_min_mean": _mean(w),
            "wait_min_p90": _p90(w),
            "wait_share_over_target": _mean((w > target).astype(float)),
            "abandoned_share": _mean(v_left[visit_mask & vtick].astype(float)),
            "counter_utilisation": math.nan,
            "trips_per_matter_mean": _mean(rq["trips"][d].astype(float)),
            "trips_over_one_share": _mean((rq["trips"][d] > 1).astype(float)),
            "approval_days_working_mean": _mean(appr_w[d]),
            "approval_days_calendar_mean": _mean(appr_c[d]),
            "on_time_rate": _mean(on_time[d].astype(float)),
            "online_share": (float((needs & (rq["channel"] == ONLINE)).sum()) / needs.sum()
                             if needs.sum() else math.nan),
            "completed_share": (float(d.sum()) / (cohort & req_mask).sum()
                                if (cohort & req_mask).sum() else math.nan),
        }
        if counters is not None and counters.any():
            busy, duty = _busy_and_duty(run, counters)
            out["counter_utilisation"] = busy / duty if duty > 0 else math.nan
        return out

    everyone = np.ones(len(t_arr), bool)
    at_hall = rq["channel"] == HALL
    groups: dict[str, dict[str, float]] = {}
    groups["all"] = block(everyone, v_site == 0, at_hall, csite == 0)
    groups["all"]["applications_per_day"] = float(wd_in.sum()) / days
    for c, name in enumerate(CHANNELS):
        mask = rq["channel"] == c
        counters = (csite == 0) if c == HALL else (csite > 0) if c == SUB else None
        groups[CHANNEL_PREFIX + name] = block(mask, v_ch == c, mask, counters)
    office_util = {row["department"]: row["utilisation"] for row in run.offices}
    for k, code in enumerate(run.plan.departments):
        mask = rq["dept"] == k
        groups[DEPT_PREFIX + code] = block(mask, (v_dept == k) & (v_site == 0), mask, None)
        groups[DEPT_PREFIX + code]["backoffice_utilisation"] = float(office_util[code])
    for g in groups.values():
        g.setdefault("applications_per_day", math.nan)
        g.setdefault("backoffice_utilisation", math.nan)
    # the district hall by hour of the ticket
    tod = (v["t_ticket"] - cal.day_offset) % DAY
    hour = (tod // 3600).astype(int)
    hall_visits = vin & (v_site == 0)
    open_hours = sorted({h for se in run.plan.sessions.values() if se is not None
                         for h in range(int(se[0] // 3600), math.ceil(se[1] / 3600))})
    for h in open_hours:  # the same groups in every replication
        w = wait[hall_visits & (hour == h)]
        groups[f"{HOUR_PREFIX}{int(h):02d}"] = {
            "visits_per_day": float(w.size) / days, "wait_min_mean": _mean(w),
            "wait_min_p90": _p90(w)}
    # the district hall's window groups: the waits of the visits each served
    vc = v["counter"]
    cgroup = np.array(run.counters["group"], dtype=object)
    served = cgroup[np.maximum(vc, 0)] if len(vc) else np.zeros(0, dtype=object)
    for name in sorted({g for g, s in zip(run.counters["group"], csite, strict=True)
                        if s == 0}):
        mine = (vc >= 0) & (served == name) & (v_site == 0) & vin
        w = wait[mine]
        busy, duty = _busy_and_duty(run, (cgroup == name) & (csite == 0))
        groups[WINDOW_PREFIX + name] = {
            "visits_per_day": float(mine.sum()) / days,
            "wait_min_mean": _mean(w), "wait_min_p90": _p90(w),
            "wait_share_over_target": _mean((w > target).astype(float)),
            "counter_utilisation": busy / duty if duty > 0 else math.nan}
    return groups


def hourly_profile(run: HallRun) -> dict[str, Any]:
    """Replication 0's figures by hour of day at the district hall, for the report:
    ``wait_mean``/``wait_p90`` by ticket hour (minutes), ``utilisation`` per counter
    group x hour, ``trips`` histogram of approved matters."""
    rq, v = run.requests, run.visits
    lo, hi = run.t_stats, run.t_end
    cal = run.calendar
    vin = (v["t_ticket"] >= lo) & (v["t_ticket"] < hi) & np.isfinite(v["t_start"])
    hall_v = vin & (rq["site"][v["request"]] == 0) if len(v["request"]) else vin
    tod = (v["t_ticket"] - cal.day_offset) % DAY
    hour = (tod // 3600).astype(int)
    wait = (v["t_start"] - v["t_ticket"]) / 60.0
    wait_mean = [_mean(wait[hall_v & (hour == h)]) for h in range(24)]
    wait_p90 = [_p90(wait[hall_v & (hour == h)]) for h in range(24)]
    n_visits = [int((hall_v & (hour == h)).sum()) for h in range(24)]
    # utilisation per hall counter group and hour of day
    groups = sorted({g for g, s in zip(run.counters["group"], run.counters["site"],
                                       strict=True) if s == 0})
    busy = {g: np.zeros(24) for g in groups}
    duty = {g: np.zeros(24) for g in groups}

    def spread(acc: np.ndarray, a: float, b: float) -> None:
        a, b = max(a, lo), min(b, hi)
        while a < b:
            day0 = cal.day_offset + DAY * math.floor((a - cal.day_offset) / DAY)
            h = int((a - day0) // 3600)
            edge = min(b, day0 + (h + 1) * 3600.0)
            acc[h % 24] += edge - a
            a = edge

    for k, (g, s) in enumerate(zip(run.counters["group"], run.counters["site"],
                                   strict=True)):
        if s != 0:
            continue
        for a, b in run.counters["windows"][k]:
            spread(duty[g], a, b)
    sel = np.flatnonzero(vin & (v["counter"] >= 0))
    for i in sel:
        k = int(v["counter"][i])
        if run.counters["site"][k] == 0:
            spread(busy[run.counters["group"][k]], float(v["t_start"][i]),
                   float(v["t_end"][i]))
    util = {g: [float(busy[g][h] / duty[g][h]) if duty[g][h] > 0 else math.nan
                for h in range(24)] for g in groups}
    cohort = (rq["t_arrive"] >= lo) & (rq["t_arrive"] < hi) & np.isfinite(rq["t_approve"])
    trips = np.bincount(rq["trips"][cohort], minlength=4).tolist()
    return {"wait_mean": wait_mean, "wait_p90": wait_p90, "visits": n_visits,
            "utilisation": util, "trips": trips}


def _worker(args: tuple[HallPlan, int, int]) -> dict[str, dict[str, float]]:
    plan, seed, rep = args
    return hall_kpis(_HallModel(plan, seed, rep).run())


def run_hall_replications(
    scenario: HallScenario | HallPlan, *, replications: int | None = None,
    seed: int | None = None, processes: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, dict[str, float]]], HallRun]:
    """KPIs of ``replications`` replications (common random numbers per index) and
    replication 0's full run. Replication 0 runs here while the others run in the
    project's process pool (:class:`urbangrid.simulation.TaskPool`); results do not
    depend on the number of processes."""
    from urbangrid.simulation.replications import TaskPool, process_count

    plan = scenario if isinstance(scenario, HallPlan) else build_plan(scenario)
    sc = plan.scenario
    reps = sc.run.replications if replications is None else int(replications)
    seed = sc.run.seed if seed is None else int(seed)
    procs = process_count(processes, sc.run.processes)
    workers = min(procs, reps - 1) if reps > 1 and procs > 1 else 0
    others = [(plan, seed, r) for r in range(1, reps)]
    with TaskPool(_worker, others, workers=workers) as pool:
        first = _HallModel(plan, seed, 0).run()
        k0 = hall_kpis(first)
        if on_done:
            on_done(1)
        rest = pool.results(on_done=(lambda k: on_done(1 + k)) if on_done else None)
    return [k0, *rest], first


def hall_kpis_document(plan: HallPlan, seed: int,
                       per_rep: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """The ``hall_kpis.json`` document (NaN as null; no clock time, so the same seed
    gives the same bytes)."""
    from urbangrid.simulation.replications import json_safe, summarise

    s = summarise(per_rep)
    top = s["all"]
    sc = plan.scenario
    doc = {
        "scenario": sc.name,
        "matters": plan.matters.n,
        "departments": len(plan.departments),
        "cross_provincial_matters": int(plan.matters.cross_provincial.sum()),
        "no_application_matters": int(plan.matters.no_application.sum()),
        "ai_assisted_matters": int(plan.matters.ai_assisted.sum()),
        "online_matters": int(plan.matters.online.sum()),
        "seed": seed,
        "replications": len(per_rep),
        "days": sc.run.days, "warmup_days": sc.run.warmup_days,
        "drain_days": sc.run.drain_days,
        "hall_counter_hours_per_weekday": plan.hall_counter_hours,
        "backoffice_staff": dict(zip(plan.departments, plan.staff, strict=True)),
        **{k: top[k] for k in top},
        "by_channel": {k[len(CHANNEL_PREFIX):]: v for k, v in s.items()
                       if k.startswith(CHANNEL_PREFIX)},
        "by_department": {k[len(DEPT_PREFIX):]: v for k, v in s.items()
                          if k.startswith(DEPT_PREFIX)},
        "by_window": {k[len(WINDOW_PREFIX):]: v for k, v in s.items()
                      if k.startswith(WINDOW_PREFIX)},
        "by_hour": {k[len(HOUR_PREFIX):]: v for k, v in s.items()
                    if k.startswith(HOUR_PREFIX)},
        "definitions": "see urbangrid.hall.kpis: requests_per_day (top level) counts the "
                       "district hall's requests per weekday; each value is the mean over "
                       "replications with the half-width of its 95 % Student-t interval",
        "scenario_values": sc.to_dict(),
    }
    return json_safe(doc)
