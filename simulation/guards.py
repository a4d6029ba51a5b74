"""Run-time guards: what a run's own figures say about whether its KPIs can be trusted.

A simulation can finish, exit 0 and print plausible numbers that mean nothing: a mean
handling time of 0.23 days while 93 % of the cases are still open (the mean counts only
the few that closed), or crews so few that the waiting pool grows without bound. Each
guard reads the finished run and returns a sentence saying what is wrong and which
setting to change; ``simulate`` prints them and stores them in ``kpis.json["warnings"]``.

=====================  =============================================================
``censored``           more than :data:`CENSORED_SHARE` of the window's cases are still
                       open when the run ends: handling-time KPIs are biased low; or,
                       in one channel, the open ones are few but old enough that the
                       channel's mean handling time would be :data:`CENSORED_BIAS`
                       or more higher had they closed only at the run's end (a bound
                       on the bias: long work orders cut by a short drain; from
                       :data:`CENSORED_MIN` open cases)
``saturated``          after the start-up transient, the daily mean of open cases
                       trends up over :data:`MIN_DAYS` days or more (least-squares
                       line, slope :data:`TREND_T` standard errors above 0) by at
                       least :data:`GROWTH_MIN` cases and :data:`GROWTH` of its
                       level, while the crews (:data:`BUSY_CREWS`) or an office
                       (:data:`BUSY_OFFICE`) are busy and the part of the open cases
                       that waits for them (the crews' cases, the offices' work
                       orders) itself trends up: demand exceeds what they can do
``growing``            the same trend where the growing part's crews or offices have
                       slack: work that outlasts the warm-up is still piling up
``not steady``         MSER-5 puts the end of the start-up transient after the
                       warm-up (:mod:`urbangrid.simulation.warmup`)
``trace``              with ``demand.trace``: rows of the log outside the run (not
                       simulated), and the demand settings a traced run ignores
``forecast``           ``dispatch.forecast_hours`` set while the policy ran compiled
                       (no snapshot, so no policy read the forecast)
=====================  =============================================================
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from urbangrid.catalogue import CHANNELS

from .codes import Status
from .kpis import daily_backlog, run_end, work_orders
from .warmup import WarmupCheck

__all__ = ["BUSY_CREWS", "BUSY_OFFICE", "CENSORED_BIAS", "CENSORED_MIN", "CENSORED_SHARE", "GROWTH",
           "GROWTH_MIN", "MIN_DAYS", "TREND_T", "censoring_warnings", "run_warnings"]

#: Share of the window's cases still open at the end above which means are censored.
CENSORED_SHARE = 0.05
#: Least rise of a channel's mean handling time, had its open cases closed at the run's
#: end, that marks the mean as censored.
CENSORED_BIAS = 0.01
#: ... judged from this many open cases in the channel (one case stuck for good is not a
#: drain too short for the channel's cases).
CENSORED_MIN = 10
#: Growth over the judged days, as a share of the starting level, that marks a trend.
GROWTH = 0.2
#: ... when the slope is also this many standard errors above zero (noise is not a trend).
TREND_T = 3.0
#: ... and by at least this many cases (a quiet toy's 4 -> 7 open cases is not growth).
GROWTH_MIN = 50.0
#: Utilisation of the crews (in their duty hours) and of an office's staff from which
#: growth is saturation rather than a transient.
BUSY_CREWS = 0.8
BUSY_OFFICE = 0.9
#: Window length (days) below which growth is not judged: work orders last days, so a
#: shorter window shows the pool filling, not a trend.
MIN_DAYS = 5


def run_warnings(kpis: dict, result, warm: WarmupCheck) -> list[str]:
    """The warnings for one run: ``kpis`` are its all-cases KPIs (means over
    replications, ``{"name": {"mean": ...}}``), ``result`` its first replication (its
    backlog series and its offices' utilisation)."""
    out = []
    created = (kpis.get("cases_created") or {}).get("mean") or 0.0
    still_open = (kpis.get("cases_open_end") or {}).get("mean") or 0.0
    if created > 0 and still_open / created > CENSORED_SHARE:
        out.append(
            f"censored: {still_open / created:.0%} of the cases reported in the window "
            f"were still open when the run ended (run.drain_days = "
            f"{result.scenario.run.drain_days:g}); handling times count closed cases only "
            "and are biased low: lengthen run.drain_days, or add crews if the backlog "
            "grows")
    else:
        out += censoring_warnings(result)
    # judge the trend after the start-up transient, where MSER-5 puts its end
    skip = max(0, math.ceil(warm.detected_days - warm.configured_days))
    daily = daily_backlog(result)[skip:]
    if daily.size >= MIN_DAYS:
        growth, level = _trend(daily)
        if growth is not None and growth >= GROWTH * max(level, 1.0):
            orders = work_orders(result)
            parts = {part: _trend(daily_backlog(result, cases=mask)[skip:])[0]
                     for part, mask in (("crews", ~orders), ("offices", orders))}
            out.append(_growth_warning(kpis, result, growth, level, daily.size, parts))
    out += _trace_warnings(result)
    out += _forecast_warnings(result)
    if not warm.ok:
        out.append(
            f"not steady: MSER-5 on the backlog puts the end of the start-up transient at "
            f"{warm.detected_days:.1f} days"
            + ("" if warm.settled else " and finds no settled second half")
            + f", run.warmup_days is {warm.configured_days:g}; KPIs that depend on the "
            "backlog may change with run.days")
    return out


def _trend(daily: np.ndarray) -> tuple[float | None, float]:
    """``(growth, level)`` of a daily series's least-squares line over its days, growth
    None unless it is a trend: :data:`TREND_T` standard errors above 0 and at least
    :data:`GROWTH_MIN` cases."""
    fit = stats.linregress(np.arange(daily.size, dtype=float), daily)
    growth = float(fit.slope) * (daily.size - 1)
    steep = fit.stderr == 0.0 or fit.slope / fit.stderr >= TREND_T
    return (growth if steep and growth >= GROWTH_MIN else None), float(fit.intercept)


def _growth_warning(kpis: dict, result, growth: float, level: float, days: int,
                    parts: dict[str, float | None]) -> str:
    """Growth with a busy resource is saturation; growth while every crew and office has
    slack is work that lasts longer than the warm-up still piling up (long work orders
    in a run started empty), which a longer warm-up cures. A resource is blamed only
    for the part of the open cases that waits for it and grows (``parts``: the crews'
    cases, the offices' work orders): busy crews beside a growing office backlog are
    not a saturation of the crews."""
    crew = (kpis.get("utilisation_mean") or {}).get("mean")
    offices = {name: row.get("utilisation") for name, row
               in getattr(result, "organisations", {}).items()}
    busy = ([f"crews {crew:.0%}"] if parts.get("crews") is not None and crew is not None
            and crew >= BUSY_CREWS else [])
    if parts.get("offices") is not None:
        busy += [f"{name} {u:.0%}" for name, u in offices.items()
                 if u is not None and math.isfinite(u) and u >= BUSY_OFFICE]
    grew = [f"{part} +{g:,.0f}" for part, g in parts.items() if g is not None]
    what = (f"the open cases grew by {growth:,.0f} over the last {days} days of the window "
            f"from a daily mean of {level:,.0f}"
            + (f" (waiting for the {', '.join(grew)})" if grew else ""))
    if busy:
        return (f"saturated: {what}, with {', '.join(busy)} busy; demand exceeds what they "
                "can do, so no steady state exists: add crews or staff, or lower "
                "demand.cases_per_day")
    slack = " and ".join(part for part, g in parts.items() if g is not None)
    return (f"growing: {what} while the {slack or 'crews and offices'} have slack: work "
            "that lasts longer than the warm-up is still piling up; lengthen "
            "run.warmup_days")


#: Demand settings that shape the Poisson streams, which a traced run does not use.
_STREAM_KEYS = ("demand.cases_per_day", "demand.event_share", "demand.day_of_week",
                "demand.hour_of_day", "demand.surges", "channels.patrol.hour_of_day")


def _trace_warnings(result) -> list[str]:
    info = result.stats.get("trace")
    if not info:
        return []
    out = []
    if info["outside_run"]:
        out.append(f"trace: {info['outside_run']} row(s) of {info['source']} fall outside "
                   f"the run (run.start plus warm-up, days and drain) and were not "
                   f"simulated; {info['simulated']} were")
    sc = result.scenario
    default = type(sc)()
    given = [k for k in _STREAM_KEYS
             if _get(sc, k) != _get(default, k)]
    if given:
        out.append(f"trace: {', '.join(given)} set but ignored: a traced run's arrivals "
                   "are the log's rows")
    return out


def _forecast_warnings(result) -> list[str]:
    """A forecast only reaches policies called from Python: a built-in policy runs
    compiled inside the core and never sees a snapshot."""
    sc = result.scenario
    if sc.dispatch.forecast_hours > 0 and not result.stats.get("policy_calls"):
        return [f"forecast: dispatch.forecast_hours = {sc.dispatch.forecast_hours:g} set but "
                f"ignored: the policy {sc.dispatch.policy!r} ran compiled, without "
                "snapshots; forecasts reach policies called from Python (a policy of "
                "your own, or dispatch.validate_snapshots = true)"]
    return []


def _get(obj, dotted: str):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def censoring_warnings(result) -> list[str]:
    """Per channel, the bias that the cases still open at the run's end put on the mean
    handling time of ``result``'s window: each open case is at least as old as it is at
    the end, so the mean with them counted at that age is a lower bound of the true
    mean; a bound :data:`CENSORED_BIAS` or more above the closed cases' mean is a
    warning (few open cases can matter when they are the longest ones), from
    :data:`CENSORED_MIN` open cases."""
    c = result.cases
    if c["status"].size == 0:
        return []
    end = run_end(result)
    reg = c["t_register"]
    window = (c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end) \
        & np.isfinite(reg)
    st = c["status"]
    closed = window & (st == Status.CLOSED)
    still = window & ~np.isin(st, (Status.CLOSED, Status.PARKED, Status.INVALID))
    out = []
    for code, name in enumerate(CHANNELS):
        mine = c["channel"] == code
        n_open = int((still & mine).sum())
        n_closed = int((closed & mine).sum())
        if n_open < CENSORED_MIN or n_closed == 0:
            continue
        took = (c["t_close"] - reg)[closed & mine]
        age = end - reg[still & mine]
        mean = float(took.mean())
        bound = float((took.sum() + age.sum()) / (n_closed + n_open))
        if mean > 0 and bound >= mean * (1.0 + CENSORED_BIAS):
            out.append(
                f"censored: {n_open:,} {name} cases of the window "
                f"({n_open / (n_open + n_closed):.1%}) were still open when the run "
                f"ended (run.drain_days = {result.scenario.run.drain_days:g}); counted "
                "at their age then, the channel's mean handling time would be at least "
                f"{bound / mean - 1.0:.0%} higher: lengthen run.drain_days")
    return out
