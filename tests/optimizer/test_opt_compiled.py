"""The built-in policies' compiled form (``optimizer.compiled``) against the policies.

The simulation's event loop calls :func:`decide` (or :func:`decide_batch`, the same with
the records) instead of the policy; the teams must be the policy's, bit for bit, and
where the policy takes another path (``mcf`` beyond its compiled small path, pinned
tasks, a flow stopped before a proven optimum) it must say so rather than answer.
"""

import numpy as np
import pytest
from opt_helpers import edge_case_problems

from urbangrid.optimizer import DeferReason, DispatchProblem, FlowParams, get_policy
from urbangrid.optimizer._common import _NO_CELL_TRAVEL, batch_of
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.compiled import (
    KIND_MCF,
    KIND_NEAREST,
    Batch,
    CompiledPolicy,
    compiled_form,
    decide_batch,
)

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _decide(form: CompiledPolicy, p: DispatchProblem) -> tuple[int, np.ndarray]:
    team = np.full(p.n_tasks, -7, np.int32)
    status = decide_batch(form.kind, form.flow, batch_of(p), team)
    return int(status), team


@pytest.mark.parametrize("seed", range(18))
@pytest.mark.parametrize("name, params", [("nearest", {}), ("legacy", {}),
                                          ("mcf", {}), ("mcf", {"candidates": 2})])
def test_decide_gives_the_policys_teams(seed, name, params):
    policy = get_policy(name, **params)
    form = compiled_form(policy)
    decided = 0
    for p in edge_case_problems(seed):
        status, team = _decide(form, p)
        if status == 1:
            # only where solve() takes another path: a flow that stopped before a
            # proven optimum
            assert form.kind == KIND_MCF
            stats = policy(p).stats
            assert stats.get("fell_back_to_dense") or stats.get("ssp_over_budget")
            continue
        assert status == 0
        decided += 1
        np.testing.assert_array_equal(team, policy(p).team)
    assert decided >= 1


def test_decide_hands_back_pinned_and_oversized_batches():
    p = random_problem(3, n_tasks=12, n_teams=20, pinned=0.3, capacity=(0, 3))
    mcf = compiled_form(get_policy("mcf"))
    assert _decide(mcf, p)[0] == 1
    big = CompiledPolicy(KIND_MCF, candidates=8, max_tasks=11)  # 12 tasks > 11
    q = p.replace(task_pinned=np.full(12, -1, np.int32))
    assert _decide(mcf, q)[0] == 0
    assert _decide(big, q)[0] == 1
    # the sequential policies always answer, pinned tasks on their team
    status, team = _decide(CompiledPolicy(KIND_NEAREST), p)
    assert status == 0
    pinned = p.task_pinned >= 0
    np.testing.assert_array_equal(team[pinned], p.task_pinned[pinned])


def test_only_built_in_policies_without_a_time_limit_have_a_compiled_form():
    assert compiled_form(get_policy("mcf", time_limit=1.0)) is None
    for name in ("greedy", "mcf_route"):
        assert compiled_form(get_policy(name)) is None
    assert compiled_form(get_policy("mcf", candidates=3)).flow.candidates == 3

    def mine(p):
        return get_policy("nearest")(p)

    assert compiled_form(mine) is None


def test_the_form_carries_the_policys_flow_knobs():
    mcf = compiled_form(get_policy("mcf", candidates=3))
    assert mcf.flow == FlowParams(candidates=3)
    assert CompiledPolicy(KIND_MCF, mcf.flow, max_tasks=2).flow == mcf.flow.replace(max_tasks=2)


def test_a_batch_record_has_the_problem_field_names():
    # compiled callers build a Batch by keyword: its fields are the problem's (weights as
    # w_*), so a name read on one side means the same array on the other
    p = random_problem(0, n_tasks=3, n_teams=4)
    b = batch_of(p)
    for name in Batch._fields:
        if name.startswith("w_"):
            assert getattr(b, name) == getattr(p.weights, name[2:])
        elif name not in ("cell_travel", "use_cell_travel"):
            assert getattr(b, name) is getattr(p, name), name
    assert b.use_cell_travel is False and b.cell_travel is _NO_CELL_TRAVEL


def test_the_kernels_reason_codes_are_deferreasons():
    from urbangrid.optimizer import _policy_kernels as k

    for name in ("NO_QUALIFIED_TEAM", "UNREACHABLE", "OFF_SHIFT", "NO_CAPACITY",
                 "CHEAPER_TO_DEFER", "OUT_OF_AREA"):
        assert getattr(k, f"_{name}") == DeferReason[name]
