"""The model: arrivals, the dispatcher and the compiled crew life cycle.

SimPy's environment is the model's clock and runs its low-volume processes (today the
daily arrivals); everything a case and a crew do, and the dispatcher's rounds, run in
the compiled event loop of :mod:`._core`, which this class drives up to each SimPy event
(:meth:`Model.run`, :meth:`Model._advance`) and which hands back the rounds that need
the Python policy. Case and team state
live in preallocated NumPy blocks shared by both sides; first-attempt random variates
are drawn vectorised per day and channel (common random numbers across policies); open
unassigned tasks are indexed by (skill, sub-district) so a dispatch round never rescans
the whole backlog; the dispatcher calls the policy only when there are unassigned tasks
and free capacity.

The readable entry point is :func:`urbangrid.simulation.simulate`.
"""

from __future__ import annotations

import time

import numpy as np

from urbangrid.calendar import DAY, WorkCalendar
from urbangrid.catalogue import CHANNELS, Catalogue
from urbangrid.errors import InputError
from urbangrid.organisations import Departments

from . import _core
from ._core import (
    CASE_F32,
    CASE_F64,
    CASE_I8,
    CASE_I16,
    CASE_I32,
    CASE_I64,
    CASE_INTERNAL,
    TEAM_F64,
    TEAM_I64,
    CategoryTable,
    CoreInputs,
    CoreState,
    Count,
    Due,
    Mark,
    Params,
    Stop,
    Weights,
)
from ._kernels import work_time
from .codes import Channel, Event, Status
from .demand import DemandModel
from .environment import Environment
from .orders import N_FIRST_DRAWS, WorkOrders
from .scenario import Scenario
from .space import MODES, Space

#: Default ``ScoreWeights.defer`` (seconds-equivalent per priority unit) of the snapshots
#: the model builds, unless ``dispatch.params.weights.defer`` sets one. The optimizer's
#: own default (4 h) suits a dispatcher that can hand a deferred task to someone else;
#: in the model a deferred task only waits in the pool for the next round and meets the
#: same busy crews, so deferral must be the last resort: about 11.6 days, more than any
#: pair cost (wait + travel + the lateness an assignment adds) a bounded backlog produces
#: (MODEL.md, "Deferral"); the calibrated scenarios were fitted with it.
SIM_DEFER_S = 1_000_000.0


#: Offset of the day number in a child stream's spawn key (keys must be non-negative and
#: a run may start generating the day before day 0).
_DAY_KEY = 1 << 16

#: Repeat-attempt variates drawn per refill of the core's buffers.
_DRAW_BLOCK = 1 << 16
#: Initial sizes of the event heap and the logs (both grow by doubling; the log starts
#: at about the rows a run writes: ~9 per case).
_HEAP_START = 1 << 14
_POOL_START = 1 << 10
_LOG_MIN_ROWS = 1 << 16
_LOG_ROWS_PER_CASE = 12


def _substream(parent: np.random.Generator, *key: int) -> np.random.Generator:
    """A generator determined by ``parent``'s seed sequence and ``key`` alone (not by how
    many numbers ``parent`` has produced)."""
    ss = parent.bit_generator.seed_seq
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + key)))


#: Fill value of a new case column (default 0; every ``t_*`` column NaN).
_FILL = {"deadline": np.nan, "pool_rank": np.nan, "pool_queued": np.nan, "cell": -1,
         "team": -1, "qnext": -1, "category": -1, "channel": -1, "resolved": -1,
         "satisfied": -1, "unit": -1, "order_type": -1, "route_key": -1}


def _fill(name: str) -> float:
    if name.startswith("t_"):
        return np.nan
    return _FILL.get(name, 0)


class CaseTable:
    """The cases' columns, one 2-D block per dtype, ``block[case, column]`` (columns named
    by ``_core.CASE_*``); each column is also an attribute (a strided view of its block);
    grows by half when full.

    Case-major blocks keep one case's fields together: the compiled event loop touches
    a dozen fields of one case per event, one cache line each in column-major order.
    """

    BLOCKS = ((CASE_F64, np.float64), (CASE_F32, np.float32), (CASE_I32, np.int32),
              (CASE_I16, np.int16), (CASE_I8, np.int8), (CASE_I64, np.int64))
    #: Output columns (internal ones excluded).
    spec = tuple(name for names, _ in BLOCKS for name in names if name not in CASE_INTERNAL)

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self.cap = max(capacity, 16)
        # Rows get their fill values when reserved (reserve): capacity never used costs
        # address space, not memory.
        self.blocks = [np.empty((self.cap, len(names)), dtype=dtype)
                       for names, dtype in self.BLOCKS]
        self._fills = [np.array([_fill(name) for name in names], dtype=dtype)
                       for names, dtype in self.BLOCKS]
        self._views()

    def _views(self) -> None:
        for (names, _), block in zip(self.BLOCKS, self.blocks, strict=True):
            for i, name in enumerate(names):
                setattr(self, name, block[:, i])

    def columns(self) -> dict[str, np.ndarray]:
        """The output columns of the ``n`` cases as contiguous arrays; the blocks are
        released one by one as they are copied (peak memory of a year's run)."""
        out = {}
        for k, (names, _) in enumerate(self.BLOCKS):
            block = self.blocks[k]
            for i, name in enumerate(names):
                if name not in CASE_INTERNAL:
                    out[name] = np.ascontiguousarray(block[: self.n, i])
            self.blocks[k] = None
        for names, _ in self.BLOCKS:
            for name in names:
                setattr(self, name, None)
        return {name: out[name] for name in self.spec}

    def reserve(self, extra: int) -> bool:
        """Make room for ``extra`` more cases, rows ``n .. n + extra`` filled with their
        columns' fill values; True when the blocks were reallocated."""
        need = self.n + extra
        grew = need > self.cap
        if grew:
            cap = max(need, int(self.cap * 1.5))
            for k, old in enumerate(self.blocks):
                new = np.empty((cap, old.shape[1]), dtype=old.dtype)
                new[: self.n] = old[: self.n]
                self.blocks[k] = new
            self.cap = cap
            self._views()
        for block, fill in zip(self.blocks, self._fills, strict=True):
            block[self.n: need] = fill
        return grew


