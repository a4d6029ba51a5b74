"""The durable ledger: requests, teams, assignments and their event log.

Every function that changes state does it in one transaction that is committed before
it returns (:meth:`Store.write`), so an HTTP response is only sent for a change that is
on disk. Open311 knows only ``open`` and ``closed``; the ledger keeps a finer ``stage``
(received, assigned, accepted, arrived, resolved) and an ``events`` row for every change
(received, dispatched, accept, arrive, resolve, return, status).

State changes that race (a dispatch round and a team returning the same request) are
made with conditional updates (``... WHERE stage = 'received'``): the loser's update
touches no row and is skipped, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from urbangrid.optimizer import DispatchProblem, get_policy

from .catalogue import Service
from .db import Store, assignments, events, record_event, requests, teams

__all__ = ["ACTIVE", "SYSTEM", "Actor", "Conflict", "DispatchRound", "Ledger", "NotFound"]

log = logging.getLogger("urbangrid.service")

#: assignment states in which the team still holds the request
ACTIVE = ("assigned", "accepted", "arrived")
_ACTION_STATE = {"accept": ("assigned", "accepted"), "arrive": (("assigned", "accepted"),
                                                                "arrived"),
                 "resolve": (ACTIVE, "done"), "return": (ACTIVE, "returned")}
#: status_notes of the open stages a team reports (Open311 knows only open and closed)
_STAGE_NOTE = {"accepted": "accepted by {}", "arrived": "{} is on site"}
PERSONAL = ("first_name", "last_name", "email", "phone", "device_id", "account_id")


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a key's public id and role (never its secret)."""

    key_id: str | None
    role: str


#: the dispatch loop's rounds
SYSTEM = Actor(None, "system")


class NotFound(LookupError):
    """No such request or team."""


class Conflict(ValueError):
    """The change does not fit the current state (e.g. resolving an unassigned request)."""


@dataclass(frozen=True)
class DispatchRound:
    """What one dispatch round did."""

    open_requests: int
    teams: int
    assigned: int
    deferred: int
    seconds: float


#: fields added after the first schema: left out of the idempotency hash when empty, so
#: that a retry of a request stored before them still matches its first hash
_LATER_FIELDS = ("address_id", "attributes")


def _who(actor: Actor) -> dict:
    return {"key_id": actor.key_id, "role": actor.role}


def _payload_hash(fields: dict) -> str:
    fields = {k: v for k, v in fields.items() if not (k in _LATER_FIELDS and v is None)}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


