"""The built-in policies in compiled form, for a caller whose own loop is compiled.

A simulation runs ~570 dispatch rounds a simulated day, half of them for one urgent
task. Leaving its compiled event loop for each round, to build a
:class:`DispatchProblem`, call the policy and read its :class:`Assignment`, cost about
100 us of Python per round, several times the compiled work of the round (MODEL.md,
"Engine and speed"). A built-in policy therefore also carries its compiled form
(:func:`compiled_form`): the kernel the policy calls and the constants it calls it with,
which such a loop calls directly (:func:`decide`, a Numba function). The teams are the
policy's, bit for bit (``tests/optimizer/test_opt_compiled.py``); where the policy would
take another path for a snapshot (``mcf`` on a batch beyond its compiled small path, or
one whose compiled flow stops before a proven optimum), :func:`decide` says so and the
caller calls the policy.

A policy without a compiled form (a researcher's, ``greedy``, ``mcf_route``, ``mcf``
with a time limit) is simply called from Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _kernels, _policy_kernels
from ._kernels import PARALLEL_MIN_ELEMENTS
from ._policy_kernels import KIND_LEGACY, KIND_MCF, KIND_NEAREST, decide
from .assignment import _INT_BUDGET, DEFAULT_SCALE, SSP_BUDGET_PER_ARC, SSP_MAX_TASKS
from .solver import _MAX_ROUNDS

__all__ = ["KERNEL_FILES", "KIND_LEGACY", "KIND_MCF", "KIND_NEAREST", "CompiledPolicy",
           "compiled_form", "decide"]

#: The source files of :func:`decide` and of every compiled function it calls: a compiled
#: caller's on-disk cache must be dropped when one changes (``urbangrid._numba_cache``).
KERNEL_FILES = (_kernels.__file__, _policy_kernels.__file__)


@dataclass(frozen=True)
class CompiledPolicy:
    """A built-in policy's arguments to :func:`decide` (besides the snapshot).

    ``kind`` is ``KIND_NEAREST``, ``KIND_LEGACY`` or ``KIND_MCF``; the other fields are
    the constants :func:`urbangrid.optimizer.solve` uses for ``mcf`` (ignored by the
    sequential kinds), passed explicitly so that compiled callers hold no copy of them.
    """

    kind: int
    candidates: int = 0
    max_tasks: int = SSP_MAX_TASKS
    max_elements: int = PARALLEL_MIN_ELEMENTS
    scale: float = DEFAULT_SCALE
    max_rounds: int = _MAX_ROUNDS
    budget_per_arc: int = SSP_BUDGET_PER_ARC
    int_budget: float = _INT_BUDGET


def compiled_form(policy) -> CompiledPolicy | None:
    """The compiled form of ``policy``, or None when it has none (call it instead)."""
    form = getattr(policy, "compiled_form", None)
    return form if isinstance(form, CompiledPolicy) else None
