"""Hotline work orders through the organisations that handle them (SimPy processes).

Each hotline case is a work order with one process, :meth:`WorkOrders.order`, that walks
it through the offices of :mod:`.offices`:

1. **intake**: a municipal 12345 operator records it (round the clock); the case is
   registered when that is done, and its deadline is its order type's limit in working
   days from then;
2. **routing** (派单): ``route = "hierarchical"`` sends it through the district hotline
   office and the sub-district office, ``"direct"`` from the operations centre straight
   to the handling unit; each hop waits for the office's hours and a free person;
3. **returns** (退单): with probability ``1 - correct_dispatch_prob`` a dispatch reaches
   the wrong unit, which reviews the order and sends it back to the hotline office to be
   dispatched again (after ``max_returns`` bounces the office rules who takes it);
4. **the handling unit** (a sub-district office, a department or a public-service
   company) signs and in the same sitting calls the caller when it must (again the
   next working day when the call fails); it handles the order (staff time by order
   type) and in the same sitting books a crew when the attempt needs one (the case
   then goes through the crews' dispatch pool in the compiled core, which hands it
   back when the crew part ends, and the unit replies) or writes the reply. Under
   ``supervision = "ranking"`` a unit takes its orders first come, first served and
   starts an attempt only when ``start_margin`` of its limit is left; under ``"live"``
   it takes the earliest deadline first and starts at once;
5. **callback** (回访): the hotline office calls the citizen back; whether the citizen is
   satisfied depends on whether the problem was resolved, how late the reply was and
   how often the order bounced or was redone (a logistic model); a dissatisfied citizen
   gets a second attempt (重办, ``redo_limit_working_days``) up to ``max_redo`` times,
   after which the order closes as it stands. An unresolved attempt may be parked
   (挂账) instead of replied to.

Extensions (延期): after signing, a unit may judge that an order cannot be done within
its limit (``extension_prob`` of its order type, first attempts only) and ask for more
time; the hotline office approves the request (a stage of its own, ``extension_min``)
and the deadline moves ``extension_working_days`` later. The unit then works to the new
deadline: under ranking its start is drawn over the longer limit, under live supervision
the warning comes before the new deadline. The per-unit table counts the reply against
the extended deadline (an approved extension is not late); the ``on_time_rate`` KPI
keeps the published limit.

Random numbers: every order's first decisions come from one block drawn when its day is
generated (its own stream, so the same citizens make the same requests in every
scenario: common random numbers); loops (returns, failed calls, second attempts) draw
from a second stream in event order.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable

import numpy as np
import simpy

from urbangrid.calendar import WorkCalendar
from urbangrid.catalogue import Catalogue
from urbangrid.errors import InputError
from urbangrid.organisations import Departments

from ._kernels import work_time_compiled
from .codes import Event, Status
from .offices import DeferredTimeout, Office
from .scenario import Scenario

__all__ = ["N_FIRST_DRAWS", "WorkOrders"]

#: Hours a person works a week (head count to people on duty).
_WEEK_HOURS = 40.0
def _split(total: float, load: np.ndarray) -> list[int]:
    """``round(total)`` people over units in proportion to ``load``, at least one each
    (largest remainders; ties to the lower index)."""
    n = load.shape[0]
    total = max(int(round(total)), n)
    share = load / load.sum() if load.sum() > 0 else np.full(n, 1.0 / n)
    raw = share * (total - n)
    out = np.floor(raw).astype(int)
    order = np.lexsort((np.arange(n), -(raw - out)))
    out[order[: total - n - int(out.sum())]] += 1
    return (out + 1).tolist()


class _ProcessAt(simpy.Process):
    """A SimPy process whose generator starts at time ``t`` (not before now), and whose
    end is no event when nothing waits for it.

    ``env.process`` starts a generator at once (an initialisation event), so an order
    generated at the start of its day would then wait for its report time (a second
    event); this process is resumed first by a timeout at ``t``: one event per order
    less, about a twelfth of the work orders' events. It sets up what
    :class:`simpy.Process` sets up, with that timeout as the first target
    (tests/simulation/test_sim_orders.py checks the start).

    SimPy schedules every process's end as an event, for the processes that wait for
    it; nothing waits for an order, so when its generator returns with no callback
    registered the process is marked processed at once (:meth:`_resume`): another
    event per order less, and the same order of all others (the queue's keys keep
    their order). A failure is still scheduled, so that it stops the run.
    """

    def __init__(self, env: simpy.Environment, generator, t: float) -> None:
        self.env = env
        self.callbacks = []
        self._generator = generator
        self._target = env.timeout(max(0.0, t - env.now))
        self._target.callbacks.append(self._resume)

    def _resume(self, event: simpy.Event) -> None:
        # simpy.Process._resume (SimPy 4.1), but for the end of a generator nobody waits
        # for: processed at once instead of scheduled
        env = self.env
        env._active_proc = self
        while True:
            try:
                if event._ok:
                    event = self._generator.send(event._value)
                else:
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = self._generator.throw(exc)
            except StopIteration as e:
                event = None
                self._ok = True
                self._value = e.args[0] if len(e.args) else None
                if self.callbacks:
                    env.schedule(self)
                else:
                    self.callbacks = None  # processed: nothing to call
                break
            except BaseException as e:
                event = None
                self._ok = False
                e.__traceback__ = e.__traceback__.tb_next
                self._value = e
                env.schedule(self)
                break
            try:
                if event.callbacks is not None:
                    event.callbacks.append(self._resume)
                    break
            except AttributeError:
                if hasattr(event, "callbacks"):
                    raise
                raise RuntimeError(f"work order process yielded {event!r}, not an event"
                                   ) from None
        self._target = event
        env._active_proc = None


#: Uniform variates drawn per order when its day is generated (then one normal).
N_FIRST_DRAWS = 11
(_U_TYPE, _U_LOCAL, _U_CORRECT, _U_CONTACT, _U_FIELD, _U_RESOLVE, _U_SATISFY, _U_PARK,
 _U_WRONG, _U_REACH, _U_EXTEND) = range(N_FIRST_DRAWS)


class WorkOrders:
    """The organisations that handle work orders and the process of each order.

    Parameters
    ----------
    env
        The model's SimPy environment.
    scenario, catalogue, departments, calendar
        Validated inputs.
    sub_of_cell, n_subdistricts, sub_codes
        The district's sub-district of each cell, their count and codes.
    cases
        The model's case table (columns are read and written in place).
    rng_loop
        Stream for the draws of loops (returns, failed calls, second attempts).
    t_stats, t_end
        The statistics window.
    send_field
        ``send_field(case, time)``: hand the case to the crews at ``time`` (not before
        the current time plus ``orders.book_min``).
    log
        ``log((time, case, event))``: a row of the event log.
    expected
        Expected hotline cases per ordinary day, per category x sub-district (the
        handling units' head counts are split in proportion to their share).
    """

    def __init__(self, env: simpy.Environment, scenario: Scenario, catalogue: Catalogue,
                 departments: Departments, calendar: WorkCalendar, sub_of_cell: np.ndarray,
                 n_subdistricts: int, sub_codes, cases, rng_loop: np.random.Generator,
                 t_stats: float, t_end: float, send_field: Callable[[int, float], None],
                 log: Callable[[tuple[float, int, int]], None], expected: np.ndarray) -> None:
        oc = scenario.orders
        self.cfg = oc
        self.env = env
        self.cal = calendar
        self.cases = cases
        self.rng = rng_loop
        self.send_field = send_field
        self.log = log
        self.sub_of_cell = np.asarray(sub_of_cell)
        staff = oc.staff

        def office(name, kind, head_count, office_hours):
            n = float(head_count)
            if not office_hours:
                n *= _WEEK_HOURS / (7 * 24.0)  # on duty at any time, in shifts
            return Office(env, name, kind, max(1, int(round(n))), office_hours, calendar,
                          t_stats, t_end)

        self.municipal = office("municipal_12345", "hotline", staff.municipal, False)
        self.hotline = office("hotline_office", "dispatch", staff.hotline_office,
                              oc.dispatch_hours == "office")
        # the departments that own a skill some category needs, in catalogue order; a
        # skill the departments table does not list (a scenario's own catalogue) gets a
        # department of its own, named after it
        owner = departments.category_owners(catalogue.skill)
        dept_codes: list[str] = list(dict.fromkeys(owner))
        kinds = dict(zip(departments.code, departments.kind, strict=True))
        self.dept_of_category = np.array([dept_codes.index(d) for d in owner],
                                         dtype=np.int64)
        sub_names = [f"subdistrict:{code}" for code in list(sub_codes)[:n_subdistricts]]
        # head counts split by expected orders (``expected``: per category x sub-district)
        local = oc.subdistrict_share
        sub_load = expected.sum(axis=0) * local
        dept_load = np.bincount(self.dept_of_category, weights=expected.sum(axis=1),
                                minlength=len(dept_codes)) * (1.0 - local)
        sub_heads = _split(staff.subdistricts * staff.scale, sub_load)
        dept_heads = _split(staff.departments * staff.scale, dept_load)
        self.subdistricts = [
            office(name, "subdistrict", staff.units.get(name, h), True)
            for name, h in zip(sub_names, sub_heads, strict=True)]
        self.departments = [
            office(code, kinds.get(code, "department"), staff.units.get(code, h), True)
            for code, h in zip(dept_codes, dept_heads, strict=True)]
        unknown = sorted(set(staff.units) - set(sub_names) - set(dept_codes))
        if unknown:
            raise InputError(f"orders.staff.units: unknown unit(s) {unknown} (units: "
                             f"{', '.join(sub_names + dept_codes)})")
        self.units: list[Office] = self.subdistricts + self.departments
        self.offices: list[Office] = [self.municipal, self.hotline, *self.units]
        types = list(oc.types.values())
        self.type_names = list(oc.types)
        cum = np.cumsum([t.share for t in types])
        self._type_cum = (cum / cum[-1]).tolist()
        self._limit = [t.limit_working_days for t in types]
        self._work_s = [t.work_hours * oc.work_scale * 3600.0 for t in types]
        self._field = [t.field_prob for t in types]
        self._resolve = [t.resolve_prob for t in types]
        self._park = [t.park_prob for t in types]
        self._extend = [t.extension_prob for t in types]
        self._cv = float(oc.work_cv)
        self._field_done: dict[int, DeferredTimeout] = {}
        self._live = oc.supervision == "live"

    # ------------------------------------------------------------------ hand-offs
    def field_done(self, case: int, t: float) -> None:
        """The crew part of ``case`` ends at ``t`` (not before now): its order resumes
        then."""
        self._field_done.pop(case).schedule(t - self.env.now)

    # ------------------------------------------------------------------ helpers
    def _work(self, mean_s: float, z: float) -> float:
        """Staff time of an attempt: lognormal with the type's mean and ``orders.work_cv``
        (the crews' work-time rule, :func:`._kernels.work_time`)."""
        return float(work_time_compiled(1, mean_s, self._cv, 0.0, z))

    def _wrong_unit(self, right: Office, u: float) -> Office:
        others = [x for x in self.units if x is not right]
        return others[min(int(u * len(others)), len(others) - 1)] if others else right

    def _after_working_days(self, t: float, days: float) -> float:
        return self.cal.add_working_scalar(t, days * self.cal.day_length)

    def _late_days(self, deadline: float, t: float) -> float:
        if t <= deadline:
            return 0.0
        return ((self.cal.working_seconds_scalar(t) - self.cal.working_seconds_scalar(deadline))
                / self.cal.day_length)

    # ------------------------------------------------------------------ the process
    def _start_time(self, office: Office, t_received: float, limit_wd: float) -> float:
        """When ``office`` starts a stage it received at ``t_received`` and must finish
        within ``limit_wd`` working days (at the latest: the start may wait for a free
        person too).

        People work to the deadline: a stage starts at a uniformly random point of the
        first ``2 (1 - start_margin)`` limits after receipt (working time), so on
        average when ``start_margin`` of its limit is left (past the deadline when
        negative). Under live supervision the dispatching offices act at once and a unit
        starts at the latest at the warning, ``warning_days`` before the deadline.
        """
        if self._live and office.kind in ("hotline", "dispatch"):
            return t_received
        cfg = self.cfg
        used = 2.0 * (1.0 - cfg.start_margin) * limit_wd * self.rng.random()
        if self._live:
            used = min(used, max(0.0, limit_wd - cfg.warning_days))
        if used > 0.0:
            return self._after_working_days(t_received, used)
        return t_received

    def _stage(self, office: Office, seconds: float, prio: float, stage: str,
               t_received: float, limit_wd: float, on_start=None):
        """A stage of ``seconds`` of work with a limit (see :meth:`_start_time`): the event
        of its end (:meth:`.Office.request`), to ``yield``."""
        return office.request(seconds, prio, stage, on_start,
                              at=self._start_time(office, t_received, limit_wd))

    def _route(self, c: int, target: Office, prio: float, stage: str):
        """Process: the dispatching hops that bring order ``c`` to ``target``: the hotline
        office (the operations centre), then under ``route = "hierarchical"`` the
        sub-district office of the case's place unless it is the target itself."""
        env, cfg = self.env, self.cfg
        hop = cfg.stage_limit_working_days
        dispatch_s = cfg.dispatch_min * 60.0
        yield self._stage(self.hotline, dispatch_s, prio, stage, env.now, hop)
        self.log((env.now, c, Event.ROUTED))
        if cfg.route == "hierarchical":
            sub = self.subdistricts[self.sub_of_cell[self.cases.cell[c]]]
            if target is not sub:
                yield self._stage(sub, dispatch_s, prio, stage, env.now, hop)
                self.log((env.now, c, Event.ROUTED))

    def start(self, c: int, t_report: float, u: list[float], z: float) -> None:
        """Start the process of work order ``c`` (:meth:`order`) at ``t_report``."""
        _ProcessAt(self.env, self.order(c, t_report, u, z), t_report)

    def order(self, c: int, t_report: float, u: list[float], z: float):
        """Process of work order ``c`` reported at ``t_report`` with first draws ``u``
        (:data:`N_FIRST_DRAWS` uniforms, a list: indexing a NumPy row costs more) and
        ``z`` (a standard normal)."""
        env, cfg, cs = self.env, self.cfg, self.cases
        yield self.municipal.request(cfg.intake_min * 60.0, stage="intake")
        t_reg = env.now
        k = min(bisect.bisect_right(self._type_cum, u[_U_TYPE]), len(self._limit) - 1)
        limit = self._limit[k]
        deadline = self._after_working_days(t_reg, limit)
        cs.t_register[c] = t_reg
        cs.deadline[c] = deadline
        cs.order_type[c] = k
        cs.status[c] = Status.REGISTERED
        self.log((t_report, c, Event.REPORTED))
        self.log((t_reg, c, Event.REGISTERED))
        live = self._live
        prio = deadline if live else 0.0
        sub = self.subdistricts[self.sub_of_cell[cs.cell[c]]]
        unit = sub if u[_U_LOCAL] < cfg.subdistrict_share else \
            self.departments[self.dept_of_category[cs.category[c]]]
        cs.unit[c] = self.units.index(unit)
        hop = cfg.stage_limit_working_days
        # -- routing: down the hierarchy (legacy) or straight to the unit; a return goes
        # back to the hotline office, which sends the order down again
        target = unit if u[_U_CORRECT] < cfg.correct_dispatch_prob else \
            self._wrong_unit(unit, u[_U_WRONG])
        while True:
            yield from self._route(c, target, prio, "dispatch" if cs.n_return[c] == 0
                                   else "redispatch")
            if target is unit:
                break
            yield self._stage(target, cfg.review_min * 60.0, prio, "review", env.now, hop)
            target.stats.returned += int(target.t_stats <= env.now < target.t_end)
            cs.n_return[c] += 1
            self.log((env.now, c, Event.RETURNED))
            if cs.n_return[c] >= cfg.max_returns or self.rng.random() < cfg.correct_dispatch_prob:
                target = unit
            else:
                target = self._wrong_unit(unit, self.rng.random())
        # -- attempts
        attempt = 0
        t_attempt = t_reg  # the attempt's limit runs from here
        due = deadline
        sign_s, call_s = cfg.sign_min * 60.0, cfg.contact_min * 60.0
        while True:
            if attempt == 0 and u[_U_CONTACT] < cfg.contact_prob:
                # the person who signs calls the caller in the same sitting (again the
                # next working day while the caller is not reached)
                yield self._stage(unit, sign_s + call_s, prio, "sign", env.now, hop)
                self.log((env.now, c, Event.SIGNED))
                reached = u[_U_REACH] < cfg.reach_prob
                while not reached:
                    yield env.timeout(self._after_working_days(env.now, 1.0) - env.now)
                    yield unit.request(call_s, prio, "contact")
                    reached = self.rng.random() < cfg.reach_prob
                self.log((env.now, c, Event.CONTACTED))
            else:
                yield self._stage(unit, sign_s, prio, "sign", env.now, hop)
                self.log((env.now, c, Event.SIGNED))
            if attempt == 0 and u[_U_EXTEND] < self._extend[k]:
                # the unit judges the order cannot be done within its limit and asks
                # for an extension (延期); the hotline office approves it, and the
                # unit then works to the new deadline
                yield self._stage(self.hotline, cfg.extension_min * 60.0, prio,
                                  "extension", env.now, hop)
                ext = cfg.extension_working_days
                limit += ext
                due = self._after_working_days(due, ext)
                if live:
                    prio = due
                cs.n_extension[c] += 1
                unit.stats.extended += int(unit.t_stats <= env.now < unit.t_end)
                self.log((env.now, c, Event.EXTENDED))
            # the attempt's decisions: its staff time, a crew or not, and (without a
            # crew) whether it resolves the problem or is parked
            zk = z if attempt == 0 else self.rng.standard_normal()
            field = (u[_U_FIELD] if attempt == 0 else self.rng.random()) < self._field[k]
            handle_s = self._work(self._work_s[k], zk)
            if field:
                done = DeferredTimeout(env)
                self._field_done[c] = done
                if attempt > 0:
                    cs.n_attempt[c] += 1
                # the person who handles the order books the crew (fixed staff time);
                # the case reaches the crews' pool when that is done, which the model
                # knows as soon as the work starts
                yield self._stage(unit, handle_s + cfg.book_min * 60.0, prio, "handle",
                                  t_attempt, limit,
                                  on_start=lambda end, c=c: self.send_field(c, end))
                yield done
                self.log((env.now, c, Event.FIELD_DONE))
                resolved, parked = self._outcome(k, attempt, u, bool(cs.resolved[c] == 1))
                if parked:
                    self._finish(c, Status.PARKED, resolved=False, satisfied=None)
                    return
                yield unit.request(cfg.reply_min * 60.0, prio, "reply")
            else:
                resolved, parked = self._outcome(k, attempt, u, True)
                if parked:
                    yield self._stage(unit, handle_s, prio, "handle", t_attempt, limit)
                    self._finish(c, Status.PARKED, resolved=False, satisfied=None)
                    return
                # the person who handles the order writes the reply
                yield self._stage(unit, handle_s + cfg.reply_min * 60.0, prio,
                                  "handle", t_attempt, limit)
            self.log((env.now, c, Event.REPLIED))
            late = self._late_days(due, env.now)
            if late > 0.0:
                # replied after the deadline: the order was escalated (督办)
                self.log((env.now, c, Event.ESCALATED))
            self._count_reply(unit, late == 0.0)
            # -- callback
            yield self._stage(self.hotline, cfg.callback_min * 60.0, prio, "callback",
                              env.now, hop)
            a, b_res, b_late, b_bounce = cfg.satisfaction
            x = (a + b_res * resolved - b_late * late
                 - b_bounce * (cs.n_return[c] + attempt))
            p_sat = 1.0 / (1.0 + math.exp(-x))
            u_sat = u[_U_SATISFY] if attempt == 0 else self.rng.random()
            satisfied = u_sat < p_sat
            self.log((env.now, c, Event.CALLBACK_OK if satisfied else Event.CALLBACK_BAD))
            if satisfied or attempt >= cfg.max_redo:
                self._finish(c, Status.CLOSED, resolved=resolved, satisfied=satisfied)
                return
            attempt += 1
            cs.n_reopen[c] += 1
            self.log((env.now, c, Event.REDO))
            limit = cfg.redo_limit_working_days
            t_attempt = env.now
            due = self._after_working_days(t_attempt, limit)
            if live:
                prio = due

    def _outcome(self, k: int, attempt: int, u: list[float], crew_resolved: bool
                 ) -> tuple[bool, bool]:
        """Whether an attempt of an order of type ``k`` resolved the problem (the crew's
        part, if any, and the type's resolution probability), and whether an unresolved
        one is parked (挂账) rather than replied to."""
        u_res = u[_U_RESOLVE] if attempt == 0 else self.rng.random()
        resolved = crew_resolved and u_res < self._resolve[k]
        u_park = u[_U_PARK] if attempt == 0 else self.rng.random()
        return resolved, (not resolved and u_park < self._park[k])

    def _count_reply(self, unit: Office, on_time: bool) -> None:
        if unit.t_stats <= self.env.now < unit.t_end:
            unit.stats.orders += 1
            unit.stats.on_time += on_time

    def _finish(self, c: int, status: int, *, resolved: bool, satisfied) -> None:
        cs, now = self.cases, self.env.now
        cs.status[c] = status
        cs.t_close[c] = now
        cs.resolved[c] = int(resolved)
        if satisfied is not None:
            cs.satisfied[c] = int(satisfied)
        self.log((now, c, Event.CLOSED if status == Status.CLOSED else Event.PARKED))

    # ------------------------------------------------------------------ results
    def table(self) -> dict[str, dict[str, float]]:
        """The per-organisation table: one row per office (see ``Office.table_row``)."""
        return {o.name: o.table_row() for o in self.offices}