class Ledger:
    """Operations on the service's state.

    Parameters
    ----------
    store
        The database.
    district
        A :class:`urbangrid.grid.District` (cells and travel times).
    services
        Request types by code (:func:`load_services`).
    policy
        Name of the dispatch policy (:func:`urbangrid.optimizer.get_policy`).
    clock
        The time now in POSIX seconds (default :func:`time.time`); another clock replays
        or tests a day (a request filed on a Friday afternoon, before a holiday).
    """

    def __init__(self, store: Store, district, services: dict[str, Service],
                 policy: str = "mcf", clock: Callable[[], float] = time.time) -> None:
        self.store, self.district, self.services = store, district, services
        self.clock = clock
        self.policy = get_policy(policy)
        self.policy_name = policy
        skills = dict.fromkeys(s.skill for s in services.values())
        self.skill_bit = {name: k for k, name in enumerate(skills)}

    # ---------------------------------------------------------------- requests
    def create_request(self, fields: dict, *, owner: int, idem_key: str | None,
                       actor: Actor) -> tuple[int, bool]:
        """Store a validated request; returns ``(id, created)``.

        With an idempotency key, a retry with the same key and the same fields returns the
        first id (``created`` False); the same key with other fields raises :class:`Conflict`.
        """
        svc = self.services[fields["service_code"]]
        now = self.clock()
        digest = _payload_hash(fields) if idem_key else None
        values = dict(fields, status="open", stage="received", requested=now, updated=now,
                      deadline=svc.deadline(now), priority=svc.priority,
                      work_seconds=svc.work_seconds, idem_owner=owner if idem_key else None,
                      idem_key=idem_key, idem_hash=digest)
        values["cell"] = self._cell(fields.get("lat"), fields.get("lon"))
        if idem_key:
            found = self._by_idempotency(owner, idem_key)
            if found is not None:
                return self._replay(found, digest)
        try:
            with self.store.write() as conn:
                rid = conn.execute(requests.insert().values(**values)
                                   .returning(requests.c.id)).scalar_one()
                conn.execute(events.insert().values(request_id=rid, kind="received", at=now,
                                                    **_who(actor)))
        except IntegrityError:
            # a concurrent retry with the same key won the race (PostgreSQL)
            found = self._by_idempotency(owner, idem_key) if idem_key else None
            if found is None:
                raise
            return self._replay(found, digest)
        return rid, True

    def _cell(self, lat: float | None, lon: float | None) -> int | None:
        """The district cell of a point; ``None`` for a request located by address only
        (it waits for a point before it is dispatched)."""
        if lat is None or lon is None:
            return None
        return int(self.district.cell_of(np.array([lat]), np.array([lon]))[0])

    def _by_idempotency(self, owner: int, key: str):
        with self.store.read() as conn:
            return conn.execute(sa.select(requests.c.id, requests.c.idem_hash).where(
                (requests.c.idem_owner == owner) & (requests.c.idem_key == key))).first()

    @staticmethod
    def _replay(found, digest) -> tuple[int, bool]:
        if found.idem_hash != digest:
            raise Conflict("idempotency_key was already used with different request fields")
        return found.id, False

    def get_request(self, rid: int):
        with self.store.read() as conn:
            row = conn.execute(sa.select(requests).where(requests.c.id == rid)).first()
        if row is None:
            raise NotFound(f"service_request_id {rid} not found")
        return row

    def query_requests(self, *, ids: list[int] | None = None, codes: list[str] | None = None,
                       start: float | None = None, end: float | None = None,
                       status: str | None = None, page: int = 1, page_size: int = 1000):
        """One page of the requests that match, oldest first, and how many match in all:
        ``(rows, total)`` (one read transaction: the two agree)."""
        where = []
        if ids is not None:  # Open311: service_request_id overrides every other filter
            where.append(requests.c.id.in_(ids))
        else:
            if codes:
                where.append(requests.c.service_code.in_(codes))
            if start is not None:
                where.append(requests.c.requested >= start)
            if end is not None:
                where.append(requests.c.requested <= end)
            if status:
                where.append(requests.c.status == status)
        cond = sa.and_(sa.true(), *where)
        q = (sa.select(requests).where(cond).order_by(requests.c.requested, requests.c.id)
             .offset((page - 1) * page_size).limit(page_size))
        with self.store.read() as conn, conn.begin():
            total = conn.execute(sa.select(sa.func.count()).select_from(requests)
                                 .where(cond)).scalar_one()
            return conn.execute(q).all(), total

    def update_status(self, rid: int, changes: dict, actor: Actor) -> None:
        """Dispatcher's update of Open311 fields (status, notes, agency, expected time)
        and of the location (``lat`` + ``lon``: places a request located by address)."""
        now = self.clock()
        with self.store.write() as conn:
            row = conn.execute(sa.select(requests.c.status).where(requests.c.id == rid)).first()
            if row is None:
                raise NotFound(f"service_request_id {rid} not found")
            values = dict(changes, updated=now)
            if "lat" in changes:
                values["cell"] = self._cell(changes["lat"], changes["lon"])
            if changes.get("status") == "closed" and row.status != "closed":
                values["stage"] = "resolved"
                conn.execute(assignments.update().where(
                    (assignments.c.request_id == rid) & assignments.c.state.in_(ACTIVE)
                ).values(state="done", updated=now))
            elif changes.get("status") == "open" and row.status == "closed":
                values["stage"] = "received"  # reopened: back into the dispatch pool
            conn.execute(requests.update().where(requests.c.id == rid).values(**values))
            conn.execute(events.insert().values(
                request_id=rid, kind="status", at=now, **_who(actor),
                note=json.dumps({k: v for k, v in changes.items()}, default=str)))

    def events_of(self, rid: int):
        self.get_request(rid)
        with self.store.read() as conn:
            return conn.execute(sa.select(events).where(events.c.request_id == rid)
                                .order_by(events.c.id)).all()

    def anonymise_older_than(self, days: float, actor: Actor = SYSTEM) -> int:
        """The retention rule: erase the personal fields (:data:`PERSONAL` and the
        service attributes, which may identify someone) of every
        request filed more than ``days`` ago (the description, location and status stay:
        the city's record of the case); returns how many requests it touched, recorded
        as an ``anonymise`` event. Idempotent: a request already erased is not touched."""
        cutoff = self.clock() - days * 86400.0
        erased = (*PERSONAL, "attributes")  # attributes may identify (a licence plate)
        holds = sa.or_(*[requests.c[f].is_not(None) for f in erased])
        with self.store.write() as conn:
            n = conn.execute(requests.update().where(
                (requests.c.requested < cutoff) & holds).values(
                **dict.fromkeys(erased))).rowcount
            if n:
                conn.execute(events.insert().values(
                    kind="anonymise", at=self.clock(), note=f"{n} requests older than "
                    f"{days:g} days", **_who(actor)))
        if n:
            log.info("retention: personal fields of %d requests erased", n)
        return n

    def record(self, kind: str, actor: Actor, note: str | None = None) -> None:
        """An event of no request or team (e.g. a key created or revoked)."""
        record_event(self.store, kind, actor.key_id, actor.role, note, at=self.clock())

    def audit(self, *, since: float | None = None, until: float | None = None,
              kind: str | None = None, key_id: str | None = None,
              request_id: int | None = None, page: int = 1, page_size: int = 100):
        """Events, newest first, with ``(rows, total)`` for the filters."""
        where = []
        if since is not None:
            where.append(events.c.at >= since)
        if until is not None:
            where.append(events.c.at <= until)
        if kind:
            where.append(events.c.kind == kind)
        if key_id:
            where.append(events.c.key_id == key_id)
        if request_id is not None:
            where.append(events.c.request_id == request_id)
        cond = sa.and_(sa.true(), *where)
        with self.store.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(events)
                                 .where(cond)).scalar_one()
            rows = conn.execute(sa.select(events).where(cond)
                                .order_by(events.c.at.desc(), events.c.id.desc())
                                .offset((page - 1) * page_size).limit(page_size)).all()
        return rows, total

    # ------------------------------------------------------------------- teams
    def put_team(self, tid: int, fields: dict, actor: Actor) -> bool:
        """Create or replace a team's reported state; returns True if it was created."""
        now = self.clock()
        cell = int(self.district.cell_of(np.array([fields["lat"]]),
                                         np.array([fields["lon"]]))[0])
        values = dict(fields, cell=cell, updated=now)
        with self.store.write() as conn:
            exists = conn.execute(sa.select(teams.c.id).where(teams.c.id == tid)).first()
            if exists:
                conn.execute(teams.update().where(teams.c.id == tid).values(**values))
            else:
                conn.execute(teams.insert().values(id=tid, **values))
            conn.execute(events.insert().values(team_id=tid, kind="team", at=now,
                                                note=fields["state"], **_who(actor)))
        return exists is None

    def list_teams(self):
        with self.store.read() as conn:
            return conn.execute(sa.select(teams).order_by(teams.c.id)).all()

    def team_action(self, tid: int, rid: int, action: str, note: str | None = None, *,
                    actor: Actor) -> str:
        """Record a team's ``accept``/``arrive``/``resolve``/``return`` of a request."""
        before, after = _ACTION_STATE[action]
        before = (before,) if isinstance(before, str) else before
        now = self.clock()
        with self.store.write() as conn:
            team = conn.execute(sa.select(teams.c.id, teams.c.name)
                                .where(teams.c.id == tid)).first()
            if team is None:
                raise NotFound(f"team {tid} not found")
            name = team.name or f"team {tid}"
            a = conn.execute(sa.select(assignments).where(
                (assignments.c.request_id == rid) & (assignments.c.team_id == tid)
                & assignments.c.state.in_(ACTIVE))).first()
            if a is None:
                raise Conflict(f"team {tid} holds no active assignment of request {rid}")
            if a.state not in before:
                raise Conflict(f"cannot {action} an assignment in state {a.state!r}")
            conn.execute(assignments.update().where(assignments.c.id == a.id)
                         .values(state=after, updated=now))
            req = {"updated": now}
            if action == "resolve":
                req.update(status="closed", stage="resolved",
                           status_notes=note or "resolved by the field team")
            elif action == "return":
                req.update(stage="received", agency_responsible=None, expected=None,
                           status_notes=note or "returned by the field team for re-dispatch")
            else:  # the life cycle in Open311 terms: still open, the notes say where
                req.update(stage=after, status_notes=note or _STAGE_NOTE[after].format(name))
            conn.execute(requests.update().where(requests.c.id == rid).values(**req))
            conn.execute(events.insert().values(request_id=rid, team_id=tid, kind=action,
                                                at=now, note=note, **_who(actor)))
        return after

    def assign_by_hand(self, rid: int, tid: int, note: str | None = None, *,
                       actor: Actor) -> None:
        """A dispatcher puts request ``rid`` with team ``tid``: an active assignment to
        another team is ended (``returned``), the request leaves the dispatch pool
        (rounds take only requests in stage ``received``, so the optimizer does not move
        it) until the team returns it, and an ``assigned`` event names both teams."""
        now = self.clock()
        with self.store.write() as conn:
            team = conn.execute(sa.select(teams).where(teams.c.id == tid)).first()
            if team is None:
                raise NotFound(f"team {tid} not found")
            req = conn.execute(sa.select(requests.c.status).where(requests.c.id == rid)).first()
            if req is None:
                raise NotFound(f"service_request_id {rid} not found")
            if req.status == "closed":
                raise Conflict(f"request {rid} is closed: reopen it before assigning it")
            held = conn.execute(sa.select(assignments).where(
                (assignments.c.request_id == rid) & assignments.c.state.in_(ACTIVE))).all()
            if any(a.team_id == tid for a in held):
                raise Conflict(f"team {tid} already holds request {rid}")
            for a in held:
                conn.execute(assignments.update().where(assignments.c.id == a.id)
                             .values(state="returned", updated=now))
            name = team.name or f"team {team.id}"
            conn.execute(assignments.insert().values(
                request_id=rid, team_id=tid, state="assigned", assigned=now, eta=None,
                cost=None, updated=now))
            conn.execute(requests.update().where(requests.c.id == rid).values(
                stage="assigned", agency_responsible=name, expected=None, updated=now,
                status_notes=note or f"assigned by hand to {name}"))
            before = ", ".join(f"team {a.team_id}" for a in held) or "the pool"
            conn.execute(events.insert().values(
                request_id=rid, team_id=tid, kind="assigned", at=now, **_who(actor),
                note=f"by hand, from {before}" + (f": {note}" if note else "")))

    def list_assignments(self, *, active_only: bool = True, team: int | None = None):
        q = sa.select(assignments)
        if active_only:
            q = q.where(assignments.c.state.in_(ACTIVE))
        if team is not None:
            q = q.where(assignments.c.team_id == team)
        with self.store.read() as conn:
            return conn.execute(q.order_by(assignments.c.id)).all()

    # ---------------------------------------------------------------- dispatch
    def dispatch_once(self, now: float | None = None, max_tasks: int = 5000,
                      actor: Actor = SYSTEM) -> DispatchRound:
        """Assign waiting open requests to teams on shift with the optimizer policy."""
        t0 = time.perf_counter()
        now = self.clock() if now is None else now
        with self.store.read() as conn:
            open_rows = conn.execute(
                sa.select(requests.c.id, requests.c.cell, requests.c.priority,
                          requests.c.service_code, requests.c.deadline,
                          requests.c.work_seconds)
                .where((requests.c.stage == "received") & (requests.c.status == "open")
                       & requests.c.cell.is_not(None))
                .order_by(requests.c.requested, requests.c.id).limit(max_tasks)).all()
            team_rows = conn.execute(sa.select(teams).where(
                (teams.c.state != "off") & (teams.c.shift_end > now))
                .order_by(teams.c.id)).all()
            load = dict(conn.execute(
                sa.select(assignments.c.team_id, sa.func.count())
                .where(assignments.c.state.in_(ACTIVE))
                .group_by(assignments.c.team_id)).all())
        if not open_rows or not team_rows:
            return DispatchRound(len(open_rows), len(team_rows), 0, len(open_rows),
                                 time.perf_counter() - t0)
        problem = self._problem(now, open_rows, team_rows, load)
        a = self.policy(problem)
        assigned = np.flatnonzero(a.team >= 0)
        done = 0
        with self.store.write() as conn:
            for i in assigned.tolist():
                rid, team = open_rows[i], team_rows[int(a.team[i])]
                eta = float(a.eta[i])
                name = team.name or f"team {team.id}"
                res = conn.execute(requests.update().where(
                    (requests.c.id == rid.id) & (requests.c.stage == "received")
                    & (requests.c.status == "open")).values(
                    stage="assigned", agency_responsible=name, updated=now,
                    expected=eta + rid.work_seconds,
                    status_notes=f"dispatched to {name}"))
                if res.rowcount == 0:  # changed since the snapshot: next round decides
                    continue
                conn.execute(assignments.insert().values(
                    request_id=rid.id, team_id=team.id, state="assigned", assigned=now,
                    eta=eta, cost=float(a.cost[i]), updated=now))
                conn.execute(events.insert().values(
                    request_id=rid.id, team_id=team.id, kind="dispatched", at=now,
                    **_who(actor),
                    note=f"{self.policy_name}: eta "
                         f"{dt.datetime.fromtimestamp(eta, dt.UTC).isoformat(timespec='seconds')}"))
                done += 1
        r = DispatchRound(len(open_rows), len(team_rows), done, len(open_rows) - done,
                          time.perf_counter() - t0)
        if done:
            log.info("dispatch: %d open, %d teams, %d assigned in %.3f s", r.open_requests,
                     r.teams, r.assigned, r.seconds)
        return r

    def _problem(self, now, open_rows, team_rows, load) -> DispatchProblem:
        d = self.district
        task_cell_d = np.array([r.cell for r in open_rows], np.int64)
        team_cell_d = np.array([t.cell for t in team_rows], np.int64)
        cells, inv = np.unique(np.concatenate([task_cell_d, team_cell_d]), return_inverse=True)
        modes = np.array([t.mode for t in team_rows])
        travel = np.empty((len(team_rows), cells.size), np.float32)
        for md in np.unique(modes):
            rows = np.flatnonzero(modes == md)
            travel[rows] = d.travel_time(team_cell_d[rows], cells, mode=str(md))
        bit = self.skill_bit
        task_skill = np.array([1 << bit[self.services[r.service_code].skill]
                               for r in open_rows], np.int64)
        team_skills = np.array([sum(1 << bit[s] for s in t.skills.split(";") if s in bit)
                                for t in team_rows], np.int64)
        active = np.array([load.get(t.id, 0) for t in team_rows], np.int32)
        capacity = np.maximum(np.array([t.capacity for t in team_rows]) - active, 0)
        # a busy team can set out when it said it would be free (default: in 30 minutes)
        free_at = np.array([now if t.state == "free" else (t.free_at or now + 1800.0)
                            for t in team_rows], np.float64)
        n = len(open_rows)
        return DispatchProblem(
            now=now, task_id=np.array([r.id for r in open_rows], np.int64),
            task_cell=inv[:n], task_priority=np.array([r.priority for r in open_rows]),
            task_skill=task_skill, task_deadline=np.array([r.deadline for r in open_rows]),
            task_work=np.array([r.work_seconds for r in open_rows]),
            task_area=d.subdistrict_index[task_cell_d],
            team_id=np.array([t.id for t in team_rows], np.int64), team_cell=inv[n:],
            team_skills=team_skills, team_free_at=free_at, team_capacity=capacity,
            team_shift_start=np.array([t.shift_start for t in team_rows], np.float64),
            team_shift_end=np.array([t.shift_end for t in team_rows], np.float64),
            team_load=active, travel=travel)
