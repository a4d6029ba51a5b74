"""Dispatch optimisation: problems, scoring kernels, assignment solvers, routing, policies.

Entry points: :class:`DispatchProblem` (a validated snapshot of tasks and teams),
:func:`solve` (one problem to one :class:`Assignment`), :func:`assign` (the
geography-free core on a cost matrix), :func:`route` / :class:`Router` (sequencing each
team's tasks), :func:`build_problem` / :func:`result_rows` (the tables in and out of
``urbangrid dispatch`` and the service's ``POST /dispatch``), and the policy registry
used by the simulation (:func:`get_policy`, :func:`register_policy`,
:func:`check_policy`; :mod:`urbangrid.optimizer.compiled` holds the built-in policies'
compiled form, for callers whose own loop is compiled). ``python -m benchmarks.measure_optimizer``
measures the performance targets.
This package never imports ``urbangrid.simulation`` or SimPy.
"""

from .assignment import AssignmentResult, assign, greedy_assign
from .check import PolicyContractError, check_assignment, check_policy
from .policies import Policy, available_policies, get_policy, register_policy
from .problem import Assignment, DeferReason, DispatchProblem, ScoreWeights
from .routing import RoutePlan, Router, route
from .scoring import score
from .solver import solve
from .tables import build_problem, read_table, result_rows

__all__ = [
    "Assignment",
    "AssignmentResult",
    "DeferReason",
    "DispatchProblem",
    "Policy",
    "PolicyContractError",
    "RoutePlan",
    "Router",
    "ScoreWeights",
    "assign",
    "available_policies",
    "build_problem",
    "check_assignment",
    "check_policy",
    "get_policy",
    "greedy_assign",
    "read_table",
    "register_policy",
    "result_rows",
    "route",
    "score",
    "solve",
]
