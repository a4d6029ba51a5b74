"""Re-offering queued tasks (``dispatch.reoffer``): every round with new tasks also offers
the queued, unstarted tasks of the crews on duty, each with its crew as
``task_current``; the policy keeps, moves (at the reassignment cost), postpones or
defers them, and one it leaves out goes back to the pool (a deferral, as
``evaluate`` prices it)."""

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.optimizer import evaluate, get_policy
from urbangrid.simulation import simulate
from urbangrid.simulation.codes import Event


def _run(policy=None, **overrides):
    sc = toy_scenario(**{"dispatch.policy": "mcf", "dispatch.reoffer": True, **overrides})
    return simulate(sc, policy=policy)


def _count(res, kind) -> int:
    return int((res.events["kind"] == kind).sum())


def _moves(res) -> list[tuple[int, int]]:
    """``(new crew, old crew)`` of each move: a task handed back by its crew and
    dispatched to another in the same round (one that finds no free slot there, or
    that is postponed, is handed back to its pool and dispatched at a later round)."""
    ev = res.events
    disp = ev["kind"] == Event.DISPATCHED
    new_team = {(int(c), float(t)): int(j) for c, t, j in
                zip(ev["case"][disp], ev["time"][disp], ev["team"][disp], strict=True)}
    return [(new_team[k], int(ev["team"][r]))
            for r in np.flatnonzero(ev["kind"] == Event.HANDED_BACK)
            if (k := (int(ev["case"][r]), float(ev["time"][r]))) in new_team]


def _conserved(res) -> None:
    """Every case is closed or still open, none vanished, and every task handed back
    is served again or still open at the end."""
    c, ev = res.cases, res.events
    assert np.isfinite(c["t_close"]).sum() + np.isnan(c["t_close"]).sum() == c["t_report"].size
    back = np.unique(ev["case"][ev["kind"] == Event.HANDED_BACK])
    served = np.unique(ev["case"][ev["kind"] == Event.TRAVEL])
    still_open = np.flatnonzero(np.isnan(c["t_close"]))
    assert np.isin(back, np.union1d(served, still_open)).all()


def test_reoffered_tasks_are_the_queued_unstarted_tasks_of_their_crew():
    mcf = get_policy("mcf")
    seen = []

    def spy(p):
        cur = np.flatnonzero(p.task_current >= 0)
        seen.extend((int(p.task_id[i]), int(p.team_id[p.task_current[i]]), p.now)
                    for i in cur)
        return mcf(p)

    res = _run(spy)
    assert len(seen) > 100
    ev = res.events
    t, case, kind, team = ev["time"], ev["case"], ev["kind"], ev["team"]
    for c, j, now in seen[::7]:
        mine = (case == c) & (t <= now)
        signed = mine & (kind == Event.SIGNED)
        assert signed.any(), f"case {c} re-offered at {now} before any crew signed it"
        # the crew that signed last holds it, and has not started it
        assert team[np.flatnonzero(signed)[-1]] == j
        last_sign = t[np.flatnonzero(signed)[-1]]
        assert not (mine & (kind == Event.TRAVEL) & (t >= last_sign)).any()


@pytest.mark.parametrize("path", ["compiled", "python"])
def test_the_reassignment_weight_prices_moving_a_queued_task(path):
    """mcf moves queued tasks to a crew that frees up sooner only when that saves more
    than the reassignment weight: free moves are many, dear moves none."""
    moves = {}
    for w in (0.0, 900.0, 1e6):
        policy = None
        if path == "python":
            mcf = get_policy("mcf")
            policy = lambda p, mcf=mcf: mcf(p)  # noqa: E731 (no compiled form)
        res = _run(policy, **{"dispatch.params": {"weights": {"reassignment": w}}})
        moves[w] = len(_moves(res))
        _conserved(res)
    assert moves[0.0] > moves[900.0] > moves[1e6] == 0
    assert moves[0.0] > 20


def test_a_queued_task_the_policy_leaves_out_goes_back_to_the_pool():
    """Left out, a re-offered task is deferred as evaluate prices it: handed back by its
    crew to the pool (not dispatched in that round), then served or still open."""
    mcf = get_policy("mcf")
    left = []

    def leave_half_out(p):
        team = mcf(p).team.copy()
        cur = np.flatnonzero(p.task_current >= 0)[::2]
        team[cur] = -1
        left.extend((int(p.task_id[i]), p.now) for i in cur)
        return evaluate(p, team).to_assignment("leave_half_out")

    res = _run(leave_half_out)
    assert len(left) > 50
    ev = res.events

    def rows(kind) -> set[tuple[int, float]]:
        m = ev["kind"] == kind
        return set(zip(ev["case"][m].tolist(), ev["time"][m].tolist(), strict=True))

    back, disp = rows(Event.HANDED_BACK), rows(Event.DISPATCHED)
    assert all(k in back and k not in disp for k in left)
    _conserved(res)


def test_moved_and_deferred_queued_tasks_are_served_and_none_is_lost():
    """A policy that moves every re-offered task to another crew with the skill (and
    leaves it out when there is none): each move is logged as handed back by the old
    crew and dispatched to the new one, which then signs for it."""
    mcf = get_policy("mcf")

    def mover(p):
        team = mcf(p).team.copy()
        for i in np.flatnonzero(p.task_current >= 0):
            ok = ((p.team_skills & p.task_skill[i]) > 0) & np.isfinite(
                p.travel[:, p.task_cell[i]])
            ok[p.task_current[i]] = False
            others = np.flatnonzero(ok)
            team[i] = others[0] if others.size else -1
        return evaluate(p, team).to_assignment("mover")

    res = _run(mover)
    ev = res.events
    back = np.flatnonzero(ev["kind"] == Event.HANDED_BACK)
    assert back.size > 50
    _conserved(res)
    moves = _moves(res)
    assert len(moves) > 20
    assert all(new != old for new, old in moves)
    # and the new crew signs for it
    signed = ev["kind"] == Event.SIGNED
    assert np.isin(ev["case"][back], ev["case"][signed]).all()


def test_without_reoffer_no_task_carries_a_current_crew():
    mcf = get_policy("mcf")
    seen = []

    def spy(p):
        seen.append(int((p.task_current >= 0).sum()))
        return mcf(p)

    res = simulate(toy_scenario(**{"dispatch.policy": "mcf"}), policy=spy)
    assert len(seen) > 50 and sum(seen) == 0
    assert _count(res, Event.HANDED_BACK) == 0
