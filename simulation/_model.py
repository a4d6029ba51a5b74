"""The SimPy model: the case life cycle, teams and the dispatcher (hot path).

Design for speed (see PERFORMANCE.md): one SimPy event per stage of a case, scheduled
with a plain callback instead of one generator process per case; case state lives in
preallocated NumPy arrays and the event log in ``array`` columns; first-attempt random
variates are drawn vectorised per day; open unassigned tasks are indexed by
(skill, sub-district) so a dispatch round never rescans the whole backlog; the
dispatcher calls the policy only when there are unassigned tasks and free capacity, with
team state gathered from preallocated arrays.

The readable entry point is :func:`urbangrid.simulation.simulate`.
"""

from __future__ import annotations

import heapq
import math
import time
from array import array
from collections import deque

import numpy as np
from simpy import Environment
from simpy.events import NORMAL, Event

from ._kernels import gather_travel
from .calendar import DAY, WorkCalendar
from .catalogue import CHANNELS, Catalogue
from .demand import DemandModel
from .scenario import Scenario
from .space import MODES, Space

# Event types of the log (int8 codes); EVENT_NAMES[code] is the name.
EVENT_NAMES = (
    "reported", "registered", "invalid", "fixed_on_spot", "forwarded", "dispatched",
    "signed", "returned", "prepared", "travel", "arrived", "work_done", "unresolved",
    "extended", "parked", "verified", "rework", "callback_ok", "callback_bad", "reopened",
    "closed", "handed_back",
)
(REPORTED, REGISTERED, INVALID, FIXED_ON_SPOT, FORWARDED, DISPATCHED, SIGNED, RETURNED,
 PREPARED, TRAVEL, ARRIVED, WORK_DONE, UNRESOLVED, EXTENDED, PARKED, VERIFIED, REWORK,
 CALLBACK_OK, CALLBACK_BAD, REOPENED, CLOSED, HANDED_BACK) = range(len(EVENT_NAMES))

# Case status codes.
STATUS_NAMES = ("new", "registered", "waiting", "assigned", "in_progress", "closed",
                "parked", "invalid")
(S_NEW, S_REGISTERED, S_WAITING, S_ASSIGNED, S_PROGRESS, S_CLOSED, S_PARKED,
 S_INVALID) = range(len(STATUS_NAMES))

IOT, PATROL, HOTLINE, OTHER = range(4)

#: Default ``ScoreWeights.defer`` (seconds-equivalent per priority unit) of the snapshots
#: the model builds, unless ``dispatch.params.weights.defer`` sets one. The optimizer's
#: own default (4 h) suits a dispatcher that can hand a deferred task to someone else;
#: in the model a deferred task only waits in the pool for the next round and meets the
#: same busy crews, so deferral must be the last resort: about 11.6 days, more than any
#: pair cost (wait + travel + lateness) a bounded backlog produces. With the 4 h default,
#: ``mcf`` closed fewer cases than ``nearest`` at equal staffing (MODEL.md, "Deferral").
SIM_DEFER_S = 1_000_000.0


#: Offset of the day number in a child stream's spawn key (keys must be non-negative and
#: a run may start generating the day before day 0).
_DAY_KEY = 1 << 16


def _substream(parent: np.random.Generator, *key: int) -> np.random.Generator:
    """A generator determined by ``parent``'s seed sequence and ``key`` alone (not by how
    many numbers ``parent`` has produced)."""
    ss = parent.bit_generator.seed_seq
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + key)))


class _Call(Event):
    """A timeout that runs one callback; cheaper than ``Timeout`` + ``callbacks.append``."""

    def __init__(self, env: Environment, delay: float, callback, value) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = value
        self._ok = True
        env.schedule(self, NORMAL, delay)


class _Buffer:
    """Blocks of uniform / standard-normal variates from one stream, handed out one by one."""

    def __init__(self, rng: np.random.Generator, size: int = 8192) -> None:
        self.rng = rng
        self.size = size
        self._u: list[float] = []
        self._z: list[float] = []

    def u(self) -> float:
        if not self._u:
            self._u = self.rng.random(self.size).tolist()
        return self._u.pop()

    def z(self) -> float:
        if not self._z:
            self._z = self.rng.standard_normal(self.size).tolist()
        return self._z.pop()

    def exp(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u()) if mean > 0 else 0.0


class _Growable:
    """Named NumPy columns that grow by doubling."""

    def __init__(self, spec: dict[str, tuple[type, object]], capacity: int) -> None:
        self.spec = spec
        self.n = 0
        self.cap = max(capacity, 16)
        for name, (dtype, fill) in spec.items():
            setattr(self, name, np.full(self.cap, fill, dtype=dtype))

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self.cap:
            return
        cap = max(need, int(self.cap * 1.5))
        for name, (dtype, fill) in self.spec.items():
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
        self.cap = cap


_CASE_SPEC = {
    "t_occur": (np.float64, np.nan), "t_report": (np.float64, np.nan),
    "t_register": (np.float64, np.nan), "t_dispatch": (np.float64, np.nan),
    "t_close": (np.float64, np.nan), "t_pool": (np.float64, np.nan),
    "deadline": (np.float64, np.nan),
    # End of a hotline case's work-order processing (channels.hotline.order_types).
    "t_order": (np.float64, np.nan), "order_wait": (np.int8, 0),
    "order_limit_wd": (np.float32, np.nan),
    "cell": (np.int32, -1), "category": (np.int16, -1), "channel": (np.int8, -1),
    "status": (np.int8, S_NEW), "team": (np.int32, -1), "resolved": (np.int8, -1),
    "satisfied": (np.int8, -1), "n_misroute": (np.int16, 0), "n_rework": (np.int16, 0),
    "n_reopen": (np.int16, 0), "n_extension": (np.int16, 0), "n_attempt": (np.int16, 0),
    "on_spot": (np.int8, 0),
    # First-attempt variates, drawn per day (common random numbers across policies).
    "d_register": (np.float32, 0), "d_sign": (np.float32, 0), "d_prep": (np.float32, 0),
    "d_work": (np.float32, 0), "d_verify": (np.float32, 0), "d_callback": (np.float32, 0),
    "d_feedback": (np.float32, 0), "u_loop": (np.float32, 0),
}


