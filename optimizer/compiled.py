"""The built-in policies in compiled form, for a caller whose own loop is compiled.

A simulation runs ~570 dispatch rounds a simulated day, half of them for one urgent
task. Leaving its compiled event loop for each round, to build a
:class:`DispatchProblem`, call the policy and read its :class:`Assignment`, costs about
100 us of Python per round, several times the compiled work of the round
(``simulation/MODEL.md``, "Engine and speed"). A built-in policy therefore also carries
its compiled form (:func:`compiled_form`): its kind and the :class:`FlowParams` it
solves with, which such a loop passes to :func:`decide_batch`, a Numba function running
the one compiled path the policy itself calls (``_policy_kernels.dispatch``). The teams
are the policy's, bit for bit (``tests/optimizer/test_opt_compiled.py``); where the
policy would take another path for a snapshot (``mcf`` on a batch beyond its compiled
small path, or one whose compiled flow stops before a proven optimum), the function says
so and the caller calls the policy.

A policy without a compiled form (a researcher's, ``greedy``, ``mcf_route``, ``mcf``
with a time limit) is simply called from Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _kernels, _policy_kernels
from ._kernels import FlowParams
from ._policy_kernels import KIND_LEGACY, KIND_MCF, KIND_NEAREST, Batch, decide_batch

__all__ = ["KERNEL_FILES", "KIND_LEGACY", "KIND_MCF", "KIND_NEAREST", "Batch",
           "CompiledPolicy", "FlowParams", "compiled_form", "decide_batch"]

#: The source files of :func:`decide_batch` and of every compiled function it calls: a compiled
#: caller's on-disk cache must be dropped when one changes (``urbangrid._numba_cache``).
KERNEL_FILES = (_kernels.__file__, _policy_kernels.__file__)


@dataclass(frozen=True, init=False)
class CompiledPolicy:
    """A built-in policy's arguments to :func:`decide_batch` (besides the snapshot).

    Parameters
    ----------
    kind
        ``KIND_NEAREST``, ``KIND_LEGACY`` or ``KIND_MCF``.
    flow
        The :class:`FlowParams` ``mcf`` solves with (ignored by the sequential kinds);
        default ``FlowParams()``.
    **knobs
        :class:`FlowParams` fields to change in ``flow``, e.g.
        ``CompiledPolicy(KIND_MCF, candidates=8, max_tasks=2)``.
    """

    kind: int
    flow: FlowParams

    def __init__(self, kind: int, flow: FlowParams | None = None, **knobs) -> None:
        flow = FlowParams() if flow is None else flow
        object.__setattr__(self, "kind", int(kind))
        object.__setattr__(self, "flow", flow.replace(**knobs) if knobs else flow)


def compiled_form(policy) -> CompiledPolicy | None:
    """The compiled form of ``policy``, or None when it has none (call it instead)."""
    form = getattr(policy, "compiled_form", None)
    return form if isinstance(form, CompiledPolicy) else None