class _Column:
    """A growable 1-D array (the event logs, the pool hand-off, the event heap)."""

    __slots__ = ("a",)

    def __init__(self, dtype, capacity: int) -> None:
        self.a = np.empty(capacity, dtype=dtype)

    def ensure(self, n: int, extra: int) -> bool:
        if self.a.shape[0] - n >= extra:
            return False
        new = np.empty(max(2 * self.a.shape[0], n + extra), dtype=self.a.dtype)
        new[:n] = self.a[:n]
        self.a = new
        return True


class Model:
    """One run of the model (a mutable run of a fixed scenario description).

    Parameters
    ----------
    scenario, space, catalogue, calendar
        Validated inputs.
    policy
        Dispatch policy ``(DispatchProblem) -> Assignment``.
    streams
        Named ``numpy.random.Generator`` per component: ``demand``, ``cases``, ``orders``,
        ``repeat``.
    teams
        Team arrays from :func:`urbangrid.simulation.run.build_teams`.
    departments
        Who handles which work orders (:func:`urbangrid.organisations.load_departments`).
    """

    def __init__(self, scenario: Scenario, space: Space, catalogue: Catalogue,
                 calendar: WorkCalendar, policy, streams: dict[str, np.random.Generator],
                 teams: dict[str, np.ndarray], departments: Departments) -> None:
        from urbangrid.optimizer import DispatchProblem, ScoreWeights
        from urbangrid.optimizer.compiled import compiled_form

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
        # Its own stream: changing how work orders are handled leaves every other draw
        # alone.
        self.rng_orders = streams["orders"]
        self.rng_repeat = streams["repeat"]
        self.env = Environment()
        run = scenario.run
        self.t_stats = run.warmup_days * DAY
        self.t_end = (run.warmup_days + run.days) * DAY
        # The run goes on for run.drain_days after the horizon (arrivals continue) so that
        # the window's cases can close; team statistics stop at the horizon.
        self.t_stop = self.t_end + run.drain_days * DAY
        wf = scenario.workflow
        self.legacy = wf.process == "legacy"

        skills = catalogue.skills

        # -- teams: one float64 and one int64 block, each column an attribute (a view)
        m = teams["skills"].shape[0]
        self.n_teams = m
        self._team_f = np.zeros((len(TEAM_F64), m))
        self._team_i = np.zeros((len(TEAM_I64), m), dtype=np.int64)
        for i, name in enumerate(TEAM_F64):
            setattr(self, "team_" + name, self._team_f[i])
        for i, name in enumerate(TEAM_I64):
            setattr(self, "team_" + name, self._team_i[i])
        for name in ("skills", "area", "home", "mode", "pattern", "capacity", "kind"):
            getattr(self, "team_" + name)[:] = teams[name]
        self.team_cell[:] = self.team_home
        self.team_slots[:] = self.team_capacity
        self.team_shift_end[:] = -1.0  # stale: the first round (_core.offer) sets them
        self.team_qhead[:] = -1
        self.team_qtail[:] = -1
        self.team_join[:] = -1
        self.patterns = teams["patterns"]  # list of ShiftWindows
        used = [k for k, mode in enumerate(MODES) if (self.team_mode == k).any()]
        # Transposed (destination-major) copies: a batch reads the rows of its few task
        # cells, contiguous in memory, instead of one cache line per team row (3 × faster
        # on Jing'an; the matrices are 40 MB each and do not stay in cache).
        self._tstack = space.travel_stack_t(tuple(MODES[k] for k in used))
        self.team_stack[:] = np.searchsorted(np.array(used), self.team_mode)
        self._validate = scenario.dispatch.validate_snapshots
        # Crews per task: a category whose work needs several crews at once needs a policy
        # that staffs it (says so with ``multi_crew = True``, as ``cpsat`` does).
        self._crews = np.asarray(catalogue.crews, dtype=np.int32)
        self._multi_crew = bool((self._crews > 1).any())
        if self._multi_crew and not getattr(policy, "multi_crew", False):
            need = ", ".join(f"{catalogue.code[k]} ({self._crews[k]})"
                             for k in np.flatnonzero(self._crews > 1))
            raise InputError(
                f"dispatch.policy = {scenario.dispatch.policy!r} gives each task one crew, "
                f"but these categories need several at once (catalogue crews): {need}; "
                "use dispatch.policy = \"cpsat\" (or a policy with multi_crew = True)")
        # Rounds of a built-in policy run in the core (its compiled form); validated
        # snapshots need the Python constructor, so they go through Python, as do
        # multi-crew tasks (no compiled form staffs them).
        self._form = (None if self._validate or self._multi_crew
                      else compiled_form(policy))
        self.inspector_windows = teams["inspector_windows"]

        # -- cases, pools, logs, the core's heap and buffers
        self.cases = CaseTable(int(scenario.demand.cases_per_day * 1.2
                                   * (run.days + run.warmup_days + run.drain_days + 1))
                               + 1024)
        # One pool per (skill, sub-district): a heap of case ids, one row each. Rows share
        # one width (the largest pool so far): 84 pools × a few hundred waiting on Jing'an;
        # a sweep that leaves a skill without crews pays pools × its backlog × 8 B.
        self._pool_heap = np.zeros((len(skills) * space.n_subdistricts, _POOL_START),
                                   dtype=np.int64)
        self._pool_n = np.zeros(self._pool_heap.shape[0], dtype=np.int64)
        rows = max(_LOG_MIN_ROWS, _LOG_ROWS_PER_CASE * self.cases.cap)
        self._log = [_Column(np.float64, rows), _Column(np.int32, rows),
                     _Column(np.int8, rows), _Column(np.int16, rows)]
        self._side = [_Column(np.float64, rows // 4), _Column(np.int32, rows // 4),
                      _Column(np.int8, rows // 4), _Column(np.int16, rows // 4)]
        self._heap = [_Column(np.float64, _HEAP_START), _Column(np.int64, _HEAP_START),
                      _Column(np.int64, _HEAP_START)]
        # One stream per buffer: the sequence of variates the core sees does not depend
        # on the block size or on when the buffers are refilled.
        self._rng_u = _substream(self.rng_repeat, 0)
        self._rng_z = _substream(self.rng_repeat, 1)
        self._u = self._rng_u.random(_DRAW_BLOCK)
        self._z = self._rng_z.standard_normal(_DRAW_BLOCK)
        self._counters = np.zeros(len(Count), dtype=np.int64)
        self._counters[Count.REQ_PRIO] = _core.NO_REQUEST
        self._marks = np.zeros(len(Mark))
        s, e = self.inspector_windows.window_at(0.0)
        self._marks[Mark.INSP_S] = s
        self._marks[Mark.INSP_E] = e
        self._marks[Mark.HOLD] = np.inf
        # work orders whose crew part ended, between two returns of the core (a handful:
        # the core holds soon after the first, see _core._handoff)
        self._handoff = np.zeros(4096, dtype=np.int64)
        self._handoff_t = np.zeros(4096)
        self._fx = self._fixed_inputs(scenario, catalogue, calendar, teams)
        # The trips' travel factors (scenario.travel) have their own stream, so that
        # turning them on leaves every other draw alone; off, the core reads none and
        # the buffer is a never-refilled placeholder of zeros.
        self._travel_varies = scenario.travel.cv > 0.0
        self._rng_tz = _substream(self.rng_repeat, 2)
        self._tz = (self._rng_tz.standard_normal(_DRAW_BLOCK) if self._travel_varies
                    else np.zeros(2 * self._fx.params.margin))
        self._tick = float(self._fx.params.tick)
        self._st = None
        self._room = None
        self._constants: dict[int, np.ndarray] = {}
        self.n_policy_calls = 0
        self._route_rounds = 0  # rounds whose policy sequenced its tasks (route_key)
        self.n_simpy_events = 0
        self._next_day = 0.0  # when the arrivals process next puts cases into the core
        self.round_seconds = 0.0
        self.policy_seconds = 0.0
        self.core_seconds = 0.0
        self.demand = DemandModel(scenario, space, catalogue, calendar,
                                  self.inspector_windows)
        self._trace_refs: list[tuple[int, np.ndarray]] = []  # (first case, trace rows)
        # look-ahead: the snapshot's forecast per cell and skill bit (Model._forecast)
        self._forecast_s = scenario.dispatch.forecast_hours * 3600.0
        self._prep_factor = wf.prep_factor
        # Probability per category that a patrol report is fixed on the spot (the
        # catalogue's own figure, else the patrol channel's).
        self._onspot_prob = catalogue.onspot_probability(
            scenario.channels.patrol.onspot_fix_prob)
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
        self._olog: list[tuple[float, int, int]] = []
        self.orders = WorkOrders(
            self.env, scenario, catalogue, departments, calendar, space.subdistrict,
            space.n_subdistricts, space.sub_codes, self.cases,
            _substream(self.rng_orders, 0), self.t_stats, self.t_end,
            self._send_field, self._olog.append, self._expected_orders())
        self._fields: tuple[list, list] = ([], [])

    def _expected_orders(self) -> np.ndarray:
        """Expected hotline work orders per ordinary day, per category x sub-district."""
        cats = np.eye(self.cat.n, dtype=bool)
        return np.array([self.demand.expected_by_subdistrict(
            self.space, cats[k], (int(Channel.HOTLINE),)) for k in range(self.cat.n)])

    def _fixed_inputs(self, sc: Scenario, cat: Catalogue, cal: WorkCalendar,
                      teams) -> CoreInputs:
        """The core's read-only inputs: parameters, category table, calendar, forwarding
        means, travel surges, shift patterns, inspector duty windows."""
        wf = sc.workflow
        fast = sc.channels.iot.fast_lane
        w = self._weights
        form = self._form
        from urbangrid.optimizer import FlowParams

        params = Params(
            sign=wf.sign_mean_min * 60.0,
            fast_sign=fast.sign_mean_min * 60.0,
            misroute=wf.misroute_prob,
            return_mean=wf.return_mean_hours * 3600.0,
            feedback=wf.feedback_mean_min * 60.0,
            verify=sc.inspectors.verify_delay_min * 60.0,
            fast_verify=fast.verify_delay_min * 60.0,
            rework=wf.rework_prob,
            handoff_hold=(sc.orders.reply_min + sc.orders.book_min) * 60.0,
            ext_prob=wf.extension_prob,
            ext_mean=wf.extension_mean_hours * 3600.0,
            t_stats=self.t_stats,
            t_end=self.t_end,
            t_stop=self.t_stop,
            lookahead=sc.dispatch.shift_lookahead_h * 3600.0,
            day_offset=cal.day_offset,
            work_start=cal.work_start,
            day_length=cal.day_length,
            other_boost=sc.channels.other.priority_boost,
            tick=sc.dispatch.interval_s,
            legacy=self.legacy,
            iot_fast=fast.enabled,
            handover=sc.dispatch.handover,
            on_events=_core.ON_EVENTS_CODES.index(sc.dispatch.on_events),
            max_ext=wf.max_extensions,
            # Room every buffer keeps before an event: a hand-over logs and re-pools a
            # whole queue (at most a team's capacity) in one event.
            margin=256 + 2 * int(np.max(teams["capacity"], initial=0)),
            n_bits=len(cat.skills),
            per_slot=sc.dispatch.batch_per_slot,
            area_bound=sc.dispatch.area_bound,
            travel_sigma=float(np.sqrt(np.log1p(sc.travel.cv ** 2))),
            policy=_core.PYTHON_POLICY if form is None else int(form.kind),
            weights=Weights(w.travel, w.wait, w.lateness, w.balance, w.reassignment, w.defer),
            reoffer=sc.dispatch.reoffer,
        )
        table = CategoryTable(
            resolution=np.asarray(cat.resolution_prob, dtype=np.float64),
            work_mean=np.asarray(cat.work_mean_s, dtype=np.float64),
            work_cv=np.asarray(cat.work_cv, dtype=np.float64),
            work_dist=np.array([_core.WORK_DISTS.index(d) for d in cat.work_dist],
                               dtype=np.int64),
            priority=np.asarray(cat.priority, dtype=np.float64),
            crews=np.asarray(cat.crews, dtype=np.int64),
        )
        forward = np.array([h * 3600.0 for h in wf.forwarding_hours], dtype=np.float64)
        surges = np.array([(s.start_day * DAY, (s.start_day + s.days) * DAY,
                            s.travel_factor)
                           for s in sc.demand.surges if s.travel_factor != 1.0],
                          dtype=np.float64).reshape(-1, 3)
        pats = teams["patterns"]
        off = np.cumsum([0] + [len(w.end) for w in pats]).astype(np.int64)
        pat_start = np.concatenate([w.start for w in pats] + [np.empty(0)]).astype(float)
        pat_end = np.concatenate([w.end for w in pats] + [np.empty(0)]).astype(float)
        insp = self.inspector_windows
        return CoreInputs(
            params=_core.typed(params), flow=FlowParams() if form is None else form.flow,
            cat=table, cal_cum=cal.cum.astype(float),
            cal_workday=cal.workday.astype(np.bool_), forward=forward, surges=surges,
            pat_start=pat_start, pat_end=pat_end, pat_off=off,
            insp_start=np.asarray(insp.start, dtype=float),
            insp_end=np.asarray(insp.end, dtype=float),
            cell_sub=np.asarray(self.space.subdistrict, dtype=np.int64),
            cat_bit=np.asarray(cat.skill_index(), dtype=np.int64))

    # ------------------------------------------------------------------ core state
    def _state(self) -> CoreState:
        """The core's mutable state (rebuilt when a buffer was reallocated)."""
        if self._st is None:
            cb = self.cases.blocks
            heap, log, side = self._heap, self._log, self._side
            self._st = CoreState(
                case_f64=cb[0], case_f32=cb[1], case_i32=cb[2], case_i16=cb[3],
                case_i8=cb[4], case_i64=cb[5], team_f64=self._team_f, team_i64=self._team_i,
                heap_t=heap[0].a, heap_seq=heap[1].a, heap_payload=heap[2].a,
                log_t=log[0].a, log_case=log[1].a, log_kind=log[2].a, log_team=log[3].a,
                side_t=side[0].a, side_case=side[1].a, side_kind=side[2].a,
                side_team=side[3].a, handoff=self._handoff, handoff_t=self._handoff_t,
                u=self._u, z=self._z, tz=self._tz, counters=self._counters,
                marks=self._marks, travel=self._tstack, pool_heap=self._pool_heap,
                pool_size=self._pool_n)
        return self._st

    def _ensure_space(self, extra_rows: int = 0, extra_events: int = 0) -> None:
        """Grow the logs and the heap, and refill the variate buffers, so that the core
        has at least its margin (plus ``extra_*``) of room."""
        I = self._counters
        if self._room is not None:
            r = self._room
            if (I[Count.L_N] + extra_rows < r[0] and I[Count.S_N] + extra_rows < r[1]
                    and I[Count.H_N] + extra_events < r[2]
                    and I[Count.U_CUR] + extra_rows < r[3]
                    and I[Count.Z_CUR] + extra_rows < r[4]
                    and I[Count.POOL_MAX] + extra_events < r[5]
                    and I[Count.TZ_CUR] < r[6]):
                return
        margin = self._fx.params.margin
        grew = False
        for col in self._log:
            grew |= col.ensure(int(I[Count.L_N]), margin + extra_rows)
        for col in self._side:
            grew |= col.ensure(int(I[Count.S_N]), margin + extra_rows)
        for col in self._heap:
            grew |= col.ensure(int(I[Count.H_N]), margin + extra_events)
        cap = self._pool_heap.shape[1]
        need = int(I[Count.POOL_MAX]) + margin + extra_events
        if need > cap:
            heap = np.zeros((self._pool_heap.shape[0], max(2 * cap, need)), dtype=np.int64)
            heap[:, :cap] = self._pool_heap
            self._pool_heap = heap
            grew = True
        for name, cur, draw in (("_u", Count.U_CUR, self._rng_u.random),
                                ("_z", Count.Z_CUR, self._rng_z.standard_normal)):
            buf = getattr(self, name)
            k = int(I[cur])
            if buf.shape[0] - k < margin + extra_rows:
                # Unused variates stay first, in order: the sequence is the stream's.
                more = draw(max(_DRAW_BLOCK, margin + extra_rows))
                setattr(self, name, np.concatenate([buf[k:], more]))
                I[cur] = 0
                grew = True
        k = int(I[Count.TZ_CUR])
        if self._travel_varies and self._tz.shape[0] - k < margin:
            # at most one trip per event: the core's margin check before each event
            more = self._rng_tz.standard_normal(max(_DRAW_BLOCK, margin))
            self._tz = np.concatenate([self._tz[k:], more])
            I[Count.TZ_CUR] = 0
            grew = True
        if grew:
            self._st = None
        # Counter limits below which every buffer still has its margin (fast check).
        self._room = (self._log[0].a.shape[0] - margin, self._side[0].a.shape[0] - margin,
                      self._heap[0].a.shape[0] - margin,
                      self._u.shape[0] - margin, self._z.shape[0] - margin,
                      self._pool_heap.shape[1] - margin, self._tz.shape[0] - margin)

    def _advance(self, until: float) -> float:
        """Run the core's events with time ``< until`` and the dispatch rounds due
        before it (urgent requests and the dispatcher's ticks, at their own times): a
        compiled policy's rounds run in the core, the others here. Returns the time the
        core reached: ``until``, or earlier when it handed work orders back (their
        SimPy events are then scheduled, and the caller lets SimPy catch up)."""
        I, F = self._counters, self._marks
        # Nothing due in the core before `until` (its next event, tick and requested
        # round): skip the call. SimPy's events outnumber the core's between two ticks.
        nxt = self._heap[0].a[0] if I[Count.H_N] > 0 else np.inf
        if self._tick > 0.0 and F[Mark.NEXT_TICK] < nxt:
            nxt = F[Mark.NEXT_TICK]
        if I[Count.REQ_PRIO] != _core.NO_REQUEST and F[Mark.REQ_T] < nxt:
            nxt = F[Mark.REQ_T]
        if self._fields[0]:
            self._flush_fields()
            nxt = min(nxt, self._heap[0].a[0])
        if nxt >= until:
            F[Mark.REACHED] = until
            return until
        t0 = time.perf_counter()
        # SimPy is at `until`'s predecessor: nothing it holds can reach the core earlier
        F[Mark.HOLD] = np.inf
        while True:
            need = int(I[Count.NEED])
            I[Count.NEED] = 0
            self._ensure_space(extra_rows=need, extra_events=need)
            code, ids = _core.run_until(self._state(), self._fx, float(until))
            self._hand_over()
            if code == Stop.DONE:
                break
            if code == Stop.SPACE:
                continue
            t1 = time.perf_counter()
            self.core_seconds += t1 - t0
            now = float(self._marks[Mark.ROUND_T])
            if code == Stop.DISPATCH:
                self._round(now, int(I[Count.ROUND_PRIO]))
            else:  # OFFERED: the compiled form handed the round back
                self._decide(now, ids, _core.snapshot(self._state(), self._fx, now, ids))
            t0 = time.perf_counter()
            self.round_seconds += t0 - t1
        self.core_seconds += time.perf_counter() - t0
        return float(self._marks[Mark.REACHED])

    @property
    def n_rounds(self) -> int:
        """Dispatch rounds held (ticks and urgent requests, with or without tasks)."""
        return int(self._counters[Count.N_ROUNDS])

    @property
    def n_compiled_rounds(self) -> int:
        """Rounds decided and applied by the policy's compiled form, in the core."""
        return int(self._counters[Count.N_COMPILED])

    @property
    def n_waiting(self) -> int:
        """Cases waiting in the dispatch pools."""
        return int(self._counters[Count.N_WAIT])

    # ------------------------------------------------------------------ arrivals
    def _arrivals(self):
        """Process generating each calendar day's arrivals when the day starts."""
        cal = self.cal
        first = int(cal.day_index(0.0))
        last = int(cal.day_index(self.t_stop - 1e-6))
        for day in range(first, last + 1):
            d0 = max(cal.day_start(day), 0.0)
            self._next_day = d0
            if d0 > self.env.now:
                yield self.env.timeout(d0 - self.env.now)
            self._generate(day)
        self._next_day = np.inf

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
        if arr.ref is not None:
            self._trace_refs.append((cs.n, arr.ref[keep]))
        if cs.reserve(n):
            self._st = None
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
            [ch == Channel.IOT, ch == Channel.PATROL],
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
        fast = (ch == Channel.IOT) if self._iot_fast else np.zeros(n, dtype=bool)
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
        due = self.cat.deadlines(self.cal, t_reg, cat)
        if self._fast_same_day:
            # The platform's same-day rule: dispatch sees auto-detected cases as due by
            # the end of the day they are filed (KPIs keep the category limit).
            eod = self.cal.day_offset + DAY * (self.cal.day_index(t_reg) + 1.0)
            due = np.where(fast, np.minimum(due, eod), due)
        cs.deadline[sl] = due
        cs.d_sign[sl] = sign_mean * e[2]
        cs.d_feedback[sl] = wf.feedback_mean_min * 60.0 * e[3]
        cs.d_verify[sl] = verify_mean * e[4]
        cs.d_work[sl] = work_time(self._fx.cat.work_dist[cat], self.cat.work_mean_s[cat],
                                  self.cat.work_cv[cat], e[6], z[0])
        # (hotline work orders go to the crews after their unit has handled them: no
        # separate preparation)
        ch_prep = np.array([chn.iot.prep_factor, chn.patrol.prep_factor,
                            0.0 if sc.orders.enabled else chn.hotline.prep_factor,
                            chn.other.prep_factor])
        pm = self.cat.prep_mean_s[cat] * self._prep_factor * ch_prep[ch]
        pcv = self.cat.prep_cv[cat]
        ps2 = np.log1p(pcv * pcv)
        cs.d_prep[sl] = np.where(pm > 0, pm * np.exp(np.sqrt(ps2) * z[1] - ps2 / 2.0), 0.0)
        cs.u_loop[sl] = u[0]
        # The on-the-spot and false-positive draws share u[1] (they apply to disjoint
        # channels).
        onspot = (ch == Channel.PATROL) & (u[1] < self._onspot_prob[cat])
        invalid = (ch == Channel.IOT) & (u[1] < chn.iot.false_positive_rate)
        cs.on_spot[sl] = onspot.astype(np.int8)
        cs.status[sl] = np.where(invalid, Status.INVALID, Status.NEW)  # provisional marker
        cs.n = i0 + n
        # Hotline cases are work orders: their processes register them (intake at the
        # municipal centre); every other case is registered by the core.
        hot = (ch == Channel.HOTLINE) if sc.orders.enabled else np.zeros(n, dtype=bool)
        cs.t_register[i0 + np.flatnonzero(hot)] = np.inf  # not yet registered
        ids = i0 + np.flatnonzero(~hot)
        self._ensure_space(extra_events=ids.size)
        _core.push_many(self._state(), t_reg[~hot], Due.REGISTER, ids)
        h = np.flatnonzero(hot)
        if h.size:
            # one block per day, from the orders stream (common random numbers)
            g = _substream(self.rng_orders, key, Channel.HOTLINE)
            ou = g.random((h.size, N_FIRST_DRAWS))
            oz = g.standard_normal(h.size)
            start = self.orders.start
            for k, tk, uk, zk in zip(h.tolist(), t[h].tolist(), ou.tolist(), oz.tolist(),
                                     strict=True):
                start(i0 + k, tk, uk, zk)
        self._flush_order_log()

    def _constant(self, value: int, size: int) -> np.ndarray:
        """A read-only int32 array of ``size`` copies of ``value`` (a view of one cached
        array: the snapshot's constant fields cost no allocation per round)."""
        a = self._constants.get(value)
        if a is None or a.shape[0] < size:
            a = np.full(max(size, 1024), value, dtype=np.int32)
            a.flags.writeable = False
            self._constants[value] = a
        return a[:size]

    def _round(self, now: float, min_prio: int) -> None:
        """A dispatch round of the Python policy at ``now``; ``min_prio`` > 0 offers only
        tasks of at least that priority (urgent rounds)."""
        # No office-hours gate here, also under `legacy`: a crew is handed orders while it
        # is on duty (the candidate filter in _core.offer), so office-hours crews still get
        # them in office hours only. A gate would leave round-the-clock crews with at most
        # `capacity` orders for each night and weekend (CALIBRATION.md, "legacy backlog").
        if self._counters[Count.N_WAIT] == 0:
            return
        ids, snap = _core.offer(self._state(), self._fx, now, min_prio)
        if ids.size:
            self._decide(now, ids, snap)

    def _decide(self, now: float, ids: np.ndarray, snap: tuple) -> None:
        """Call the policy on the snapshot of tasks ``ids`` and apply its answer."""
        (inv, task_skill, task_area, deadline, prio, work, team_id, team_skills, free_at,
         capacity, shift_start, shift_end, load, area, travel, current) = snap
        n, m = ids.size, team_id.size
        cells, team_cell, travel_all, cell_travel = self._cells(now, ids, team_id, travel)
        crews = (self._crews[self.cases.category[ids]] if self._multi_crew
                 else self._constant(1, n))
        # a crew committed to a multi-crew task as an extra crew joins no other until it
        # is done (_core.assign_batch); the others may join one per round
        joins = ({"team_joins": (self.team_join[team_id] < 0).astype(np.int32)}
                 if self._multi_crew else {})
        problem = make_problem(
            self._Problem, self._validate,
            now=float(now), task_id=ids, task_cell=inv, task_priority=prio,
            task_skill=task_skill, task_deadline=deadline, task_work=work,
            task_area=task_area, task_pinned=self._constant(-1, n),
            task_current=current, task_crews=crews,
            team_id=team_id, team_cell=team_cell, team_skills=team_skills,
            team_free_at=free_at, team_capacity=capacity, team_shift_start=shift_start,
            team_shift_end=shift_end, team_load=load, team_area=area, travel=travel_all,
            weights=self._weights, cell_travel=cell_travel, **self._forecast(now, cells),
            **joins,
        )
        t0 = time.perf_counter()
        result = self.policy(problem)
        self.policy_seconds += time.perf_counter() - t0
        self.n_policy_calls += 1
        team = np.asarray(result.team, dtype=np.int64)
        if team.shape != ids.shape or (n and team.max() >= m):
            # the compiled apply trusts the indices: a custom policy's bad answer stops here
            raise ValueError(
                f"dispatch policy answered {team.shape[0]} teams for {n} tasks, or a team "
                f"index >= {m} (the snapshot's team count); Assignment.team must hold one "
                "index into the snapshot's teams (or -1) per task")
        crew_ptr, crew_team = self._extra_crews(crews, team, result.crew_teams, m)
        # room for every task logged and signed, a re-offered one also handed back, and
        # every extra crew's commitment
        reoffer = self._fx.params.reoffer
        self._ensure_space(extra_rows=(2 * n if reoffer else n) + crew_team.size,
                           extra_events=n)
        if result.hold_until is not None:
            team = self._postpone(now, ids, team, result.hold_until)
        done = _core.assign_batch(self._state(), self._fx, now, ids, team, team_id, travel,
                                  inv, crew_ptr, crew_team)
        if result.order is not None:
            self._keep_route(ids, done, result.order)
        if reoffer:
            _core.requeue(self._state(), self._fx, now, ids, done)

    def _extra_crews(self, crews: np.ndarray, team: np.ndarray, crew_teams, m: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """The extra crews of the answer's multi-crew tasks for ``_core.assign_batch``:
        ``(ptr, teams)``, task ``i``'s in ``teams[ptr[i]:ptr[i + 1]]`` (snapshot team
        indices, ``Assignment.crew_teams[i, 1:]``). A multi-crew task given to a team
        without all its crews stops the run: the policy does not staff such tasks, and
        it would be offered again at every round, never worked."""
        n = team.shape[0]
        if not self._multi_crew:
            return np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int64)
        need = np.where(team >= 0, crews.astype(np.int64) - 1, 0)
        if crew_teams is None:
            extra = np.full((n, 0), -1, dtype=np.int64)
        else:
            ct = np.asarray(crew_teams, dtype=np.int64)
            if ct.ndim != 2 or ct.shape[0] != n or ct.shape[1] < 1 or ct.max(initial=-1) >= m:
                raise ValueError(
                    f"dispatch policy answered crew_teams of shape {ct.shape} for {n} tasks, "
                    f"or a team index >= {m}; Assignment.crew_teams must hold one row of "
                    "snapshot team indices (-1 padded) per task")
            extra = ct[:, 1:]
        given = (extra >= 0).sum(axis=1)
        short = np.flatnonzero(given < need)
        if short.size:
            i = int(short[0])
            raise ValueError(
                f"dispatch policy gave {short.size} multi-crew task(s) fewer crews than they "
                f"need (task {i}: {given[i] + 1} of {need[i] + 1}); a policy that runs a "
                "scenario with catalogue crews > 1 must staff them (Assignment.crew_teams)")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(need, out=ptr[1:])
        # each row's first `need` non-negative entries, in the order given (row-major)
        rank = np.cumsum(extra >= 0, axis=1) - 1
        pick = (extra >= 0) & (rank < need[:, None])
        return ptr, extra[pick]

    def _postpone(self, now: float, ids: np.ndarray, team: np.ndarray,
                  hold_until) -> np.ndarray:
        """Hold the deferred tasks with a ``hold_until`` after ``now`` out of their pools
        until then (``_core.postpone``); returns ``team`` with them marked ``HELD`` for
        ``assign_batch``. A hold that is not a finite time stops the run: the task would
        never come back (no case is ever silently dropped)."""
        hold = np.asarray(hold_until, dtype=np.float64)
        if hold.shape != ids.shape:
            raise ValueError(f"dispatch policy answered hold_until of shape {hold.shape} for "
                             f"{ids.size} tasks; give one time (or NaN) per task")
        held = (team < 0) & (hold > now)  # NaN compares False: not held
        if not np.isfinite(hold[held]).all():
            raise ValueError("dispatch policy answered an infinite hold_until: a postponed "
                             "task must come back at a finite time")
        if not held.any():
            return team
        _core.postpone(self._state(), float(now), ids[held], hold[held])
        team = team.copy()
        team[held] = _core.HELD
        return team

    def _cells(self, now: float, ids: np.ndarray, team_id: np.ndarray, travel: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The snapshot's cells beyond the task cells: ``(cells, team_cell, travel,
        cell_travel)``, ``cells`` the district cell of each snapshot cell.

        The snapshot's cell index space is the round's distinct task cells, sorted (the
        core's ``task_cell`` columns), then the teams' current cells that hold no task.
        ``travel`` gets ``inf`` columns for the latter (no task there: no policy reads
        them); ``cell_travel[a, b]`` is the travel time from cell ``a`` to cell ``b`` of
        that space in the travel mode most of the snapshot's teams use (one matrix per
        snapshot: a team of another mode routes its later legs in that mode's times),
        times the travel surges in force, as ``travel`` is. Costs one gather of
        ``cells²`` entries, only on rounds that go through Python.
        """
        task_cells = np.unique(self.cases.cell[ids])  # the core's sorted task cells
        at = self.team_cell[team_id]
        u = task_cells.size
        k = np.minimum(np.searchsorted(task_cells, at), max(u - 1, 0))
        on_task = (task_cells[k] == at) if u else np.zeros(at.size, dtype=bool)
        others = np.unique(at[~on_task])
        team_cell = np.where(on_task, k, u + np.searchsorted(others, at)).astype(np.int32)
        cells = np.concatenate([task_cells, others])
        if others.size:
            travel = np.concatenate(
                [travel, np.full((team_id.size, others.size), np.inf, np.float32)], axis=1)
        stack = self.team_stack[team_id]
        mode = int(np.bincount(stack).argmax()) if stack.size else 0
        # the stacks are destination-major: [to, from] transposed gives [from, to]
        cell_travel = np.ascontiguousarray(self._tstack[mode][np.ix_(cells, cells)].T)
        if self._fx.surges.shape[0]:
            f = _core._travel_factor(self._fx, float(now))
            if f != 1.0:
                cell_travel *= np.float32(f)
        return cells, team_cell, travel, cell_travel

    def _forecast(self, now: float, cells: np.ndarray) -> dict:
        """``forecast`` and ``forecast_horizon`` of a snapshot whose cells are the district
        cells ``cells``: the demand model's expected arrivals per cell and skill over the
        next ``dispatch.forecast_hours`` (none when 0, the default)."""
        if self._forecast_s <= 0.0:
            return {}
        # group = each category's skill bit, the columns of the snapshot's skill masks
        fc = self.demand.forecast(now, now + self._forecast_s, self._fx.cat_bit,
                                  len(self.cat.skills), cells=cells)
        return {"forecast": fc, "forecast_horizon": self._forecast_s}

    def _keep_route(self, ids: np.ndarray, done: np.ndarray, order) -> None:
        """Remember the policy's sequence (``Assignment.order``) of the dispatched tasks:
        each team then works this round's tasks in that order (``_core._queue_append``)."""
        pos = np.asarray(order, dtype=np.int64)
        if pos.shape != ids.shape:
            raise ValueError(f"dispatch policy answered an order of {pos.shape[0]} "
                             f"positions for {ids.size} tasks; Assignment.order must hold "
                             "one position per task (or be None)")
        keep = done & (pos >= 0)
        if (pos[keep] >= _core.ROUTE_ROUND).any():
            raise ValueError(f"Assignment.order holds a position >= {_core.ROUTE_ROUND}")
        self._route_rounds += 1
        self.cases.route_key[ids[keep]] = self._route_rounds * _core.ROUTE_ROUND + pos[keep]

    # ------------------------------------------------------------------ run
    def run(self, progress=None) -> None:
        """Run to the end (horizon plus drain) and finish the outputs (:meth:`finish`);
        ``progress(fraction)`` is called once per simulated day.

        Two engines share the clock, conservatively synchronised: the compiled core
        runs ahead as far as nothing SimPy does can reach it (SimPy's next event plus
        the booking lead, and never past the next day's arrivals), then SimPy processes
        its events up to where the core stopped. The core hands work orders back with
        their times (SimPy then has their events before it proceeds) and holds shortly
        after each (``Params.handoff_hold``: as long as the order's process cannot
        touch the core). Both sides are deterministic, so a seed gives one run.
        """
        env = self.env
        env.process(self._arrivals())
        if progress is not None:
            env.process(self._progress(progress))
        lead = self.sc.orders.book_min * 60.0
        reached = 0.0
        while True:
            t_next = env.peek()
            # The core may run as far as nothing SimPy will do can reach it: SimPy puts
            # work into the core only when a day's arrivals are generated and when a
            # unit books a crew, at least `lead` after the booking starts (at a SimPy
            # event, so not before t_next). A handoff holds the core (_core._handoff).
            bound = min(t_next + lead, self._next_day, self.t_stop)
            if bound > reached:
                reached = self._advance(bound)
            if t_next < reached:
                # SimPy catches up with the core
                self.n_simpy_events += env.run_before(reached)
            elif t_next < self.t_stop:
                env.step()  # the event the core waits for (a day's arrivals)
                self.n_simpy_events += 1
            elif reached >= self.t_stop:
                break
        self.finish()

    def _progress(self, report):
        """Process calling ``report(fraction done)`` at the end of each simulated day."""
        t = 0.0
        while t < self.t_stop:
            step = min(DAY, self.t_stop - t)
            yield self.env.timeout(step)
            t += step
            report(t / self.t_stop)

    def finish(self) -> None:
        """End-of-run bookkeeping, in one place, once the clock has reached ``t_stop``.

        - Cases reported but not registered by the end: registration (which logs the
          ``reported`` row) did not happen, so their ``reported`` row is logged here,
          their provisional false-positive mark is undone (status ``new``) and their
          registration time, drawn ahead, is cleared.
        """
        cs = self.cases
        unreg = np.flatnonzero(cs.t_register[: cs.n] >= self.t_stop)
        self.log_side_rows(cs.t_report[unreg], unreg, Event.REPORTED, _core.NO_TEAM)
        cs.status[unreg] = Status.NEW
        cs.t_register[unreg] = np.nan
        self._flush_order_log()

    def trace_refs(self) -> np.ndarray:
        """Each case's row in the demand's trace (``-1``: not from a trace)."""
        out = np.full(self.cases.n, -1, dtype=np.int64)
        for i0, ref in self._trace_refs:
            out[i0:i0 + ref.size] = ref
        return out

    # ------------------------------------------------------------------ work orders
    def _send_field(self, case: int, t: float) -> None:
        """A work order's unit has booked a crew: the case enters the core's pool at
        ``t`` (the booking's end, never before the core's clock: see :meth:`run`). Kept
        here and handed to the core in one call when it next runs."""
        self._fields[0].append(t)
        self._fields[1].append(case)

    def _flush_fields(self) -> None:
        t, c = self._fields
        if t:
            self._ensure_space(extra_events=len(t))
            _core.push_many(self._state(), np.array(t), Due.FIELD,
                            np.array(c, dtype=np.int64))
            self._fields = ([], [])

    def _flush_order_log(self) -> None:
        """Append the rows the work-order processes logged (``(time, case, event)``
        tuples in ``_olog``, whose ``append`` they call: one NumPy append per row would
        cost more than the row) to the side log, once a day."""
        rows = self._olog
        if rows:
            a = np.array(rows, dtype=np.float64)  # case ids and codes are exact in float64
            self._append(self._side, Count.S_N, a[:, 0], a[:, 1].astype(np.int64),
                         a[:, 2].astype(np.int8), _core.NO_TEAM)
            rows.clear()

    def _hand_over(self) -> None:
        """Resume the work orders whose crew part the core ended (each at its time)."""
        I = self._counters
        n = int(I[Count.N_HANDOFF])
        if n == 0:
            return
        done = self.orders.field_done
        for case, t in zip(self._handoff[:n].tolist(), self._handoff_t[:n].tolist(),
                           strict=True):
            done(case, t)
        I[Count.N_HANDOFF] = 0

    @property
    def core_events(self) -> int:
        """Life-cycle events the compiled core processed."""
        return int(self._counters[Count.N_EV])

    def release_run_state(self) -> None:
        """Drop what only the run needed (the core's state tuple, event heap, pools and
        variate buffers), so that copying the outputs does not add to the run's peak
        memory."""
        self._st = self._room = None
        self._heap = self._pool_heap = self._u = self._z = self._tz = None

    def take_logs(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Hand over the main log (time order) and the side log (rows logged ahead of
        their time), each as columns ``[time, case, kind, team]``; the model keeps no
        reference, so a caller that drops a column frees its memory."""
        I = self._counters
        n, k = int(I[Count.L_N]), int(I[Count.S_N])
        main = [c.a[:n] for c in self._log]
        side = [c.a[:k] for c in self._side]
        self._log = self._side = None
        self._st = self._room = None
        return main, side

    def log_side_rows(self, t: np.ndarray, case: np.ndarray, kind: int, team: int) -> None:
        """Append rows to the side log (merged into time order after the run)."""
        self._append(self._side, Count.S_N, t, case, kind, team)

    def _append(self, cols, counter: int, t, case, kind, team) -> None:
        I = self._counters
        n = int(I[counter])
        k = len(t)
        for col in cols:
            if col.ensure(n, k):
                self._st = self._room = None
        cols[0].a[n:n + k] = t
        cols[1].a[n:n + k] = case
        cols[2].a[n:n + k] = kind
        cols[3].a[n:n + k] = team
        I[counter] = n + k


def make_problem(cls, validate: bool, **fields):
    """A ``DispatchProblem`` from arrays the model built with the documented dtypes.

    With ``validate`` the optimizer's constructor checks and coerces every field (about
    0.2 ms per snapshot); without it ``DispatchProblem.unchecked`` fills the record
    directly, which is safe because the model builds each field with the dtype and shape
    the constructor would produce (a test compares both ways field by field and the event
    logs they lead to).
    """
    return cls(**fields) if validate else cls.unchecked(**fields)


__all__ = ["SIM_DEFER_S", "Model", "make_problem"]