class Model:
    """One run of the model (a mutable run of a fixed scenario description).

    Parameters
    ----------
    scenario, space, catalogue, calendar
        Validated inputs.
    policy
        Dispatch policy ``(DispatchProblem) -> Assignment``.
    streams
        Named ``numpy.random.Generator`` per component: ``demand``, ``cases``, ``repeat``.
    """

    def __init__(self, scenario: Scenario, space: Space, catalogue: Catalogue,
                 calendar: WorkCalendar, policy, streams: dict[str, np.random.Generator],
                 teams: dict[str, np.ndarray]) -> None:
        from urbangrid.optimizer import DispatchProblem, ScoreWeights

        self._Problem = DispatchProblem
        weights = {"defer": SIM_DEFER_S, **scenario.dispatch.params.get("weights", {})}
        self._weights = ScoreWeights(**weights)
        self.sc = scenario
        self.space = space
        self.cat = catalogue
        self.cal = calendar
        self.policy = policy
        self.rng_demand = streams["demand"]
        self.rng_cases = streams["cases"]
        # Its own stream: adding or changing order types leaves every other draw alone.
        self.rng_orders = streams["orders"]
        self.buf = _Buffer(streams["repeat"])
        self.env = Environment()
        run = scenario.run
        self.t_stats = run.warmup_days * DAY
        self.t_end = (run.warmup_days + run.days) * DAY
        # The run goes on for run.drain_days after the horizon (arrivals continue) so that
        # the window's cases can close; team statistics stop at the horizon.
        self.t_stop = self.t_end + run.drain_days * DAY
        wf = scenario.workflow
        self.legacy = wf.process == "legacy"
        self.forward_means = [h * 3600.0 for h in wf.forwarding_hours]

        # -- categories as Python lists for cheap scalar access in callbacks
        skills = catalogue.skills
        self.skill_names = skills
        self.cat_skill_bit = catalogue.skill_index()
        self.cat_priority = catalogue.priority.astype(float)
        self.cat_work_mean = catalogue.work_mean_s
        self.cat_sub = None
        self._cat_res = catalogue.resolution_prob.tolist()
        self._cat_work_mean = catalogue.work_mean_s.tolist()
        self._cat_work_cv = catalogue.work_cv.tolist()
        self._cat_work_dist = list(catalogue.work_dist)
        self._cat_bit = self.cat_skill_bit.tolist()
        self._cat_prio = catalogue.priority.tolist()
        self._cell_sub = space.subdistrict.tolist()
        self._cell_list_sub = space.subdistrict

        # -- teams (preallocated state arrays)
        self.team_skills = teams["skills"].astype(np.int64)
        self.team_area = teams["area"].astype(np.int32)
        self.team_home = teams["home"].astype(np.int32)
        self.team_cell = self.team_home.copy()
        self.team_mode = teams["mode"].astype(np.int8)
        self.team_pattern = teams["pattern"].astype(np.int16)
        self.team_capacity = teams["capacity"].astype(np.int32)
        self.team_kind = teams["kind"].astype(np.int16)
        self.patterns = teams["patterns"]  # list of ShiftWindows
        m = self.team_skills.shape[0]
        self.n_teams = m
        self.team_load = np.zeros(m, np.int32)
        self.team_slots = self.team_capacity.copy()
        self.team_free_at = np.zeros(m)
        self.team_shift_start = np.zeros(m)
        self.team_shift_end = np.full(m, -1.0)
        self.team_busy_s = np.zeros(m)
        self.team_travel_s = np.zeros(m)
        self.team_tasks = np.zeros(m, np.int64)
        self._team_queue = [deque() for _ in range(m)]
        self._team_busy = [False] * m
        self._team_waking = [False] * m
        self._team_task_start = [0.0] * m
        self._team_task_travel = [0.0] * m
        self._refresh_shifts(0.0, force=True)
        self.travel = [space.travel_matrix(mode) if (self.team_mode == k).any() else None
                       for k, mode in enumerate(MODES)]
        self._team_mode_l = self.team_mode.tolist()
        used = [k for k, mat in enumerate(self.travel) if mat is not None]
        # Transposed (destination-major) copies: a batch reads the rows of its few task
        # cells, contiguous in memory, instead of one cache line per team row (3 × faster
        # on Jing'an; the matrices are 40 MB each and do not stay in cache).
        self._tstack = space.travel_stack_t(tuple(MODES[k] for k in used))
        self._team_stack = np.searchsorted(np.array(used), self.team_mode).astype(np.intp)
        n_sub = space.n_subdistricts
        self.n_areas = n_sub
        area_col = np.where(self.team_area < 0, n_sub, self.team_area)
        self._area_onehot = np.zeros((m, n_sub + 1))
        self._area_onehot[np.arange(m), area_col] = 1.0
        self._bits = np.arange(len(skills), dtype=np.int64)
        self._cat_mask = np.left_shift(1, self.cat_skill_bit).astype(np.int64)
        # has_all[s, j] = 1.0 when team j has skill s.
        self._has_all = ((self.team_skills[None, :] >> self._bits[:, None]) & 1).astype(float)
        self._area_bound = scenario.dispatch.area_bound
        self._validate = scenario.dispatch.validate_snapshots
        self.inspector_windows = teams["inspector_windows"]
        # Current or next inspector duty window (times only move forward).
        self._insp_start, self._insp_end = self.inspector_windows.window_at(0.0)

        # -- cases, pools and log
        self.cases = _Growable(_CASE_SPEC, int(scenario.demand.cases_per_day * 1.2
                                               * (run.days + run.warmup_days
                                                  + run.drain_days + 1)) + 1024)
        self._pools: dict[tuple[int, int], list] = {}
        self.n_waiting = 0
        self._dispatch_pending: int | None = None
        self._seq = 0
        self.ev_t = array("d")
        # Compact columns: a year of Jing'an logs about 23 M rows.
        self.ev_case = array("i")
        self.ev_kind = array("b")
        self.ev_team = array("h")
        self._ap_t, self._ap_case = self.ev_t.append, self.ev_case.append
        self._ap_kind, self._ap_team = self.ev_kind.append, self.ev_team.append
        # Rows logged at another time than the current one (a case's report time, logged
        # at registration; arrival, logged when travel starts) go to a side log so that
        # the main log stays time-ordered; the two are merged after the run.
        self.sv_t = array("d")
        self.sv_case = array("i")
        self.sv_kind = array("b")
        self.sv_team = array("h")
        self.n_policy_calls = 0
        self.n_rounds = 0
        self.round_seconds = 0.0
        self.policy_seconds = 0.0
        self.demand = DemandModel(scenario, space, catalogue, calendar,
                                  self.inspector_windows)
        self._on_events = scenario.dispatch.on_events
        self._surges = [(s.start_day * DAY, (s.start_day + s.days) * DAY, s.travel_factor)
                        for s in scenario.demand.surges if s.travel_factor != 1.0]
        self._prep_factor = wf.prep_factor
        self._other_boost = scenario.channels.other.priority_boost
        self._sign_mean = wf.sign_mean_min * 60.0
        self._misroute = wf.misroute_prob
        self._return_mean = wf.return_mean_hours * 3600.0
        self._feedback_mean = wf.feedback_mean_min * 60.0
        self._verify_mean = scenario.inspectors.verify_delay_min * 60.0
        self._handover = scenario.dispatch.handover
        self._lookahead = scenario.dispatch.shift_lookahead_h * 3600.0
        fast = scenario.channels.iot.fast_lane
        self._iot_fast = fast.enabled
        self._fast_sign_mean = fast.sign_mean_min * 60.0
        self._fast_verify_mean = fast.verify_delay_min * 60.0
        self._fast_register_mean = fast.register_mean_min * 60.0
        self._fast_same_day = fast.enabled and fast.due_same_day
        self._filing_windows = None
        if fast.enabled and fast.filing_shift is not None:
            fs = scenario.shifts[fast.filing_shift]
            self._filing_windows = calendar.shift_windows(fs.days, fs.start_seconds, fs.hours)
        self._rework = wf.rework_prob
        self._callback_mean = scenario.channels.hotline.callback_delay_hours * 3600.0
        hl = scenario.channels.hotline
        self._order_types = list(hl.order_types.values())
        self._order_scale = hl.order_time_scale

    # ------------------------------------------------------------------ utilities
    def _log_at(self, t: float, case: int, kind: int, team: int) -> None:
        self._ap_t(t)
        self._ap_case(case)
        self._ap_kind(kind)
        self._ap_team(team)

    def _log_side(self, t: float, case: int, kind: int, team: int) -> None:
        self.sv_t.append(t)
        self.sv_case.append(case)
        self.sv_kind.append(kind)
        self.sv_team.append(team)

    def _delay_after(self, mean_or_value: float, working: bool) -> float:
        """Delay until ``value`` seconds (calendar, or working time when ``working``)."""
        if not working:
            return mean_or_value
        now = self.env._now
        return self.cal.add_working_scalar(now, mean_or_value) - now

    def _travel_factor(self, t: float) -> float:
        f = 1.0
        for a, b, k in self._surges:
            if a <= t < b:
                f *= k
        return f

    def _refresh_shifts(self, now: float, force: bool = False) -> None:
        stale = self.team_shift_end <= now
        if not force and not stale.any():
            return
        for p, win in enumerate(self.patterns):
            sel = stale & (self.team_pattern == p)
            if sel.any():
                s, e = win.window_at(now)
                self.team_shift_start[sel] = s
                self.team_shift_end[sel] = e

    # ------------------------------------------------------------------ arrivals
    def _days(self):
        """Process generating each calendar day's arrivals just before it starts."""
        cal = self.cal
        first = int(cal.day_index(0.0))
        last = int(cal.day_index(self.t_stop - 1e-6))
        for day in range(first, last + 1):
            d0 = max(cal.day_start(day), 0.0)
            if d0 > self.env._now:
                yield self.env.timeout(d0 - self.env._now)
            self._generate(day)

    def _generate(self, day: int) -> None:
        # Per-day, per-channel child streams: a what-if that changes one channel's volume
        # leaves every other channel's arrivals and case draws unchanged.
        key = day + _DAY_KEY
        arr = self.demand.generate(
            day, [_substream(self.rng_demand, key, c) for c in range(len(CHANNELS))])
        keep = (arr.t >= 0.0) & (arr.t < self.t_stop)
        t, cell, cat, ch = arr.t[keep], arr.cell[keep], arr.category[keep], arr.channel[keep]
        n = t.shape[0]
        cs = self.cases
        cs.reserve(n)
        i0 = cs.n
        sl = slice(i0, i0 + n)
        sc = self.sc
        chn = sc.channels
        wf = sc.workflow
        # Variates drawn in a fixed order from the "cases" stream, one block per day and
        # channel (in arrival order within the channel).
        e = np.empty((8, n))
        z = np.empty((2, n))
        u = np.empty((2, n))
        for c in range(len(CHANNELS)):
            idx = np.flatnonzero(ch == c)
            if idx.size:
                g = _substream(self.rng_cases, key, c)
                e[:, idx] = g.standard_exponential((8, idx.size))
                z[:, idx] = g.standard_normal((2, idx.size))
                u[:, idx] = g.random((2, idx.size))
        det_mean = np.select(
            [ch == IOT, ch == PATROL],
            [chn.iot.detection_delay_min * 60.0, chn.patrol.detection_delay_hours * 3600.0],
            0.0)
        cs.t_occur[sl] = t - det_mean * e[0]
        cs.t_report[sl] = t
        cs.cell[sl] = cell
        cs.category[sl] = cat
        cs.channel[sl] = ch
        prio = self.cat.priority[cat]
        reg_mean = np.where(prio >= 3, wf.register_mean_min_urgent,
                            wf.register_mean_min_normal) * 60.0
        sign_mean = np.full(n, wf.sign_mean_min * 60.0)
        verify_mean = np.full(n, sc.inspectors.verify_delay_min * 60.0)
        fast = (ch == IOT) if self._iot_fast else np.zeros(n, dtype=bool)
        if self._iot_fast:
            reg_mean = np.where(fast, self._fast_register_mean, reg_mean)
            sign_mean[fast] = self._fast_sign_mean
            verify_mean[fast] = self._fast_verify_mean
        cs.d_register[sl] = reg_mean * e[1]
        # Registration time and deadline are known now: the registration delay is drawn
        # here and (legacy) only counts working time.
        d_reg = cs.d_register[sl].astype(np.float64)
        t_file = t
        if self._filing_windows is not None:
            # Non-urgent detections outside the filing shift wait for its next start.
            start, _ = self._filing_windows.windows_at(t)
            t_file = np.where(fast & (prio < 3), np.maximum(t, start), t)
        t_reg = self.cal.add_working(t_file, d_reg) if self.legacy else t_file + d_reg
        cs.t_register[sl] = t_reg
        due = deadlines(self.cal, self.cat, t_reg, cat)
        if self._fast_same_day:
            # The platform's same-day rule: dispatch sees auto-detected cases as due by
            # the end of the day they are filed (KPIs keep the category limit).
            eod = self.cal.day_offset + DAY * (self.cal.day_index(t_reg) + 1.0)
            due = np.where(fast, np.minimum(due, eod), due)
        cs.deadline[sl] = due
        cs.d_sign[sl] = sign_mean * e[2]
        cs.d_feedback[sl] = wf.feedback_mean_min * 60.0 * e[3]
        cs.d_verify[sl] = verify_mean * e[4]
        cs.d_callback[sl] = chn.hotline.callback_delay_hours * 3600.0 * e[5]
        mean = self.cat.work_mean_s[cat]
        cv = self.cat.work_cv[cat]
        sig2 = np.log1p(cv * cv)
        lognorm = mean * np.exp(np.sqrt(sig2) * z[0] - sig2 / 2.0)
        dist = np.array([("exp", "lognormal", "fixed").index(d) for d in self.cat.work_dist])
        kd = dist[cat]
        cs.d_work[sl] = np.select([kd == 0, kd == 1], [mean * e[6], lognorm], mean)
        ch_prep = np.array([chn.iot.prep_factor, chn.patrol.prep_factor,
                            chn.hotline.prep_factor, chn.other.prep_factor])
        pm = self.cat.prep_mean_s[cat] * self._prep_factor * ch_prep[ch]
        pcv = self.cat.prep_cv[cat]
        ps2 = np.log1p(pcv * pcv)
        cs.d_prep[sl] = np.where(pm > 0, pm * np.exp(np.sqrt(ps2) * z[1] - ps2 / 2.0), 0.0)
        cs.u_loop[sl] = u[0]
        # The on-the-spot and false-positive draws share u[1] (they apply to disjoint
        # channels).
        onspot = (ch == PATROL) & self.cat.onspot_fixable[cat] & (u[1] < chn.patrol.onspot_fix_prob)
        invalid = (ch == IOT) & (u[1] < chn.iot.false_positive_rate)
        cs.on_spot[sl] = onspot.astype(np.int8)
        if self._order_types and n:
            # Hotline cases only, from their own per-day stream: a change in another
            # channel's volume leaves every work order as it was.
            cs.t_order[sl], cs.order_limit_wd[sl] = self._order_ends(
                _substream(self.rng_orders, key, HOTLINE), ch, t_reg)
        cs.status[sl] = np.where(invalid, S_INVALID, S_NEW)  # provisional marker
        cs.n = i0 + n
        env = self.env
        now = env._now
        on_register = self._on_register
        for k, tk in enumerate(t_reg.tolist()):
            _Call(env, tk - now, on_register, i0 + k)

    # ------------------------------------------------------------------ life cycle
    # Stages that follow each other without a decision in between share one SimPy
    # event: the log still gets a row per stage (with its own time), and the log is
    # sorted by time when the run ends. Reported+registered, travel+arrival+work, and
    # feedback+verification are each one event.
    def _on_register(self, ev) -> None:
        c = ev._value
        cs = self.cases
        now = self.env._now
        log = self._log_at
        self._log_side(cs.t_report.item(c), c, REPORTED, -1)
        log(now, c, REGISTERED, -1)
        st = cs.status.item(c)
        if st == S_INVALID:
            cs.t_close[c] = now
            log(now, c, INVALID, -1)
            return
        cs.status[c] = S_REGISTERED
        if cs.on_spot.item(c):
            cs.t_close[c] = now
            cs.status[c] = S_CLOSED
            cs.resolved[c] = 1
            log(now, c, FIXED_ON_SPOT, -1)
            log(now, c, CLOSED, -1)
            return
        self._route(c, 0)

    def _route(self, c: int, hop: int) -> None:
        """Forwarding hops (legacy hierarchy), preparation, then the dispatch pool."""
        if hop < len(self.forward_means):
            d = self.buf.exp(self.forward_means[hop])
            _Call(self.env, self._delay_after(d, self.legacy), self._on_forwarded,
                  (c, hop + 1))
            return
        cs = self.cases
        d = cs.d_prep.item(c) if cs.n_attempt.item(c) == 0 else 0.0
        if d > 0:
            # Coordination by the handling unit (approvals, contacting parties) before a
            # crew can be sent; it holds no crew.
            _Call(self.env, self._delay_after(d, self.legacy), self._on_prepared, c)
        else:
            self._to_pool(c)

    def _on_forwarded(self, ev) -> None:
        c, hop = ev._value
        self._log_at(self.env._now, c, FORWARDED, -1)
        self._route(c, hop)

    def _on_prepared(self, ev) -> None:
        c = ev._value
        self._log_at(self.env._now, c, PREPARED, -1)
        self._to_pool(c)

    def _to_pool(self, c: int, queued_at: float | None = None) -> None:
        """Put case ``c`` in its (skill, sub-district) heap, ordered by priority then by
        ``queued_at`` (default: now)."""
        cs = self.cases
        now = self.env._now
        cs.status[c] = S_WAITING
        if math.isnan(cs.t_pool.item(c)):
            cs.t_pool[c] = now
        cat = cs.category.item(c)
        key = (self._cat_bit[cat], self._cell_sub[cs.cell.item(c)])
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = []
        prio = self._cat_prio[cat] + (self._other_boost if cs.channel.item(c) == OTHER else 0)
        self._seq += 1
        heapq.heappush(pool, (-prio, now if queued_at is None else queued_at, self._seq, c))
        self.n_waiting += 1
        if self._on_events == "all":
            self._request_dispatch(0)
        elif self._on_events == "urgent" and prio >= 3:
            self._request_dispatch(3)

    def _request_dispatch(self, min_prio: int) -> None:
        """A dispatch round at the current time, after the events already due now;
        ``min_prio`` > 0 offers only tasks of at least that priority (urgent rounds)."""
        pending = self._dispatch_pending
        if pending is None:
            self._dispatch_pending = min_prio
            _Call(self.env, 0.0, self._dispatch_event, None)
        elif min_prio < pending:
            self._dispatch_pending = min_prio

    def _dispatch_event(self, ev) -> None:
        min_prio = self._dispatch_pending
        self._dispatch_pending = None
        self._dispatch_round(min_prio)

    def _dispatcher(self):
        interval = self.sc.dispatch.interval_s
        while True:
            self._dispatch_round()
            yield self.env.timeout(interval)

    def _dispatch_round(self, min_prio: int = 0) -> None:
        t0 = time.perf_counter()
        self._round(min_prio)
        self.round_seconds += time.perf_counter() - t0
        self.n_rounds += 1

    def _round(self, min_prio: int) -> None:
        if self.n_waiting == 0:
            return
        now = self.env._now
        # No office-hours gate here, also under `legacy`: a crew is handed orders while it
        # is on duty (the candidate filter below), so office-hours crews still get them in
        # office hours only. Gating every round to office hours (before 2026-11-27) left
        # round-the-clock crews with at most `capacity` orders for each night and weekend:
        # jingan_legacy's sanitation and utilities crews were 25 % busy while their pools
        # grew without bound (CALIBRATION.md, "legacy backlog").
        self._refresh_shifts(now)
        look = self.sc.dispatch.shift_lookahead_h * 3600.0
        free = (self.team_slots > 0) & (self.team_shift_start <= now + look)
        cand = np.flatnonzero(free)
        if cand.size == 0:
            return
        slots = self.team_slots[cand]
        has = self._has_all[:, cand]
        per = self.sc.dispatch.batch_per_slot
        # Offer each skill at most `per` tasks per free slot of that skill, most urgent
        # pool heads first; with area-bound crews also each (skill, sub-district) pool at
        # most `per` per free slot that may serve it (own-area plus district-wide crews).
        skill_left = (has @ slots * per).astype(np.int64).tolist()
        bound = self._area_bound
        if bound:
            avail = (has * slots) @ self._area_onehot[cand]  # (skills, areas + 1)
            avail = (avail[:, :-1] + avail[:, -1:]).tolist()
        heads = sorted((pool[0], key) for key, pool in self._pools.items() if pool)
        taken: list[tuple] = []
        pop = heapq.heappop
        for head, key in heads:
            if -head[0] < min_prio:
                break
            sk = key[0]
            left = skill_left[sk]
            if left <= 0:
                continue
            pool = self._pools[key]
            k = min(len(pool), left)
            if bound:
                k = min(k, int(avail[sk][key[1]]) * per)
            if k <= 0:
                continue
            skill_left[sk] = left - k
            for _ in range(k):
                if -pool[0][0] < min_prio:
                    break
                taken.append(pop(pool))
        if not taken:
            return
        ids = np.fromiter((x[3] for x in taken), dtype=np.int64, count=len(taken))
        prio = -np.fromiter((x[0] for x in taken), dtype=np.float64, count=len(taken))
        cs = self.cases
        cells = cs.cell[ids]
        cats = cs.category[ids]
        task_skill = self._cat_mask[cats]
        task_area = self._cell_list_sub[cells]
        # Only teams that could take one of the offered tasks enter the problem.
        need = int(np.bitwise_or.reduce(task_skill))
        keep = (self.team_skills[cand] & need) != 0
        if bound:
            keep &= (self.team_area[cand] < 0) | np.isin(self.team_area[cand], task_area)
        cand = cand[keep]
        slots = slots[keep]
        deadline = cs.deadline[ids]
        cl = cells.tolist()
        uc_l = sorted(set(cl))
        pos = {x: i for i, x in enumerate(uc_l)}
        uc = np.array(uc_l, dtype=np.intp)
        inv = np.array([pos[x] for x in cl], dtype=np.int32)
        # One gather from the stacked matrices of the modes in use.
        # Only pairs where the team has a skill a task in the cell needs are read by the
        # policies (DispatchProblem.travel); the others are left +inf.
        cell_skill = np.zeros(uc.size, dtype=task_skill.dtype)
        np.bitwise_or.at(cell_skill, inv, task_skill)
        travel = gather_travel(self._tstack, self._team_stack[cand],
                               self.team_cell[cand], uc, self.team_skills[cand], cell_skill)
        if bound:
            ta = self.team_area[cand]
            foreign = (ta[:, None] >= 0) & (ta[:, None] != self._cell_list_sub[uc][None, :])
            travel[foreign] = np.inf
        f = self._travel_factor(now)
        if f != 1.0:
            travel *= f
        n, m = ids.size, cand.size
        problem = make_problem(
            self._Problem, self._validate,
            now=float(now), task_id=ids, task_cell=inv,
            task_priority=prio, task_skill=task_skill, task_deadline=deadline,
            task_work=self.cat_work_mean[cats], task_area=task_area,
            task_pinned=np.full(n, -1, np.int32), task_current=np.full(n, -1, np.int32),
            task_crews=np.ones(n, np.int32),
            team_id=cand.astype(np.int64), team_cell=np.zeros(m, np.int32),
            team_skills=self.team_skills[cand],
            team_free_at=np.maximum(self.team_free_at[cand], now),
            team_capacity=slots.astype(np.int32),
            team_shift_start=self.team_shift_start[cand],
            team_shift_end=self.team_shift_end[cand], team_load=self.team_load[cand],
            team_area=self.team_area[cand], travel=travel, weights=self._weights,
            cell_travel=None,
        )
        t0 = time.perf_counter()
        result = self.policy(problem)
        self.policy_seconds += time.perf_counter() - t0
        self.n_policy_calls += 1
        team = result.team.tolist()
        trav = travel
        for i, x in enumerate(taken):
            j = team[i]
            if j < 0 or self.team_slots[cand[j]] <= 0:
                key = (self._cat_bit[int(cats[i])], self._cell_sub[int(cells[i])])
                heapq.heappush(self._pools[key], x)
                continue
            self._assign(x[3], int(cand[j]), float(trav[j, inv[i]]))

    def _assign(self, c: int, j: int, travel_est: float) -> None:
        cs = self.cases
        now = self.env._now
        self.n_waiting -= 1
        cs.status[c] = S_ASSIGNED
        cs.team[c] = j
        if math.isnan(cs.t_dispatch.item(c)):
            cs.t_dispatch[c] = now
        self.team_load[j] += 1
        self.team_slots[j] -= 1
        cat = cs.category.item(c)
        fa = self.team_free_at.item(j)
        self.team_free_at[j] = (fa if fa > now else now) + travel_est + self._cat_work_mean[cat]
        self._log_at(now, c, DISPATCHED, j)
        if cs.n_attempt.item(c) == 0:
            d = cs.d_sign.item(c)
        else:
            d = self.buf.exp(self._fast_sign_mean if self._iot_fast and
                             cs.channel.item(c) == IOT else self._sign_mean)
        if self.legacy:
            d = self._duty_delay(j, now, d)
        _Call(self.env, d, self._on_signed, c)

    def _duty_delay(self, j: int, now: float, d: float) -> float:
        """Delay until ``d`` seconds of team ``j``'s duty time have passed (legacy signing:
        the crew's unit signs while the crew is on duty, so an office-hours crew signs in
        office hours and a round-the-clock crew at once)."""
        s = self.team_shift_start.item(j)
        e = self.team_shift_end.item(j)
        t = now if now > s else s
        if t + d <= e:
            return t + d - now
        rest = t + d - e
        s2, e2 = self.patterns[self.team_pattern.item(j)].window_at(e)
        return s2 + min(rest, e2 - s2) - now

    def _on_signed(self, ev) -> None:
        c = ev._value
        cs = self.cases
        j = cs.team.item(c)
        self._log_at(self.env._now, c, SIGNED, j)
        u = cs.u_loop.item(c) if cs.n_attempt.item(c) == 0 else self.buf.u()
        if u < self._misroute:
            # The unit declines the order at signing (退单): the crew never starts it, so
            # its slot is free now; only the paperwork of the return takes time. Holding
            # the slot through the return (working time under `legacy`, so across nights
            # and weekends) once tied up most sanitation slots in jingan_legacy while the
            # crews idled and the pool grew without bound (tests/simulation, CALIBRATION.md).
            self._release(j)
            d = self.buf.exp(self._return_mean)
            _Call(self.env, self._delay_after(d, self.legacy), self._on_returned, c)
            return
        cs.status[c] = S_PROGRESS
        self._team_queue[j].append(c)
        if not self._team_busy[j]:
            self._team_next(j)

    def _on_returned(self, ev) -> None:
        c = ev._value
        cs = self.cases
        j = cs.team.item(c)
        self._log_at(self.env._now, c, RETURNED, j)
        cs.n_misroute[c] += 1
        cs.n_attempt[c] += 1
        cs.team[c] = -1
        if self.legacy:
            self._route(c, 0)
        else:
            self._to_pool(c)

    def _release(self, j: int) -> None:
        self.team_load[j] -= 1
        self.team_slots[j] += 1
        if self._on_events == "all":
            self._request_dispatch(0)

    def _team_next(self, j: int) -> None:
        q = self._team_queue[j]
        now = self.env._now
        if not q:
            self._team_busy[j] = False
            self.team_free_at[j] = now
            return
        if self.team_shift_end.item(j) <= now:
            s, e = self.patterns[self.team_pattern.item(j)].window_at(now)
            self.team_shift_start[j] = s
            self.team_shift_end[j] = e
        start = self.team_shift_start.item(j)
        if start > now:
            self._team_busy[j] = False
            if self._handover and start - now > self._lookahead:
                # Shift over: unstarted tasks go back to the pool for the next crew on
                # duty (dispatch.handover).
                self.team_free_at[j] = start
                while q:
                    c = q.popleft()
                    self._log_at(now, c, HANDED_BACK, j)
                    self._release(j)
                    # back in line where it was, not behind what came in since
                    self._to_pool(c, queued_at=self.cases.t_pool.item(c))
                return
            # Off duty: the queue waits for the next shift.
            if not self._team_waking[j]:
                self._team_waking[j] = True
                _Call(self.env, start - now, self._on_wake, j)
            return
        c = q.popleft()
        self._team_busy[j] = True
        cs = self.cases
        cell = cs.cell.item(c)
        tt = self.travel[self._team_mode_l[j]].item(self.team_cell.item(j), cell)
        if self._surges:
            tt *= self._travel_factor(now)
        if cs.n_attempt.item(c) == 0:
            w = cs.d_work.item(c)
        else:
            w = self._draw_work(cs.category.item(c))
        self._team_task_start[j] = now
        self._team_task_travel[j] = tt
        # The team heads for the task: the dispatcher sees it at its destination.
        self.team_cell[j] = cell
        log = self._log_at
        log(now, c, TRAVEL, j)
        if now + tt < self.t_stop:
            self._log_side(now + tt, c, ARRIVED, j)
        _Call(self.env, tt + w, self._on_work_done, c)

    def _on_wake(self, ev) -> None:
        j = ev._value
        self._team_waking[j] = False
        if not self._team_busy[j]:
            self._team_next(j)

    def _draw_work(self, k: int) -> float:
        mean = self._cat_work_mean[k]
        dist = self._cat_work_dist[k]
        if dist == "exp":
            return self.buf.exp(mean)
        if dist == "fixed":
            return mean
        cv = self._cat_work_cv[k]
        s2 = math.log1p(cv * cv)
        return mean * math.exp(math.sqrt(s2) * self.buf.z() - s2 / 2.0)

    def _on_work_done(self, ev) -> None:
        c = ev._value
        cs = self.cases
        j = cs.team.item(c)
        now = self.env._now
        self._log_at(now, c, WORK_DONE, j)
        t0 = self._team_task_start[j]
        lo = t0 if t0 > self.t_stats else self.t_stats
        hi = now if now < self.t_end else self.t_end
        if hi > lo:
            self.team_busy_s[j] += hi - lo
            tr_end = min(t0 + self._team_task_travel[j], hi)
            if tr_end > lo:
                self.team_travel_s[j] += tr_end - lo
        if now <= self.t_end:
            self.team_tasks[j] += 1
        self._release(j)
        self._team_next(j)
        first = cs.n_attempt.item(c) == 0
        fb = cs.d_feedback.item(c) if first else self.buf.exp(self._feedback_mean)
        if self.buf.u() < self._cat_res[cs.category.item(c)]:
            if self._iot_fast and cs.channel.item(c) == IOT:
                # Feedback, then the detecting camera or sensor confirms (any hour).
                d = cs.d_verify.item(c) if first else self.buf.exp(self._fast_verify_mean)
                _Call(self.env, fb + d, self._on_verified, c)
                return
            # Feedback, then an inspector on duty re-checks on site (one event).
            t_fb = now + fb
            s = self._insp_start
            if t_fb < s or t_fb >= self._insp_end:
                s, e = self.inspector_windows.window_at(t_fb)
                if t_fb >= self._insp_end:
                    self._insp_start, self._insp_end = s, e
            d = cs.d_verify.item(c) if first else self.buf.exp(self._verify_mean)
            _Call(self.env, (s - now if s > t_fb else fb) + d, self._on_verified, c)
        else:
            _Call(self.env, fb, self._on_unresolved, c)

    def _on_unresolved(self, ev) -> None:
        c = ev._value
        cs = self.cases
        now = self.env._now
        self._log_at(now, c, UNRESOLVED, cs.team.item(c))
        wf = self.sc.workflow
        if cs.n_extension.item(c) < wf.max_extensions and self.buf.u() < wf.extension_prob:
            cs.n_extension[c] += 1
            cs.n_attempt[c] += 1
            self._log_at(now, c, EXTENDED, -1)
            d = self.buf.exp(wf.extension_mean_hours * 3600.0)
            _Call(self.env, self._delay_after(d, self.legacy), self._on_repool, c)
        else:
            cs.status[c] = S_PARKED
            cs.resolved[c] = 0
            cs.t_close[c] = now
            self._log_at(now, c, PARKED, -1)

    def _on_repool(self, ev) -> None:
        self._to_pool(ev._value)

    def _on_verified(self, ev) -> None:
        c = ev._value
        cs = self.cases
        now = self.env._now
        if self.buf.u() < self._rework:
            cs.n_rework[c] += 1
            cs.n_attempt[c] += 1
            self._log_at(now, c, REWORK, -1)
            self._to_pool(c)
            return
        self._log_at(now, c, VERIFIED, -1)
        if cs.channel.item(c) == HOTLINE:
            d = cs.d_callback.item(c) if cs.n_reopen.item(c) == 0 else self.buf.exp(
                self._callback_mean)
            _Call(self.env, self._delay_after(d, self.legacy), self._on_callback, c)
        else:
            self._close(c)

    def _on_order_done(self, ev) -> None:
        self._close(ev._value)

    def _on_callback(self, ev) -> None:
        c = ev._value
        cs = self.cases
        now = self.env._now
        hl = self.sc.channels.hotline
        if self.buf.u() < hl.satisfaction_prob:
            cs.satisfied[c] = 1
            self._log_at(now, c, CALLBACK_OK, -1)
            self._close(c)
            return
        cs.satisfied[c] = 0
        self._log_at(now, c, CALLBACK_BAD, -1)
        if cs.n_reopen.item(c) < hl.max_reopen and self.buf.u() < hl.reopen_prob:
            cs.n_reopen[c] += 1
            cs.n_attempt[c] += 1
            self._log_at(now, c, REOPENED, -1)
            self._to_pool(c)
        else:
            self._close(c)

    def _order_ends(self, rng: np.random.Generator, ch: np.ndarray,
                    t_reg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """End of each hotline case's work-order processing and the published limit of
        its order type in working days (NaN for other channels).

        The type is drawn by its share, the duration lognormal with the type's mean
        (× ``order_time_scale``) and CV, counted from registration in working time under
        ``legacy`` and in calendar time otherwise. Drawn from the ``orders`` stream, so
        the other variates are the same with or without order types (common random
        numbers).
        """
        types = self._order_types
        n = ch.shape[0]
        out = np.full(n, np.nan)
        limit = np.full(n, np.nan)
        hot = np.flatnonzero(ch == HOTLINE)
        if hot.size == 0:
            return out, limit
        u = rng.random(hot.size)
        z = rng.standard_normal(hot.size)
        cum = np.cumsum([t.share for t in types])
        k = np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(types) - 1)
        mean = np.array([t.mean_days for t in types])[k] * self._order_scale
        cv = np.array([t.cv for t in types])[k]
        s2 = np.log1p(cv * cv)
        days = mean * np.exp(np.sqrt(s2) * z - s2 / 2.0)
        if self.legacy:
            out[hot] = self.cal.add_working(t_reg[hot], days * self.cal.day_length)
        else:
            out[hot] = t_reg[hot] + days * DAY
        limit[hot] = np.array([t.limit_working_days for t in types])[k]
        return out, limit

    def _close(self, c: int) -> None:
        cs = self.cases
        now = self.env._now
        t_order = cs.t_order.item(c)
        if t_order > now:
            # The work order is still being processed beside the crew visit (NaN compares
            # false: no order stage); the case closes when it is done.
            cs.order_wait[c] = 1
            _Call(self.env, t_order - now, self._on_order_done, c)
            return
        cs.status[c] = S_CLOSED
        cs.resolved[c] = 1
        cs.t_close[c] = now
        self._log_at(now, c, CLOSED, -1)

    # ------------------------------------------------------------------ run
    def run(self, progress=None) -> None:
        """Run to the horizon; ``progress(fraction)`` is called once per simulated day."""
        env = self.env
        env.process(self._days())
        env.process(self._dispatcher())
        t = 0.0
        while t < self.t_stop:
            t = min(t + DAY, self.t_stop)
            env.run(until=t)
            if progress is not None:
                progress(t / self.t_stop)
        self._close_waiting_orders()

    def _close_waiting_orders(self) -> None:
        """Close, at their work order's end, the cases that only wait for it.

        Their crew path is done and the order's end was drawn at registration; nothing
        else can happen to them, so closing them after the run's end is exact. It spares
        a long drain just to see work orders finish (MODEL.md "Hotline work orders").
        """
        cs = self.cases
        n = cs.n
        idx = np.flatnonzero((cs.order_wait[:n] == 1) & (cs.status[:n] != S_CLOSED)
                            & (cs.status[:n] != S_PARKED))
        # in time order: the main log must stay sorted (merge_logs relies on it)
        idx = idx[np.argsort(cs.t_order[idx], kind="stable")]
        for c in idx.tolist():
            t = cs.t_order.item(c)
            cs.status[c] = S_CLOSED
            cs.resolved[c] = 1
            cs.t_close[c] = t
            self._log_at(t, c, CLOSED, -1)


