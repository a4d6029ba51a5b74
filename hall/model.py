"""The services hall as a SimPy discrete-event model.

A fixed description (:class:`HallPlan`, built once per scenario by :func:`build_plan`)
and a mutable run (:class:`HallModel`) that yields flat records (:class:`HallRun`).

Flow (DOMAIN.md §10):

- **requests** arrive per channel as non-homogeneous Poisson processes, piecewise
  constant by hour of day, scaled by day type and weekday: the district hall and the
  sub-district centres (tickets, 取号, within opening hours; a share holds appointments
  and is called before walk-ins), online submissions (round the clock), and
  no-application matters (免申即享: no request; the department opens the file itself on
  shared data, in working hours);
- **counters** are individual windows with duty windows (opening hours or shifts) and
  skills: a department window takes its departments' matters, a comprehensive window
  (一窗受理) any matter but more slowly (``service.comprehensive_factor``). A free
  window takes the first appointment, then the first ticket, among the matters it may
  take; an arriving ticket goes to a free department window before a comprehensive one.
  Windows that close with the hall serve the tickets still waiting (nobody is sent away);
  a shift that ends earlier stops taking tickets;
- **documents**: at a visit the file is incomplete with the matter's probability; unless
  the data can be checked remotely (``levers.remote_check_share``) the citizen goes home
  and returns some working days later (a trip); the last allowed visit always completes;
- **back office**: each department is an :class:`urbangrid.simulation.offices.Office`
  (the grid model's department resource: people, office hours, priority queue) that
  reviews accepted files earliest promised deadline first; matters with a promised
  time of 0 working days are decided at the counter (即办); online files enter the same
  back office (an incomplete online file costs a correction delay, no trip);
  cross-provincial matters add an exchange with the other province;
- no request is dropped: every request is in exactly one state at any time
  (:data:`STATES`), and :func:`conservation` checks the tally.

Randomness: every request's draws (its matter, time, appointment, service times,
documents, return days, review work) come from one block drawn per day and channel
from its own child stream of ``SeedSequence(seed)``, so two scenarios run with the
same seed see the same citizens (common random numbers) and a run is reproducible bit
for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from scipy.special import ndtri

from urbangrid.calendar import DAY, WorkCalendar
from urbangrid.errors import InputError
from urbangrid.organisations import load_departments
from urbangrid.simulation.offices import Office

from .catalogue import Matters, load_matters
from .scenario import HallScenario, LeversConfig, parse_hours

__all__ = ["CHANNELS", "DAY_TYPES", "STATES", "CounterSpec", "HallModel", "HallPlan",
           "HallRun", "apply_levers", "build_plan", "channel_split", "conservation",
           "simulate_hall"]

#: Channels of a request.
CHANNELS = ("hall", "subdistrict", "online", "no_application")
HALL, SUB, ONLINE, NOAPP = range(4)
#: States of a request (every request is in exactly one).
STATES = ("queue", "counter", "away", "fixing", "backoffice", "exchange", "done",
          "abandoned")
QUEUE, COUNTER, AWAY, FIXING, BACKOFFICE, EXCHANGE, DONE, ABANDONED = range(8)
#: Day types with their own opening hours (public holidays: closed).
DAY_TYPES = ("weekday", "saturday", "sunday")

# columns of a request's block of draws
_U_APPT, _U_REVIEW, _U_RET, _U_SVC, _U_INC, _U_REM, _U_START = 0, 1, 2, 4, 7, 9, 11
_N_U = 12


@dataclass(frozen=True)
class CounterSpec:
    """``count`` identical windows: group name, site (0 = district hall, ``k`` =
    sub-district centre ``k``), skills (department indices, ``None`` = any matter) and
    duty windows per day type as ``(start, end)`` seconds after midnight."""

    group: str
    site: int
    skills: tuple[int, ...] | None
    duty: dict[str, tuple[tuple[float, float], ...]]
    count: int = 1

    def hours_per_day(self, day_type: str = "weekday") -> float:
        return self.count * sum(e - s for s, e in self.duty.get(day_type, ())) / 3600.0


@dataclass(frozen=True)
class HallPlan:
    """Everything fixed about a scenario's runs (catalogue after levers, rates,
    counters, back-office staff)."""

    scenario: HallScenario
    matters: Matters
    departments: tuple[str, ...]
    sessions: dict[str, tuple[float, float] | None]
    rates: np.ndarray                 #: mean requests per weekday, matters x channels
    counters: tuple[CounterSpec, ...]
    staff: tuple[int, ...]            #: back-office people per department
    applications_per_day: float       #: all channels, a weekday (fixed by the demand)

    @property
    def hall_counter_hours(self) -> float:
        """Counter-hours of the district hall on a weekday."""
        return sum(c.hours_per_day("weekday") for c in self.counters if c.site == 0)


def apply_levers(m: Matters, lv: LeversConfig) -> Matters:
    """The catalogue after the what-if levers that change it (more online matters, more
    no-application matters).

    Raises
    ------
    InputError
        An unknown matter code, or more no-application matters than can be found.
    """
    online, noapp = m.online.copy(), m.no_application.copy()
    for i, code in enumerate(lv.make_online):
        online[m.index(code, where=f"hall.levers.make_online[{i}]")] = True
    if lv.online_more_share > 0:
        extra = math.ceil(lv.online_more_share * int(m.online.sum()) - 1e-9)
        cand = np.flatnonzero(~online & ~noapp)
        online[_order(cand, m, lv.pick, 1)[:extra]] = True
    for i, code in enumerate(lv.make_no_application):
        noapp[m.index(code, where=f"hall.levers.make_no_application[{i}]")] = True
    if lv.no_application_total is not None:
        need = lv.no_application_total - int(noapp.sum())
        if need < 0:
            raise InputError(f"hall.levers.no_application_total = "
                             f"{lv.no_application_total}: the catalogue already has "
                             f"{int(noapp.sum())} no-application matters")
        cat = np.array(m.category)
        cand = np.flatnonzero(~noapp & (np.array(m.audience) == "citizen")
                              & np.isin(cat, ["payment", "confirmation", "public_service"])
                              & (m.promised_days > 0))
        if need > len(cand):
            raise InputError(f"hall.levers.no_application_total = "
                             f"{lv.no_application_total}: only {len(cand)} more matters "
                             "qualify (citizen payment, confirmation, public service)")
        noapp[_order(cand, m, lv.pick, 2)[:need]] = True
    return m.replace(online=online, no_application=noapp)


#: Seed of the 'random' pick of the count levers (fixed: every run converts the same).
PICK_SEED = 20240617


def _order(cand: np.ndarray, m: Matters, pick: str, lever: int) -> np.ndarray:
    """Candidate matters in the order a count lever converts them."""
    if pick == "volume":
        return cand[np.argsort(-m.weight[cand], kind="stable")]
    return np.random.default_rng([PICK_SEED, lever]).permutation(cand)


def channel_split(m: Matters, scenario: HallScenario) -> np.ndarray:
    """Share of each matter's requests per channel (matters x :data:`CHANNELS`)."""
    d = scenario.hall.demand
    has_sub = scenario.hall.subdistrict.centres > 0
    sub_ok = m.subdistrict & has_sub
    po = np.where(m.online, d.online_uptake, 0.0)
    counter = 1.0 - po
    ps = np.where(sub_ok, counter * d.subdistrict_share, 0.0)
    ph = counter - ps
    # a matter the district hall does not take goes to the centres, else online
    ps = np.where(~m.hall & sub_ok, counter, ps)
    ph = np.where(m.hall, ph, 0.0)
    po = np.where(~m.hall & ~sub_ok, 1.0, po)
    split = np.stack([ph, ps, po, np.zeros_like(po)], axis=1)
    split[m.no_application] = (0.0, 0.0, 0.0, 1.0)
    return split


