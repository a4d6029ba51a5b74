"""Dispatch optimisation: problems, scoring kernels, assignment solvers, routing, policies.

Entry points: :class:`DispatchProblem` (a validated snapshot of tasks and teams),
:func:`solve` (one problem to one :class:`Assignment`), :func:`evaluate` (the one cost of
any answer, which every solver and policy reports), :func:`assign` (the
geography-free core on a cost matrix), :class:`FlowParams` (the min-cost flow's knobs,
shared by both and by the policies' compiled form), :func:`route` / :class:`Router`
(sequencing each team's tasks), :func:`build_problem` / :func:`result_rows` (the tables in
and out of ``urbangrid dispatch`` and the service's ``POST /dispatch``),
:func:`load_instance` (the named reference instances of ``benchmarks/instances``), and the policy
registry used by the simulation (:func:`get_policy`, :func:`register_policy`,
:func:`check_policy`; :mod:`urbangrid.optimizer.compiled` holds the built-in policies'
compiled form, for callers whose own loop is compiled).
``python -m benchmarks.measure_optimizer`` measures the performance targets.
This package never imports ``urbangrid.simulation`` or SimPy.

The names load on first use, so that the command line registers ``urbangrid dispatch``
without loading Numba or OR-Tools.
"""

from urbangrid._lazy import attach

_WHERE = {
    "AssignmentResult": "assignment", "FlowParams": "assignment", "assign": "assignment",
    "greedy_assign": "assignment", "Evaluation": "evaluation", "evaluate": "evaluation",
    "PolicyContractError": "check", "check_assignment": "check", "check_policy": "check",
    "Policy": "policies", "available_policies": "policies", "get_policy": "policies",
    "policy_factory": "policies", "register_policy": "policies", "area_lag": "policies",
    "Assignment": "problem", "DeferReason": "problem", "DispatchProblem": "problem",
    "ScoreWeights": "problem",
    "RoutePlan": "routing", "Router": "routing", "route": "routing",
    "score": "scoring", "solve": "solver",
    "build_problem": "tables", "problem_tables": "tables", "read_table": "tables",
    "result_rows": "tables",
    "Instance": "instances", "available_instances": "instances",
    "instances_folder": "instances", "load_instance": "instances",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
