"""The counters against queueing theory: Erlang C, and the simulated M/M/c hall."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.hall.hall_helpers import DATA
from urbangrid.hall.kpis import hall_kpis
from urbangrid.hall.model import build_plan, simulate_hall
from urbangrid.hall.scenario import HallScenario
from urbangrid.hall.staffing import (
    erlang_c,
    erlang_c_mean_wait,
    erlang_c_wait_tail,
    servers_for,
)


def test_erlang_c_known_values():
    # M/M/2 at rho = 0.5: C = 2 rho^2 / (1 + rho) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: C = rho
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)  # rho/(mu - lam)
    assert erlang_c_wait_tail(2, 1.0, 1.0, 0.0) == pytest.approx(1 / 3)


def test_servers_for_meets_the_tail_and_is_minimal():
    lam, mu, t = 40 / 3600, 1 / 900, 900.0
    c = servers_for(lam, mu, t)
    assert erlang_c_wait_tail(c, lam, mu, t) <= 0.1
    assert erlang_c_wait_tail(c - 1, lam, mu, t) > 0.1
    assert servers_for(0.0, mu, t) == 0


def _mmc_hall(lam_per_hour: float, c: int, days: float) -> HallScenario:
    """A stationary single-matter hall: open round the clock every day, flat arrivals,
    exponential 10-minute service, ``c`` windows, no returns, no back office."""
    return HallScenario().replace({
        "name": "mmc",
        "run.days": days, "run.warmup_days": 1, "run.drain_days": 0,
        "run.processes": 1, "calendar.rule": "weekdays",
        "hall.catalogue": str(DATA / "one_matter.csv"),
        "hall.demand.hall_requests_per_day": lam_per_hour * 24,
        "hall.demand.weekday_factors": [1.0] * 7,
        "hall.demand.hour_profile": [1.0] * 24,
        "hall.demand.appointment_share": 0.0,
        "hall.hours.weekday": "00:00-24:00", "hall.hours.saturday": "00:00-24:00",
        "hall.hours.sunday": "00:00-24:00",
        "hall.subdistrict.centres": 0,
        "hall.service.distribution": "exponential",
        "hall.service.comprehensive_factor": 1.0,
        "hall.counters": [{"name": "all", "count": c, "skills": ["*"]}],
    })


def test_simulated_mmc_mean_wait_agrees_with_erlang_c():
    lam, c, mu = 13.5, 3, 6.0  # per hour: rho = 0.75
    expected = erlang_c_mean_wait(c, lam, mu) * 60.0  # minutes (7.57)
    plan = build_plan(_mmc_hall(lam, c, days=40))
    waits = [hall_kpis(simulate_hall(plan, seed=7, replication=r))["all"]["wait_min_mean"]
             for r in range(3)]
    got = float(np.mean(waits))
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=0.10), (got, expected, waits)