def make_problem(cls, validate: bool, **fields):
    """A ``DispatchProblem`` from arrays the model built with the documented dtypes.

    With ``validate`` the optimizer's constructor checks and coerces every field (about
    0.2 ms per snapshot); without it ``DispatchProblem.unchecked`` fills the record
    directly, which is safe because the model builds each field with the dtype and shape
    the constructor would produce (a test compares both ways field by field and the event
    logs they lead to).
    """
    return cls(**fields) if validate else cls.unchecked(**fields)


def deadlines(cal: WorkCalendar, cat: Catalogue, t_register: np.ndarray,
              category: np.ndarray) -> np.ndarray:
    """Handling deadline of each case from its registration time and category limit."""
    t = np.asarray(t_register, dtype=float)
    out = np.full(t.shape, np.nan)
    limit = cat.limit[category]
    unit = cat.limit_unit_code[category]
    ok = ~np.isnan(t)
    a = ok & (unit == 0)
    out[a] = t[a] + limit[a] * 3600.0
    b = ok & (unit == 1)
    if b.any():
        out[b] = cal.add_working(t[b], limit[b] * 3600.0)
    c = ok & (unit == 2)
    if c.any():
        out[c] = cal.add_working(t[c], limit[c] * cal.day_length)
    return out


__all__ = ["CHANNELS", "EVENT_NAMES", "SIM_DEFER_S", "STATUS_NAMES", "Model", "deadlines",
           "make_problem"]
