"""The floors the benchmarks divide by do the work they claim (counts, not times)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.floors import bare_simpy_events, write_floor


@pytest.mark.parametrize(("n_events", "n_processes"), [(1000, 100), (12_345, 100), (50, 7)])
def test_bare_simpy_floor_processes_the_requested_events(n_events, n_processes):
    done = bare_simpy_events(n_events, n_processes)
    # whole timeouts per process: at most one short of n_events per process
    assert n_events - n_processes < done <= n_events


def test_write_floor_writes_every_element():
    out = np.zeros((7, 5), dtype=np.float32)
    write_floor(out)
    assert (out == 1.0).all()
