"""The work orders' two-level SimPy environment runs events in SimPy's own order."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from urbangrid.simulation.environment import WINDOW, Environment


def _trace(env_cls, seed: int, catch_up: bool) -> list[tuple]:
    """Processes that sleep random times (ties at equal times, zero delays, waits days
    ahead, events triggered by other processes), run by ``env_cls``; the trace of
    (time, process, step) in the order they ran."""
    env = env_cls()
    rng = np.random.default_rng(seed)
    out = []
    signals = [env.event() for _ in range(5)]

    def proc(k):
        for step in range(40):
            u = rng.random()
            if u < 0.15:
                d = 0.0
            elif u < 0.3:
                d = float(rng.integers(0, 4)) * 600.0  # ties on a coarse grid
            elif u < 0.4:
                d = float(rng.uniform(1, 5)) * 86_400.0  # days ahead
            elif u < 0.45:
                d = WINDOW * float(rng.integers(1, 3)) - env.now % WINDOW  # window edges
            else:
                d = float(rng.exponential(900.0))
            if u > 0.97 and not signals[k % 5].triggered:
                signals[k % 5].succeed(k)
            if 0.95 < u <= 0.97 and not signals[(k + 1) % 5].triggered:
                got = yield signals[(k + 1) % 5]
                out.append((env.now, k, step, "signal", got))
                continue
            yield env.timeout(d)
            assert env.now == env._now
            out.append((env.now, k, step))

    for k in range(30):
        env.process(proc(k))
    if catch_up:
        t = 0.0
        while env.peek() < math.inf:
            t += 3 * 3600.0
            env.run_before(t)
    else:
        env.run()
    return out


class _Reference(simpy.Environment):
    def run_before(self, t):
        n = 0
        while self.peek() < t:
            self.step()
            n += 1
        return n


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("catch_up", [False, True])
def test_events_run_in_simpys_order(seed, catch_up):
    ref = _trace(_Reference, seed, catch_up)
    assert len(ref) > 500
    assert _trace(Environment, seed, catch_up) == ref


def test_peek_run_before_and_an_empty_schedule():
    env = Environment()
    assert env.peek() == math.inf
    with pytest.raises(simpy.core.EmptySchedule):
        env.step()
    hits = []
    for t in (10.0, 5 * 86_400.0, math.inf, 2 * WINDOW):
        env.timeout(t).callbacks.append(lambda e, t=t: hits.append(t))
    assert env.peek() == 10.0
    assert env.run_before(WINDOW) == 1 and hits == [10.0]
    # the next event is in a later window: peek brings it forward
    assert env.peek() == 2 * WINDOW
    assert env.run_before(6 * 86_400.0) == 2 and env.now == 5 * 86_400.0
    assert env.peek() == math.inf and env.run_before(math.inf) == 0
    assert hits == [10.0, 2 * WINDOW, 5 * 86_400.0]


def test_run_until_and_a_failed_event_behave_as_in_simpy():
    for cls in (simpy.Environment, Environment):
        env = cls()
        env.timeout(3 * 86_400.0)
        env.run(until=2 * 86_400.0)
        assert env.now == 2 * 86_400.0
        env.run(until=4 * 86_400.0)
        assert env.now == 4 * 86_400.0
    env.run()  # SimPy's `until` events left behind, then nothing
    assert env.peek() == math.inf

    def boom():
        yield env.timeout(5 * WINDOW)
        raise RuntimeError("order failed")

    env.process(boom())
    with pytest.raises(RuntimeError, match="order failed"):
        env.run_before(math.inf)


def test_events_at_infinity_keep_simpys_order():
    """Two timeouts at infinity, the first starting a process: SimPy runs the process
    (scheduled at infinity with an urgent priority) before the second timeout."""
    def trace(env_cls):
        env = env_cls()
        seen = []

        def child():
            seen.append("child")
            yield env.timeout(0)

        a = env.timeout(math.inf)
        a.callbacks.append(lambda e: (seen.append("a"), env.process(child())))
        env.timeout(math.inf).callbacks.append(lambda e: seen.append("b"))
        env.timeout(10 * WINDOW).callbacks.append(lambda e: seen.append("finite"))
        env.run()
        return seen

    assert trace(Environment) == trace(simpy.Environment) == ["finite", "a", "child", "b"]


def test_simpys_event_constructors_are_bound_to_the_instance():
    env = Environment()
    for name in ("timeout", "event", "process", "all_of", "any_of"):
        assert name in vars(env), name
    assert env.timeout(5).env is env

