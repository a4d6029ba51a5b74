"""Floors: the least work a piece of the engine could do, timed in the same run.

A ratio to a floor is stable across machines of different speed, which is what the
regression baseline stores.
"""

from __future__ import annotations

import numpy as np
import simpy

__all__ = ["bare_simpy_events", "write_floor"]


def bare_simpy_events(n_events: int, n_processes: int = 100) -> int:
    """Process ``n_events`` timeouts in a bare SimPy environment; returns the number of
    timeouts processed.

    This is the engine's floor: the same number of events as a model run logs, with no
    model logic at all. Timeout delays vary so the heap does real work.
    """
    env = simpy.Environment()
    per_process = max(1, n_events // n_processes)
    done = [0]

    def ticker(env: simpy.Environment, offset: float):
        delay = 1.0 + offset
        for _ in range(per_process):
            yield env.timeout(delay)
        done[0] += per_process

    for i in range(n_processes):
        env.process(ticker(env, i / n_processes))
    env.run()
    return done[0]


def write_floor(out: np.ndarray) -> None:
    """Write every element of ``out`` once: the memory-bandwidth floor for a cost matrix."""
    out.fill(1.0)