def _sessions(scenario: HallScenario) -> dict[str, tuple[float, float] | None]:
    h = scenario.hall.hours
    return {"weekday": parse_hours(h.weekday),
            "saturday": parse_hours(h.saturday) if h.saturday else None,
            "sunday": parse_hours(h.sunday) if h.sunday else None}


def _clip(hours: tuple[float, float], session: tuple[float, float] | None
          ) -> tuple[tuple[float, float], ...]:
    if session is None:
        return ()
    s, e = max(hours[0], session[0]), min(hours[1], session[1])
    return ((s, e),) if e > s else ()


def _counter_specs(scenario: HallScenario, dept_index: dict[str, int],
                   sessions: dict[str, tuple[float, float] | None]) -> list[CounterSpec]:
    specs = []
    for i, c in enumerate(scenario.hall.counters):
        if c.comprehensive:
            if len(c.skills) > 1:
                raise InputError(f"hall.counters[{i}] ({c.name}).skills: '*' (any matter) "
                                 "cannot be combined with department codes")
            skills = None
        else:
            bad = [s for s in c.skills if s not in dept_index]
            if bad:
                raise InputError(f"hall.counters[{i}] ({c.name}).skills: {bad[0]!r} is not a "
                                 f"department with matters ({', '.join(dept_index)})")
            skills = tuple(sorted({dept_index[s] for s in c.skills}))
        own = parse_hours(c.hours) if c.hours else (0.0, DAY)
        specs.append(CounterSpec(c.name, 0, skills,
                                 {t: _clip(own, sessions[t]) for t in DAY_TYPES}, c.count))
    sub = scenario.hall.subdistrict
    for k in range(sub.centres):
        specs.append(CounterSpec("subdistrict", k + 1, None,
                                 {t: _clip((0.0, DAY), sessions[t]) for t in DAY_TYPES},
                                 sub.counters))
    return specs


