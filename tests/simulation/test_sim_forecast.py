"""Look-ahead: dispatch snapshots carry the demand model's forecast of their cells."""

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.catalogue import load_catalogue
from urbangrid.simulation import DemandModel, simulate
from urbangrid.simulation.run import build_space, build_teams, make_calendar


def _spy(seen):
    from urbangrid.optimizer import get_policy

    nearest = get_policy("nearest")

    def spy(p):
        seen.append((p.now, p.task_id.copy(), p.forecast, p.forecast_horizon))
        return nearest(p)

    return spy


def test_snapshots_carry_the_forecast_of_their_cells_and_skills():
    sc = toy_scenario(**{"dispatch.forecast_hours": 3.0, "run.days": 1})
    seen = []
    res = simulate(sc, policy=_spy(seen))
    cat = load_catalogue(sc.catalogue.file, sc.catalogue.overrides)
    space, cal = build_space(sc.district), make_calendar(sc)
    demand = DemandModel(sc, space, cat, cal,
                         build_teams(sc, space, cat, cal)["inspector_windows"])
    group = cat.skill_index()
    checked = 0
    for now, task_id, forecast, horizon in seen[::25]:
        assert horizon == 3 * 3600.0
        assert forecast.shape[1] == len(cat.skills)
        # the first columns of a snapshot are its task cells, sorted
        task_cells = np.unique(res.cases["cell"][task_id])
        want = demand.forecast(now, now + horizon, group, len(cat.skills), cells=task_cells)
        np.testing.assert_allclose(forecast[:task_cells.size], want)
        checked += 1
    assert checked > 5
    # the forecast is the intensity: the whole district's over a day is the day's demand
    day = demand.forecast(0.0, 86400.0, group, len(cat.skills))
    assert day.sum() == pytest.approx(demand._hour_rates(0).sum())


def test_without_forecast_hours_snapshots_have_none_and_runs_are_unchanged():
    seen = []
    sc = toy_scenario(**{"run.days": 0.5})
    a = simulate(sc, policy=_spy(seen))
    assert seen and all(f is None and h == 0.0 for _, _, f, h in seen)
    b = simulate(toy_scenario(**{"run.days": 0.5, "dispatch.forecast_hours": 2.0}),
                 policy=_spy([]))
    # a forecast informs the policy; nearest ignores it, so the run is the same
    for col in ("t_dispatch", "t_close", "team"):
        assert np.array_equal(a.cases[col], b.cases[col], equal_nan=True)


def test_a_forecast_for_a_compiled_policy_is_named_as_ignored():
    from urbangrid.simulation import check_warmup, compute_kpis, run_warnings

    def warnings(**ov):
        r = simulate(toy_scenario(**{"run.days": 0.5, **ov}))
        kpis = {k: {"mean": v} for k, v in compute_kpis(r)["all"].items()}
        return " ".join(run_warnings(kpis, r, check_warmup(r)))

    assert "dispatch.forecast_hours = 2 set but ignored" in warnings(
        **{"dispatch.forecast_hours": 2.0})
    # through Python (validated snapshots) the policy gets it: no warning
    assert "forecast" not in warnings(**{"dispatch.forecast_hours": 2.0,
                                         "dispatch.validate_snapshots": True})
