"""The compiled core's records and shared rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from urbangrid.catalogue import CHANNELS
from urbangrid.simulation import _core
from urbangrid.simulation._kernels import work_time, work_time_compiled
from urbangrid.simulation.codes import EVENT_NAMES, STATUS_NAMES, Channel, Event, Status


def test_work_time_is_one_rule_for_arrays_and_compiled_scalars():
    rng = np.random.default_rng(5)
    n = 2000
    dist = rng.integers(0, 3, n)
    mean = rng.uniform(0.0, 7200.0, n)
    cv = rng.uniform(0.0, 2.0, n)
    e = rng.standard_exponential(n)
    z = rng.standard_normal(n)
    arrays = work_time(dist, mean, cv, e, z)
    scalars = np.array([work_time_compiled(int(d), m, c, a, b)
                        for d, m, c, a, b in zip(dist, mean, cv, e, z, strict=True)])
    # NumPy's vectorised exp may differ from the C library's in the last bit
    np.testing.assert_allclose(scalars, arrays, rtol=1e-14, atol=0.0)
    assert (arrays[dist == 2] == mean[dist == 2]).all()
    assert (arrays[dist == 0] == mean[dist == 0] * e[dist == 0]).all()


@pytest.mark.parametrize("dist", [0, 1, 2])
def test_work_time_has_the_category_mean(dist):
    rng = np.random.default_rng(dist)
    n = 400_000
    x = work_time(np.full(n, dist), 1800.0, 0.8, rng.standard_exponential(n),
                  rng.standard_normal(n))
    assert abs(x.mean() / 1800.0 - 1.0) < 0.01
    if dist == 1:
        assert abs(x.std() / x.mean() - 0.8) < 0.02


def test_typed_records_have_one_type():
    w = _core.Weights(1, 1, 2, 60, 900, 1e6)
    t = _core.typed(w)
    assert all(type(v) is float for v in t)
    cat = _core.CategoryTable(np.ones(2), np.ones(2), np.ones(2), np.zeros(2, int), np.ones(2),
                              np.ones(2, int))
    with pytest.raises(TypeError):  # arrays are not scalars: typed() is for Params records
        _core.typed(cat)


def test_codes_are_stable_and_named_once():
    assert EVENT_NAMES[Event.CLOSED] == "closed" and len(set(EVENT_NAMES)) == len(Event)
    assert STATUS_NAMES[Status.PARKED] == "parked"
    assert [c.name.lower() for c in Channel] == list(CHANNELS)
    # the core's heap kinds fit its payload encoding
    assert max(_core.Due) < _core._KIND_BITS
    assert math.isfinite(_core.DAY)