def build_plan(scenario: HallScenario,
               counters: list[CounterSpec] | None = None) -> HallPlan:
    """The fixed description of a scenario's runs.

    Parameters
    ----------
    counters
        Counter specs replacing the scenario's (a staffing schedule); sub-district
        centres included.

    Raises
    ------
    InputError
        A bad catalogue, an unknown matter or department, a department whose matters no
        hall window takes.
    """
    h = scenario.hall
    deps = load_departments(h.departments)
    base = load_matters(h.catalogue, deps)
    m = apply_levers(base, h.levers)
    dept_index = {c: k for k, c in enumerate(m.departments)}
    sessions = _sessions(scenario)
    specs = counters if counters is not None else _counter_specs(scenario, dept_index,
                                                                 sessions)
    # every department with hall requests needs a window that takes it
    split = channel_split(m, scenario)
    base_split = channel_split(base, scenario)
    w = m.weight / m.weight.sum()
    hall_share = float((w * base_split[:, HALL]).sum())
    if hall_share <= 0:
        raise InputError("no matter is handled at the district hall: "
                         "hall.demand.hall_requests_per_day cannot be met")
    total = h.demand.hall_requests_per_day / hall_share
    rates = total * w[:, None] * split
    hall_specs = [c for c in specs if c.site == 0]
    anyone = any(c.skills is None for c in hall_specs)
    taken = {k for c in hall_specs if c.skills for k in c.skills}
    need = {int(m.dept[i]) for i in np.flatnonzero(rates[:, HALL] > 0)}
    missing = sorted(need - taken) if not anyone else []
    if missing:
        raise InputError("hall.counters: no window takes the matters of "
                         + ", ".join(m.departments[k] for k in missing)
                         + " (add their codes to a window's skills, or a '*' window)")
    staff = _staff(scenario, m, rates, dept_index)
    return HallPlan(scenario=scenario, matters=m, departments=m.departments,
                    sessions=sessions, rates=rates, counters=tuple(specs),
                    staff=tuple(staff), applications_per_day=float(total))


def _staff(scenario: HallScenario, m: Matters, rates: np.ndarray,
           dept_index: dict[str, int]) -> list[int]:
    b = scenario.hall.backoffice
    bad = sorted(set(b.staff) - set(dept_index))
    if bad:
        raise InputError(f"hall.backoffice.staff: {bad[0]!r} is not a department with "
                         f"matters ({', '.join(dept_index)})")
    d = scenario.hall.demand
    week_counter = sum(d.weekday_factors)
    week_online = sum(d.online_weekday_factors)
    needs_review = m.promised_days > 0
    files = (rates[:, HALL] + rates[:, SUB]) * needs_review * week_counter \
        + rates[:, ONLINE] * week_online + rates[:, NOAPP] * 5.0
    hours = files * m.review_hours / 5.0  # per working day
    load = np.bincount(m.dept, weights=hours, minlength=len(m.departments))
    cal = scenario.calendar
    day_h = (parse_hours(f"{cal.work_start}-{cal.work_end}")[1]
             - parse_hours(f"{cal.work_start}-{cal.work_end}")[0]) / 3600.0
    out = []
    for k, code in enumerate(m.departments):
        if code in b.staff:
            out.append(int(b.staff[code]))
        else:
            out.append(max(1, math.ceil(load[k] / (day_h * b.utilisation) - 1e-9)))
    return out


