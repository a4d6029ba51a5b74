"""Which lever bought how much: differences between two scenarios, lever by lever.

:func:`scenario_diff` lists the resolved differences of two scenarios (after ``extends``
and defaults). :func:`decompose` groups those differences into levers
(:data:`LEVER_GROUPS`; an unlisted key is a lever of its own), applies them to the
*before* scenario one at a time along several orderings, and attributes to each lever
its average marginal effect on a KPI: the Shapley value over the orderings used (every
ordering of the levers with ``exact``, else the forward and reverse orderings and any
number of random ones). Contributions along one ordering add up to the total, so their
averages do too. Every scenario runs the same replications under common random numbers,
and a lever's 95 % interval is over the replications' paired contributions.

The runs take the *before* scenario's run settings (horizon, warm-up, drain, seed):
``run.*``, ``output.*``, ``name`` and ``description`` are not levers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from urbangrid.errors import InputError
from urbangrid.simulation import Scenario, run_replications, t_interval
from urbangrid.simulation.scenario import flatten, scenario_diff

__all__ = ["LEVER_GROUPS", "Decomposition", "decompose", "flatten", "levers_between",
           "scenario_diff"]

#: Named levers: a difference in a key that starts with one of a lever's prefixes
#: belongs to that lever (first match wins). The reform's switches of the hotline work
#: orders come first, one each.
LEVER_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("24/7 operations centre", ("orders.dispatch_hours",)),
    ("direct dispatch to the unit", ("orders.route",)),
    ("right unit first time", ("orders.correct_dispatch_prob",)),
    ("live deadline supervision", ("orders.supervision",)),
    ("24/7 case process", ("workflow.", "calendar.")),
    ("IoT detection and fast lane", ("channels.iot.", "catalogue.", "shifts.iot_filing")),
    ("demand volume and mix", ("demand.", "channels.patrol.share", "channels.hotline.share",
                               "channels.other.share", "channels.hotline.propensity")),
    ("crews and shifts", ("crews", "shifts.", "workstations")),
    ("dispatch", ("dispatch.",)),
)
_NOT_LEVERS = ("name", "description", "run.", "output.")


def _lever_of(key: str) -> str | None:
    if any(key == p or key.startswith(p) for p in _NOT_LEVERS):
        return None
    for name, prefixes in LEVER_GROUPS:
        if any(key == p.rstrip(".") or key.startswith(p) for p in prefixes):
            return name
    return key.rsplit(".", 1)[0] if "." in key else key


def levers_between(before: Scenario, after: Scenario) -> dict[str, list[str]]:
    """The levers that differ, each with its keys, in :data:`LEVER_GROUPS` order then
    by name."""
    out: dict[str, list[str]] = {}
    for key, _, _ in scenario_diff(before, after):
        name = _lever_of(key)
        if name is not None:
            out.setdefault(name, []).append(key)
    order = [n for n, _ in LEVER_GROUPS]
    return dict(sorted(out.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0])))


def _set(data: dict[str, Any], key: str, value: Any, present: bool) -> None:
    parts = key.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    if present:
        node[parts[-1]] = value
    else:
        node.pop(parts[-1], None)


def _variant(before: Scenario, after: Scenario, levers: Mapping[str, list[str]],
             applied: frozenset[str]) -> Scenario:
    data = before.to_dict()
    fa = flatten(after.to_dict())
    for name in applied:
        for key in levers[name]:
            _set(data, key, fa.get(key), key in fa)
    label = "+".join(sorted(applied)) or "before"
    data["name"] = f"{before.name} [{label}]"
    try:
        return Scenario.from_dict(data, source=f"levers {sorted(applied)}")
    except InputError as exc:
        raise InputError(f"the levers {sorted(applied)} cannot be applied alone: {exc}; "
                         "they change keys that must change together") from None


@dataclass
class Decomposition:
    """The result of :func:`decompose` (see :meth:`document`)."""

    kpi: str
    before: float
    after: float
    levers: dict[str, list[str]]
    contributions: dict[str, np.ndarray]  #: per replication, averaged over orderings
    orderings: list[list[str]]
    replications: int
    runs: int

    def document(self) -> dict[str, Any]:
        """``{"kpi", "before", "after", "total", "total_ci95", "levers": [{"name",
        "keys", "contribution", "ci95"}], ...}``: the contributions add up to the total."""
        total = sum(self.contributions.values())
        t_mean, t_half, _ = t_interval(np.asarray(total))
        rows = []
        for name, keys in self.levers.items():
            mean, half, _ = t_interval(self.contributions[name])
            rows.append({"name": name, "keys": keys, "contribution": mean, "ci95": half})
        return {"kpi": self.kpi, "before": self.before, "after": self.after,
                "total": t_mean, "total_ci95": t_half, "levers": rows,
                "orderings": self.orderings, "replications": self.replications,
                "scenario_runs": self.runs}


def _kpi_getter(kpi: str) -> Callable[[Mapping[str, Any]], float]:
    group, _, name = kpi.partition(".")
    if not name:
        raise InputError(f"--kpi {kpi!r}: give GROUP.NAME, e.g. hotline.handling_days_"
                         "calendar_mean (groups: all, a channel, subdistrict:<code>)")

    def get(k: Mapping[str, Any]) -> float:
        if group not in k or name not in k[group]:
            raise InputError(f"--kpi {kpi!r}: no such KPI (groups: {', '.join(k)}; "
                             f"names: {', '.join(k.get('all', {}))})")
        return float(k[group][name])
    return get


def decompose(before: Scenario, after: Scenario, *, kpi: str, replications: int,
              orderings: int = 0, exact: bool = False, seed: int | None = None,
              processes: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Decomposition:
    """Attribute the change of ``kpi`` from ``before`` to ``after`` to the levers.

    Parameters
    ----------
    kpi
        ``GROUP.NAME`` of :func:`urbangrid.simulation.compute_kpis`, e.g.
        ``hotline.handling_days_calendar_mean``.
    replications
        Common-random-number replications of every scenario run.
    orderings
        Random orderings beside the forward and reverse ones (seeded by ``seed``).
    exact
        Every ordering: exact Shapley values (``2^levers`` scenarios).
    progress
        ``progress(runs_done, runs_planned)``, once per scenario run.
    """
    get = _kpi_getter(kpi)
    levers = levers_between(before, after)
    names = list(levers)
    if not names:
        raise InputError("the two scenarios have no lever that differs (run.*, output.*, "
                         "name and description are not levers)")
    seed = before.run.seed if seed is None else int(seed)
    if exact:
        if len(names) > 8:
            raise InputError(f"{len(names)} levers: exact Shapley values need "
                             f"{2 ** len(names)} scenarios; use --orderings instead")
        orders = [list(p) for p in itertools.permutations(names)]
    else:
        orders = [names, names[::-1]] if len(names) > 1 else [names]
        rng = np.random.default_rng(seed)
        for _ in range(orderings):
            orders.append([names[i] for i in rng.permutation(len(names))])
    subsets = {frozenset()}
    for order in orders:
        for k in range(1, len(order) + 1):
            subsets.add(frozenset(order[:k]))
    plan = sorted(subsets, key=lambda s: (len(s), sorted(s)))
    values: dict[frozenset[str], np.ndarray] = {}
    for done, s in enumerate(plan):
        sc = _variant(before, after, levers, s)
        summary = run_replications(sc, replications=replications, seed=seed,
                                   processes=processes, keep_first=False)
        values[s] = np.array([get(k) for k in summary.per_replication])
        if progress is not None:
            progress(done + 1, len(plan))
    contrib = {n: np.zeros(replications) for n in names}
    for order in orders:
        applied: frozenset[str] = frozenset()
        for n in order:
            nxt = applied | {n}
            contrib[n] += values[nxt] - values[applied]
            applied = nxt
    for n in names:
        contrib[n] /= len(orders)
    full = frozenset(names)
    return Decomposition(kpi=kpi, before=float(values[frozenset()].mean()),
                         after=float(values[full].mean()), levers=levers,
                         contributions=contrib, orderings=orders if not exact else [],
                         replications=replications, runs=len(plan))


def plot_waterfall(doc: Mapping[str, Any], path) -> Any:
    """The waterfall chart of a decomposition document: from *before* to *after*, one
    bar per lever (with its 95 % interval)."""
    from .figures import _figure, _save

    levers = doc["levers"]
    fig = _figure((9.0, 4.2))
    ax = fig.subplots()
    level = doc["before"]
    xs = ["before"] + [lv["name"] for lv in levers] + ["after"]
    ax.bar(0, level, color="#888")
    for i, lv in enumerate(levers, start=1):
        c = lv["contribution"]
        ax.bar(i, c, bottom=level, color="#2a9d8f" if c < 0 else "#e76f51",
               yerr=lv["ci95"] if math.isfinite(lv["ci95"]) else None, capsize=3)
        level += c
    ax.bar(len(xs) - 1, level, color="#444")
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(doc["kpi"])
    ax.set_title(f"{doc['kpi']}: {doc['before']:.2f} -> {doc['after']:.2f}, lever by lever")
    fig.tight_layout()
    return _save(fig, path)


