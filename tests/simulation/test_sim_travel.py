"""Stochastic travel times (``scenario.travel``): a per-trip factor around the planned
time, from its own random stream."""

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.errors import InputError
from urbangrid.simulation import simulate
from urbangrid.simulation.codes import Event


def _trips(res) -> tuple[np.ndarray, np.ndarray]:
    """Every trip's (realised, planned) seconds: set-out to arrival in the event log,
    and the space's travel time from the crew's previous cell (its last task's, else its
    home) to the task's, in the crew's mode."""
    ev = res.events
    go = np.flatnonzero(ev["kind"] == Event.TRAVEL)
    arrived = np.full(res.cases["cell"].size, np.nan)
    rows = np.flatnonzero(ev["kind"] == Event.ARRIVED)
    realised, planned = [], []
    modes = {"sanitation": "ebike", "city": "ebike", "works": "car"}  # the toy's crews
    for team in np.unique(ev["team"][go]):
        mine = go[ev["team"][go] == team]
        mine_arrived = rows[ev["team"][rows] == team]
        arrived[:] = np.nan
        arrived[ev["case"][mine_arrived]] = ev["time"][mine_arrived]  # one attempt each
        cells = res.cases["cell"][ev["case"][mine]]
        prev = np.concatenate([[res.teams["home"][team]], cells[:-1]])
        matrix = res.space.travel_matrix(modes[str(res.teams["name"][team])])
        t_arr = arrived[ev["case"][mine]]
        once = np.bincount(ev["case"][mine], minlength=arrived.size)[ev["case"][mine]] == 1
        ok = once & ~np.isnan(t_arr)
        realised.append((t_arr - ev["time"][mine])[ok])
        planned.append(matrix[prev, cells][ok].astype(float))
    return np.concatenate(realised), np.concatenate(planned)


def test_trips_vary_around_the_planned_time_with_the_stated_mean_and_cv():
    # an 8 x 8 lattice: most trips leave their cell
    big = {"run.days": 6, "district.toy_rows": 8, "district.toy_cols": 8,
           "demand.cases_per_day": 600}
    realised, planned = _trips(simulate(toy_scenario(**big, **{"travel.cv": 0.4}), seed=7))
    moving = planned > 0
    ratio = realised[moving] / planned[moving]
    assert ratio.size > 2000
    # tolerances: about 4 standard errors at this many trips
    assert ratio.mean() == pytest.approx(1.0, abs=0.03)
    assert ratio.std() / ratio.mean() == pytest.approx(0.4, rel=0.1)
    # lognormal: the log of the factor is normal with sd sqrt(log(1 + cv^2))
    assert np.log(ratio).std() == pytest.approx(np.sqrt(np.log1p(0.16)), rel=0.08)
    # off: every trip takes its planned time
    realised, planned = _trips(simulate(toy_scenario(**big), seed=7))
    assert realised.size > 2000
    np.testing.assert_allclose(realised, planned, rtol=1e-6, atol=1e-3)


def test_travel_variation_leaves_the_other_draws_alone():
    """Its own stream: the arrivals and the first attempts' draws are the same with and
    without it (common random numbers), and a seed still gives one run."""
    off = simulate(toy_scenario(), seed=3)
    on = simulate(toy_scenario(**{"travel.cv": 0.5}), seed=3)
    again = simulate(toy_scenario(**{"travel.cv": 0.5}), seed=3)
    for col in ("t_report", "cell", "category", "channel", "d_work", "d_sign"):
        np.testing.assert_array_equal(off.cases[col], on.cases[col], err_msg=col)
    assert not np.array_equal(off.events["time"], on.events["time"])
    for k in ("time", "case", "kind", "team"):
        np.testing.assert_array_equal(on.events[k], again.events[k])


def test_buffer_sizes_do_not_change_a_run_with_varying_trips(monkeypatch):
    """The trips' variates are refilled like the others: a tiny block (many refills)
    gives the very same run."""
    from urbangrid.simulation import _model

    s = toy_scenario(**{"travel.cv": 0.3})
    ref = simulate(s, seed=5)
    monkeypatch.setattr(_model, "_DRAW_BLOCK", 7)
    small = simulate(s, seed=5)
    assert ref.n_events > 1000
    for col in ref.events:
        np.testing.assert_array_equal(ref.events[col], small.events[col], err_msg=col)


def test_the_dispatcher_plans_with_the_expected_time():
    """With varying trips the snapshots still hold the space's travel times (the mean
    of a trip's time): every team's row is the matrix's from where the team is."""
    from urbangrid.optimizer import get_policy

    nearest = get_policy("nearest")
    checked = []

    def spy(p):
        checked.append((p.task_id.copy(), p.team_cell.copy(), p.travel.copy(),
                        p.cell_travel.copy()))
        return nearest(p)

    s = toy_scenario(**{"run.days": 1, "travel.cv": 0.5, "crews.2.mode": "ebike"})
    res = simulate(s, seed=2, policy=spy)
    matrix = res.space.travel_matrix("ebike")
    n = 0
    for task_id, team_cell, travel, cell_travel in checked:
        cells = np.unique(res.cases["cell"][task_id])
        u = cells.size
        np.testing.assert_array_equal(cell_travel[:u, :u], matrix[np.ix_(cells, cells)])
        for q in range(travel.shape[0]):
            ok = np.isfinite(travel[q, :u])
            np.testing.assert_array_equal(travel[q, :u][ok], cell_travel[team_cell[q], :u][ok])
            n += int(ok.sum())
    assert n > 1000


def test_bad_travel_settings_name_the_field():
    with pytest.raises(InputError, match="travel.cv"):
        toy_scenario(**{"travel.cv": -0.1})
    with pytest.raises(InputError, match="travel.distribution"):
        toy_scenario(**{"travel.distribution": "uniform"})
