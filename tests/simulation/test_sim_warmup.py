"""MSER-5: the end of the start-up transient of the backlog."""

from __future__ import annotations

import numpy as np

from tests.toys import toy_scenario
from urbangrid.simulation import check_warmup, mser5, simulate


def test_mser5_finds_a_filling_transient():
    rng = np.random.default_rng(1)
    t = np.arange(2000)
    series = 100.0 * (1.0 - np.exp(-t / 80.0)) + rng.normal(0.0, 3.0, t.size)
    cut, settled = mser5(series)
    assert settled
    assert 150 <= cut <= 700  # the fill (time constant 80) is over within a few of them


def test_mser5_flags_a_series_that_never_settles():
    rng = np.random.default_rng(2)
    trend = np.arange(1000) * 0.5 + rng.normal(0.0, 1.0, 1000)
    _, settled = mser5(trend)
    assert not settled
    flat = rng.normal(50.0, 2.0, 1000)
    cut, settled = mser5(flat)
    assert settled and cut < 250


def test_the_run_checks_its_warmup():
    short = check_warmup(simulate(toy_scenario(**{"run.warmup_days": 0.1, "run.days": 3})))
    assert short.configured_days == 0.1 and not short.ok  # 3 days: too short to tell
    doc = short.document()
    assert doc["method"].startswith("MSER-5") and doc["ok"] is False
