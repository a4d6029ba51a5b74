"""What a dispatch snapshot carries: the teams' real cells, cell-to-cell travel, and a
routing policy's sequence, which the crews follow."""

import numpy as np

from tests.toys import toy_scenario
from urbangrid.simulation import simulate
from urbangrid.simulation.codes import Event

#: The toy with every crew on e-bikes (one travel mode: cell_travel is every team's).
ONE_MODE = {"crews.2.mode": "ebike"}


def _positions(res, team: int, times: np.ndarray) -> np.ndarray:
    """Team ``team``'s cell at each of ``times`` from the event log: the cell of the last
    task it set out for at or before that time, else its home cell."""
    ev = res.events
    mine = np.flatnonzero((ev["kind"] == Event.TRAVEL) & (ev["team"] == team))
    k = np.searchsorted(ev["time"][mine], times, side="right") - 1
    cells = res.cases["cell"][ev["case"][mine]]
    return np.where(k >= 0, cells[np.maximum(k, 0)], res.teams["home"][team])


def test_snapshots_carry_each_teams_real_cell_and_cell_to_cell_travel():
    from urbangrid.optimizer import get_policy

    nearest = get_policy("nearest")
    seen = []

    def spy(p):
        seen.append((p.now, p.task_id.copy(), p.team_id.copy(), p.team_cell.copy(),
                     p.travel.copy(), p.cell_travel.copy()))
        return nearest(p)

    res = simulate(toy_scenario(**ONE_MODE), policy=spy)
    matrix = res.space.travel_matrix("ebike")
    home_checked = moved_checked = off_task = 0
    for now, task_id, team_id, team_cell, travel, cell_travel in seen:
        task_cells = np.unique(res.cases["cell"][task_id])
        u = task_cells.size
        assert cell_travel.shape == (travel.shape[1],) * 2 and cell_travel.dtype == np.float32
        # cell_travel among the task cells is the space's matrix (no surges in the toy)
        np.testing.assert_array_equal(cell_travel[:u, :u], matrix[np.ix_(task_cells,
                                                                          task_cells)])
        for q, j in enumerate(team_id):
            true = _positions(res, int(j), np.array([now]))[0]
            if team_cell[q] < u:
                assert task_cells[team_cell[q]] == true
            else:  # a cell without task: known by its travel times to the task cells
                assert true not in task_cells
                np.testing.assert_array_equal(cell_travel[team_cell[q], :u],
                                              matrix[true, task_cells])
                assert np.isinf(travel[q, u:]).all()  # no task there: never read
                off_task += 1
            # the team's travel row is from where it is
            row = travel[q, :u]
            ok = np.isfinite(row)
            np.testing.assert_array_equal(row[ok], cell_travel[team_cell[q], :u][ok])
            if true == res.teams["home"][j]:
                home_checked += 1
            else:
                moved_checked += 1
    assert len(seen) > 100 and home_checked > 50 and moved_checked > 500 and off_task > 100


def test_the_validated_constructor_accepts_the_snapshots():
    res = simulate(toy_scenario(**{"dispatch.validate_snapshots": True,
                                   "dispatch.policy": "mcf_route", "run.days": 0.5}))
    assert res.stats["policy_calls"] > 50


def test_crews_work_a_routed_rounds_tasks_in_the_policys_order():
    """``mcf_route`` gives each team the teams ``mcf`` gives (same snapshot) and a
    sequence; the crews follow it (orders are signed in random order), so the runs
    differ. Checked on the event log: two tasks of one round and team that both waited
    in the queue when the crew took the first of them are started in the route's order,
    and that order differs from the signing order often enough to matter."""
    from urbangrid.optimizer import get_policy

    mcf, mcf_route = get_policy("mcf"), get_policy("mcf_route")
    rounds = []

    def spy(p):
        a = mcf_route(p)
        np.testing.assert_array_equal(a.team, mcf(p).team)
        rounds.append((p.task_id.copy(), p.team_id[np.maximum(a.team, 0)], a.team >= 0,
                       a.order.copy()))
        return a

    s = toy_scenario(**{"demand.cases_per_day": 600, "dispatch.interval_s": 3600,
                         "dispatch.on_events": "none", **ONE_MODE})
    routed = simulate(s, policy=spy)
    plain = simulate(s.replace({"dispatch.policy": "mcf"}))
    assert not np.array_equal(routed.events["case"], plain.events["case"])

    ev = routed.events
    n = routed.cases["cell"].size
    n_dispatch = np.bincount(ev["case"][ev["kind"] == Event.DISPATCHED], minlength=n)

    def first_time(kind):
        t = np.full(n, np.nan)
        rows = np.flatnonzero(ev["kind"] == kind)[::-1]  # the first row wins
        t[ev["case"][rows]] = ev["time"][rows]
        return t

    signed, started = first_time(Event.SIGNED), first_time(Event.TRAVEL)
    pairs = against_signing = 0
    for task_id, team, assigned, order in rounds:
        ok = assigned & (n_dispatch[task_id] == 1) & ~np.isnan(started[task_id])
        for j in np.unique(team[ok]):
            k = np.flatnonzero(ok & (team == j))
            for a in k:
                for b in k:
                    if order[a] >= order[b]:
                        continue
                    ca, cb = task_id[a], task_id[b]
                    first = min(started[ca], started[cb])
                    if signed[ca] < first and signed[cb] < first:
                        pairs += 1
                        assert started[ca] < started[cb]
                        against_signing += signed[cb] < signed[ca]
    assert pairs > 60 and against_signing > 20, (pairs, against_signing)