def _is_public_holiday(date, rule: str) -> bool:
    if rule != "chinese":
        return False
    import chinese_calendar

    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(date)
    except NotImplementedError:
        return False
    return bool(on_holiday and name is not None)


def day_types(cal: WorkCalendar, n_days: int, rule: str) -> list[str | None]:
    """Day type of each calendar day (``None``: public holiday, closed)."""
    out: list[str | None] = []
    for d in range(n_days):
        date = cal.dates[d]
        if cal.workday[d]:
            out.append("weekday")
        elif _is_public_holiday(date, rule) or date.weekday() < 5:
            out.append(None)
        else:
            out.append("saturday" if date.weekday() == 5 else "sunday")
    return out


class _Request:
    __slots__ = ("id", "matter", "dept", "channel", "site", "appt", "u", "frac", "t_arrive",
                 "trips", "t_accept", "t_approve", "deadline", "state", "ev", "vi", "day",
                 "taken")

    def __init__(self, rid, matter, dept, channel, site, appt, u, frac, t, day):
        self.id, self.matter, self.dept, self.channel = rid, matter, dept, channel
        self.site, self.appt, self.u, self.frac, self.t_arrive = site, appt, u, frac, t
        self.day = day
        self.trips = 0
        self.t_accept = self.t_approve = self.deadline = math.nan
        self.state = -1
        self.ev = None
        self.vi = -1
        self.taken = False


class _Counter:
    __slots__ = ("id", "site", "group", "skills", "factor", "windows", "wake", "end")

    def __init__(self, cid, spec: CounterSpec, factor: float, windows):
        self.id, self.site, self.group = cid, spec.site, spec.group
        self.skills = None if spec.skills is None else frozenset(spec.skills)
        self.factor = factor
        self.windows = windows
        self.wake = None
        self.end = -math.inf


@dataclass
class HallRun:
    """Flat records of one run (arrays; times in seconds since the run's start)."""

    plan: HallPlan
    seed: int
    replication: int
    t_stats: float
    t_end: float
    t_final: float
    calendar: WorkCalendar
    requests: dict[str, np.ndarray]
    visits: dict[str, np.ndarray]
    counters: dict[str, Any]
    offices: list[dict[str, Any]]
    generated: int
    state_counts: dict[str, int]
    day_types: list[str | None] = field(default_factory=list)


