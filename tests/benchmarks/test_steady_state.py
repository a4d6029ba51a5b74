"""The steady-state evidence of ``benchmarks/steady_state.py`` on the toy: the daily
pools add up to the run's time-weighted backlog split, each skill's utilisation is the
KPI's rule over its teams, and a trend is read off a series as stated."""

import numpy as np
import pytest

from benchmarks import steady_state as ss
from tests.toys import toy_scenario
from urbangrid.simulation import compute_kpis, simulate


@pytest.fixture(scope="module")
def toy_run():
    result = simulate(toy_scenario(**{"run.days": 3, "run.drain_days": 0.0}))
    return result, compute_kpis(result)


def test_the_daily_pools_average_to_the_window_backlog_split(toy_run):
    result, kpis = toy_run
    crew, office = ss.daily_pools(result)
    assert crew.shape == office.shape == (3,)
    assert crew.mean() == pytest.approx(kpis["all"]["backlog_crew_mean"], rel=1e-9)
    assert office.mean() == pytest.approx(kpis["all"]["backlog_office_mean"], rel=1e-9)
    assert (crew > 0).all()


def test_skill_utilisation_covers_every_team_of_the_skill(toy_run):
    result, kpis = toy_run
    skills = ss.skill_utilisation(result)
    # "city" holds city_management and housing: 3 teams in each of 2 sub-districts
    assert skills["city_management"]["teams"] == skills["housing"]["teams"] == 6
    assert skills["sanitation"]["teams"] == 4 and skills["utilities"]["teams"] == 2
    assert skills["city_management"]["utilisation"] == skills["housing"]["utilisation"]
    # every team is in one skill group here, so the team-weighted mean of the crews'
    # groups (city, sanitation, works) is the run's utilisation_mean
    groups = [skills["city_management"], skills["sanitation"], skills["utilities"]]
    mean = sum(g["teams"] * g["utilisation"] for g in groups) / sum(g["teams"] for g in groups)
    assert mean == pytest.approx(kpis["all"]["utilisation_mean"], rel=1e-9)
    assert all(0 < g["utilisation"] for g in groups)


def test_trend_reads_first_and_last_week_and_the_slope():
    flat = ss.trend(np.array([10.0, 12.0] * 7))
    assert flat["first_week"] == pytest.approx(76 / 7) and flat["last_week"] == pytest.approx(
        78 / 7)
    assert abs(flat["slope_per_day"]) < flat["slope_se"] * 3
    rising = ss.trend(np.arange(21, dtype=float) * 5.0)
    assert rising["slope_per_day"] == pytest.approx(5.0)
    assert (rising["first_week"], rising["last_week"]) == (15.0, 85.0)