class HallModel:
    """One replication of a :class:`HallPlan` (use :func:`simulate_hall`).

    Parameters
    ----------
    plan
        The fixed description.
    seed, replication
        Root seed and replication index (child streams per day and channel).
    env, offices
        An existing SimPy environment and department offices (by department code) to
        share, e.g. with a model of the same departments' other work; default: new ones.
    """

    def __init__(self, plan: HallPlan, seed: int, replication: int = 0, *,
                 env: simpy.Environment | None = None,
                 offices: dict[str, Office] | None = None) -> None:
        sc = plan.scenario
        self.plan, self.seed, self.rep = plan, int(seed), int(replication)
        self.m = plan.matters
        self.env = env or simpy.Environment()
        run = sc.run
        self.t_stats = run.warmup_days * DAY
        self.t_end = self.t_stats + run.days * DAY
        self.t_final = self.t_end + run.drain_days * DAY
        self.n_days = math.ceil(self.t_final / DAY - 1e-9)
        cal_cfg = sc.calendar
        ws, we = parse_hours(f"{cal_cfg.work_start}-{cal_cfg.work_end}")
        self.cal = WorkCalendar(run.start_datetime, self.n_days + 120, work_start=ws,
                                work_end=we, rule=cal_cfg.rule)
        self.day_len = self.cal.day_length
        self.types = day_types(self.cal, self.n_days, cal_cfg.rule)
        svc = sc.hall.service
        self.svc = svc
        self.bo = sc.hall.backoffice
        self.remote = sc.hall.levers.remote_check_share
        self.offices = []
        for k, code in enumerate(plan.departments):
            if offices and code in offices:
                self.offices.append(offices[code])
            else:
                self.offices.append(Office(self.env, code, "department", plan.staff[k],
                                           True, self.cal, self.t_stats, self.t_end))
        n_sites = 1 + sc.hall.subdistrict.centres
        self.queues: list[dict[int, list]] = [{} for _ in range(n_sites)]
        self.idle: list[list[_Counter]] = [[] for _ in range(n_sites)]
        self._seq = 0
        self.counters: list[_Counter] = []
        for spec in plan.counters:
            factor = svc.comprehensive_factor if spec.skills is None else 1.0
            wins = self._windows(spec)
            for _ in range(spec.count):
                c = _Counter(len(self.counters), spec, factor, wins)
                self.counters.append(c)
        self.requests: list[_Request] = []
        self.v_req: list[int] = []
        self.v_ticket: list[float] = []
        self.v_start: list[float] = []
        self.v_end: list[float] = []
        self.v_counter: list[int] = []
        self.n_state = [0] * len(STATES)
        self.generated = 0
        m = self.m
        self.p_incomplete = m.incomplete_prob * np.where(m.ai_assisted,
                                                         svc.ai_incomplete_factor, 1.0)
        self.svc_mean = m.counter_min * 60.0 * np.where(m.ai_assisted, svc.ai_time_factor,
                                                        1.0)
        # the promised limit, working days (cross-provincial: the exchange is inside it)
        self.promised = m.promised_days + np.where(m.cross_provincial,
                                                   self.bo.cross_provincial_days, 0.0)

    # -- set-up -------------------------------------------------------------------------
    def _windows(self, spec: CounterSpec) -> list[tuple[float, float, bool]]:
        out: list[tuple[float, float, bool]] = []
        for d in range(self.n_days):
            t = self.types[d]
            if t is None:
                continue
            session = self.plan.sessions[t]
            base = self.cal.day_start(d)
            for s, e in spec.duty.get(t, ()):
                closing = session is not None and abs(e - session[1]) < 1e-6
                a, b = base + s, base + e
                if out and abs(out[-1][1] - a) < 1e-6:
                    out[-1] = (out[-1][0], b, closing)
                else:
                    out.append((a, b, closing))
        return out

    def _day_arrivals(self, d: int) -> list[tuple]:
        """The arrivals of calendar day ``d``, all channels, in time order."""
        plan, sc = self.plan, self.plan.scenario
        dem = sc.hall.demand
        t = self.types[d]
        date = self.cal.dates[d]
        dow = date.weekday()
        base = self.cal.day_start(d)
        out = []
        for ch in range(4):
            rate_m = plan.rates[:, ch]
            total = float(rate_m.sum())
            if total <= 0:
                continue
            if ch in (HALL, SUB):
                if t is None or plan.sessions[t] is None:
                    continue
                f = dem.weekday_factors[dow] if t != "weekday" or dow < 5 else 1.0
                s0, e0 = plan.sessions[t]
                prof = np.asarray(dem.hour_profile, dtype=float)
            elif ch == ONLINE:
                f = dem.online_weekday_factors[6 if t is None else dow]
                s0, e0 = 0.0, DAY
                prof = np.asarray(dem.online_hour_profile, dtype=float)
            else:
                if t != "weekday":
                    continue
                f = 1.0
                s0, e0 = self.cal.work_start, self.cal.work_end
                prof = np.ones(24)
            hours = np.arange(24) * 3600.0
            overlap = np.clip(np.minimum(hours + 3600.0, e0) - np.maximum(hours, s0), 0, None)
            wh = prof * overlap
            if f <= 0 or wh.sum() <= 0:
                continue
            rng = np.random.default_rng(np.random.SeedSequence(
                self.seed, spawn_key=(self.rep, 17, d, ch)))
            n = int(rng.poisson(total * f))
            if n == 0:
                continue
            hr = rng.choice(24, size=n, p=wh / wh.sum())
            lo = np.maximum(hours[hr], s0)
            hi = np.minimum(hours[hr] + 3600.0, e0)
            tod = lo + rng.random(n) * (hi - lo)
            matter = rng.choice(len(rate_m), size=n, p=rate_m / total)
            u = rng.random((n, _N_U))
            site = np.zeros(n, dtype=int)
            if ch == SUB:
                site = 1 + rng.integers(0, sc.hall.subdistrict.centres, n)
            # unit-mean multipliers of counter time (3 visits) and review work
            svc = self.svc
            if svc.distribution == "exponential":
                u[:, _U_SVC:_U_SVC + 3] = -np.log1p(-u[:, _U_SVC:_U_SVC + 3])
            else:
                sig = math.sqrt(math.log1p(svc.cv ** 2))
                u[:, _U_SVC:_U_SVC + 3] = np.exp(sig * ndtri(u[:, _U_SVC:_U_SVC + 3])
                                                 - sig * sig / 2)
            rcv = self.bo.review_cv
            if rcv > 0:
                sig = math.sqrt(math.log1p(rcv ** 2))
                u[:, _U_REVIEW] = np.exp(sig * ndtri(u[:, _U_REVIEW]) - sig * sig / 2)
            else:
                u[:, _U_REVIEW] = 1.0
            frac = (tod - s0) / (e0 - s0)
            for i in range(n):
                out.append((base + tod[i], ch, int(matter[i]), int(site[i]), u[i],
                            float(frac[i]), d))
        out.sort(key=lambda a: (a[0], a[1]))
        return out

    # -- processes ------------------------------------------------------------------------
    def _source(self):
        env = self.env
        dem = self.plan.scenario.hall.demand
        for d in range(self.n_days):
            for t, ch, matter, site, u, frac, day in self._day_arrivals(d):
                if t >= self.t_final:
                    return
                if t > env.now:
                    yield env.timeout(t - env.now)
                appt = ch in (HALL, SUB) and u[_U_APPT] < dem.appointment_share
                r = _Request(len(self.requests), matter, int(self.m.dept[matter]), ch, site,
                             appt, u, frac, t, day)
                self.requests.append(r)
                self.generated += 1
                if ch in (HALL, SUB):
                    self._set(r, QUEUE)
                    env.process(self._counter_request(r))
                elif ch == ONLINE:
                    self._set(r, FIXING)
                    env.process(self._online_request(r))
                else:
                    self._set(r, BACKOFFICE)
                    env.process(self._back(r))

    def _set(self, r: _Request, state: int) -> None:
        if r.state >= 0:
            self.n_state[r.state] -= 1
        self.n_state[state] += 1
        r.state = state

    def _incomplete(self, r: _Request, k: int) -> bool:
        """Whether visit / submission ``k`` (0-based) leaves the file incomplete with no
        remote check."""
        if k >= self.svc.max_visits - 1:
            return False
        p = self.p_incomplete[r.matter] * (self.svc.repeat_incomplete_factor if k else 1.0)
        return bool(r.u[_U_INC + k] < p and not r.u[_U_REM + k] < self.remote)

    def _counter_request(self, r: _Request):
        env = self.env
        k = 0
        while True:
            r.trips += 1
            served = yield from self._visit(r, k)
            if not served:  # left the queue (patience): gives up
                self._set(r, ABANDONED)
                return
            if not self._incomplete(r, k):
                break
            self._set(r, AWAY)
            t = self._return_time(r, k)
            if t is None:
                return  # returns after the run: stays away
            yield env.timeout(t - env.now)
            self._set(r, QUEUE)
            k += 1
        yield from self._accept_and_review(r)

    def _return_time(self, r: _Request, k: int) -> float | None:
        lo, hi = self.svc.return_working_days
        n = lo + int(r.u[_U_RET + k] * (hi - lo + 1))
        n = min(max(n, lo), hi)
        d = int(self.cal.day_index(self.env.now))
        seen = 0
        while True:
            d += 1
            if d >= self.n_days:
                return None
            t = self.types[d]
            if t is not None and self.plan.sessions[t] is not None:
                seen += 1
                if seen >= n:
                    s, e = self.plan.sessions[t]
                    return self.cal.day_start(d) + s + r.frac * (e - s) * 0.999

    def _visit(self, r: _Request, k: int):
        r.vi = len(self.v_req)
        self.v_req.append(r.id)
        self.v_ticket.append(self.env.now)
        self.v_start.append(math.nan)
        self.v_end.append(math.nan)
        self.v_counter.append(-1)
        r.ev = ev = self.env.event()
        r.taken = False
        c = self._idle_for(r)
        if c is not None:
            self.idle[r.site].remove(c)
            w, c.wake = c.wake, None
            r.taken = True
            w.succeed(r)
            yield ev
            return True
        q = self.queues[r.site].setdefault(r.dept, [])
        self._seq += 1
        item = (0 if r.appt else 1, self.env.now, self._seq, r)
        q.append(item)
        # tickets arrive in time order: keep each queue sorted by (appointment, time)
        if len(q) > 1 and q[-2][:3] > q[-1][:3]:
            q.sort(key=lambda x: x[:3])
        patience = self.svc.patience_min
        if patience is None or r.appt:
            yield ev
            return True
        yield ev | self.env.timeout(patience * 60.0)
        if r.taken:  # a window called the ticket (at the latest now)
            if not ev.triggered:
                yield ev
            return True
        q.remove(item)
        return False

    def _idle_for(self, r: _Request) -> _Counter | None:
        best = None
        for c in self.idle[r.site]:
            if c.skills is None:
                if best is None:
                    best = c
            elif r.dept in c.skills:
                return c
        return best

    def _pop(self, c: _Counter) -> _Request | None:
        qs = self.queues[c.site]
        best_key, best_q = None, None
        if c.skills is None:
            keys = qs.keys()
        else:
            keys = [k for k in c.skills if k in qs]
        for k in keys:
            q = qs[k]
            if q and (best_key is None or q[0][:3] < best_key):
                best_key, best_q = q[0][:3], q
        if best_q is None:
            return None
        r = best_q.pop(0)[3]
        r.taken = True
        return r

    def _counter(self, c: _Counter):
        env = self.env
        for start, end, closing in c.windows:
            if env.now < start:
                yield env.timeout(start - env.now)
            elif env.now >= end and not closing:
                continue
            c.end = end
            if env.now < end:
                env.timeout(end - env.now).callbacks.append(
                    lambda _ev, c=c, end=end: self._close(c, end))
            while True:
                r = self._pop(c)
                if r is None:
                    if env.now >= end:
                        break
                    c.wake = env.event()
                    self.idle[c.site].append(c)
                    r = yield c.wake
                    if r is None:
                        break
                self._set(r, COUNTER)
                self.v_start[r.vi] = env.now
                k = r.trips - 1
                dur = self.svc_mean[r.matter] * c.factor * float(r.u[_U_SVC + k])
                yield env.timeout(dur)
                self.v_end[r.vi] = env.now
                self.v_counter[r.vi] = c.id
                r.ev.succeed()
                if env.now >= end and not closing:
                    break

    def _close(self, c: _Counter, end: float) -> None:
        if c.end == end and c.wake is not None and not c.wake.triggered:
            self.idle[c.site].remove(c)
            w, c.wake = c.wake, None
            w.succeed(None)

    def _online_request(self, r: _Request):
        env = self.env
        k = 0
        while self._incomplete(r, k):
            t = self.cal.add_working_scalar(env.now, self.bo.online_fix_days * self.day_len)
            yield env.timeout(t - env.now)
            k += 1
        yield from self._accept_and_review(r)

    def _accept_and_review(self, r: _Request):
        r.t_accept = self.env.now
        promised = self.promised[r.matter]
        if self.m.promised_days[r.matter] == 0 and r.channel in (HALL, SUB):
            if promised == 0:  # decided at the counter (即办)
                r.deadline = r.t_accept
                self._done(r)
                return
        self._set(r, BACKOFFICE)
        yield from self._back(r)

    def _back(self, r: _Request):
        env = self.env
        if math.isnan(r.t_accept):
            r.t_accept = env.now  # no-application: the department opens the file
        m = r.matter
        promised = max(self.promised[m], 1.0 if r.channel in (ONLINE, NOAPP) else 0.0)
        r.deadline = self.cal.add_working_scalar(r.t_accept, promised * self.day_len)
        if self.m.promised_days[m] > 0 or r.channel in (ONLINE, NOAPP):
            # the office takes the file up some share of its limit later
            lag = float(r.u[_U_START]) * 2.0 * self.bo.start_fraction * self.m.promised_days[m]
            if lag > 0:
                t = self.cal.add_working_scalar(env.now, lag * self.day_len)
                yield env.timeout(t - env.now)
            work = self.m.review_hours[m] * 3600.0 * float(r.u[_U_REVIEW])
            yield from self.offices[r.dept].work(work, priority=r.deadline)
        if self.m.cross_provincial[m]:
            self._set(r, EXCHANGE)
            t = self.cal.add_working_scalar(env.now, self.bo.cross_provincial_days
                                            * self.day_len)
            yield env.timeout(t - env.now)
        self._done(r)

    def _done(self, r: _Request) -> None:
        r.t_approve = self.env.now
        self._set(r, DONE)

    # -- run -----------------------------------------------------------------------------
    def run(self) -> HallRun:
        env = self.env
        env.process(self._source())
        for c in self.counters:
            env.process(self._counter(c))
        env.run(until=self.t_final)
        return self._result()

    def _result(self) -> HallRun:
        rq = self.requests
        f = np.fromiter
        n = len(rq)
        requests = {
            "matter": f((r.matter for r in rq), np.int64, n),
            "dept": f((r.dept for r in rq), np.int64, n),
            "channel": f((r.channel for r in rq), np.int64, n),
            "site": f((r.site for r in rq), np.int64, n),
            "appointment": f((r.appt for r in rq), bool, n),
            "t_arrive": f((r.t_arrive for r in rq), float, n),
            "trips": f((r.trips for r in rq), np.int64, n),
            "t_accept": f((r.t_accept for r in rq), float, n),
            "t_approve": f((r.t_approve for r in rq), float, n),
            "deadline": f((r.deadline for r in rq), float, n),
            "state": f((r.state for r in rq), np.int64, n),
        }
        visits = {"request": np.array(self.v_req, dtype=np.int64),
                  "t_ticket": np.array(self.v_ticket), "t_start": np.array(self.v_start),
                  "t_end": np.array(self.v_end),
                  "counter": np.array(self.v_counter, dtype=np.int64)}
        counters = {
            "group": [c.group for c in self.counters],
            "site": np.array([c.site for c in self.counters], dtype=np.int64),
            "comprehensive": np.array([c.skills is None for c in self.counters]),
            "windows": [np.array([(a, b) for a, b, _ in c.windows]).reshape(-1, 2)
                        for c in self.counters],
        }
        offices = []
        for k, o in enumerate(self.offices):
            row = o.table_row()
            row["department"] = self.plan.departments[k]
            offices.append(row)
        return HallRun(plan=self.plan, seed=self.seed, replication=self.rep,
                       t_stats=self.t_stats, t_end=self.t_end, t_final=self.t_final,
                       calendar=self.cal, requests=requests, visits=visits,
                       counters=counters, offices=offices, generated=self.generated,
                       state_counts=dict(zip(STATES, self.n_state, strict=True)),
                       day_types=self.types)


def simulate_hall(plan: HallPlan | HallScenario, seed: int | None = None,
                  replication: int = 0) -> HallRun:
    """One replication: ``seed`` defaults to the scenario's ``run.seed``."""
    if isinstance(plan, HallScenario):
        plan = build_plan(plan)
    seed = plan.scenario.run.seed if seed is None else int(seed)
    return HallModel(plan, seed, replication).run()


def conservation(run: HallRun) -> dict[str, int]:
    """The tally of every request generated: by final state, and whether it adds up.

    ``arrived`` must equal the sum of the states (``ok``), and the state counts kept
    during the run must equal those of the records.
    """
    st = run.requests["state"]
    by_state = {s: int((st == i).sum()) for i, s in enumerate(STATES)}
    total = sum(by_state.values())
    return {"arrived": run.generated, **by_state,
            "ok": int(total == run.generated == len(st)
                      and by_state == run.state_counts and (st >= 0).all())}
