"""Paired comparisons of scenarios under common random numbers.

Every scenario is run with the same root seed and the same replication indices, so
replication ``r`` of each scenario draws its arrivals and case fates from the same child
streams (:func:`urbangrid.simulation.streams_for`). The difference of a KPI between
two scenarios is then taken *within* each replication and summarised over replications
with a 95 % Student-t interval (a paired-t interval; Law, *Simulation Modeling and
Analysis*, 5th ed., §10.2.1). Pairing removes the variance the scenarios share, so the
interval is usually much narrower than one built from two independent samples.

A difference whose interval contains zero is flagged ``crosses_zero``: the runs do not
show which scenario is better on that KPI.

How far the streams stay in step depends on the simulation core: scenarios that differ
only in dispatch, crews, shifts or workflow see identical arrivals; arrivals and first
draws come from per-day, per-channel child streams, so a scenario that changes one
channel's demand (IoT coverage, inspector staffing) keeps every other channel's cases
identical, and a surge changes only its days. Repeat draws (rework, misroute after a
first attempt …) follow the event order and drift apart once the scenarios diverge.

Besides ``all`` and the channels, every sub-district is a group (``"sub:<code>"``), so
what-ifs aimed at one place (a workstation) get paired differences there too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from urbangrid.catalogue import CHANNELS
from urbangrid.errors import InputError
from urbangrid.simulation import (
    RunResult,
    Scenario,
    json_safe,
    run_replications,
    summarise,
    t_interval,
)
from urbangrid.simulation.scenario import scenario_diff

__all__ = ["Comparison", "compare_scenarios", "comparison_document", "paired_differences"]

KpiRecord = dict[str, dict[str, float]]


def paired_differences(
    base: Sequence[KpiRecord], other: Sequence[KpiRecord]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-replication differences ``other − base`` summarised with 95 % t-intervals.

    Parameters
    ----------
    base, other
        KPI records of the same replications, in replication order (as
        :attr:`ReplicationSummary.per_replication` holds them).

    Returns
    -------
    dict
        ``{group: {kpi: {"mean", "ci95", "n", "crosses_zero"}}}``. Replications where either
        value is not finite are left out of that KPI (``n`` says how many pairs remain);
        ``crosses_zero`` is ``None`` when fewer than two pairs remain.
    """
    if len(base) != len(other):
        raise ValueError(f"paired differences need equal replications ({len(base)} vs "
                         f"{len(other)})")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for group in base[0]:
        out[group] = {}
        for name in base[0][group]:
            a = np.array([r[group][name] for r in base], dtype=float)
            # a group the other scenario lacks (another district's sub-districts): NaN,
            # so the pair is left out (n = 0)
            b = np.array([r.get(group, {}).get(name, math.nan) for r in other],
                         dtype=float)
            mean, half, n = t_interval(b - a)
            crosses = None if not math.isfinite(half) else bool(abs(mean) <= half)
            out[group][name] = {"mean": mean, "ci95": half, "n": n, "crosses_zero": crosses}
    return out


@dataclass
class Comparison:
    """KPIs of every replication of every scenario, run under common random numbers.

    Attributes
    ----------
    names
        Unique label of each scenario (its ``name``, made unique when two coincide).
    scenarios
        The scenarios as run (with the common horizon and seed applied).
    seed, replications
        The common root seed and number of replications.
    per_replication
        ``{label: [KPI record of replication 0, 1, …]}``.
    first
        ``{label: RunResult of replication 0}`` when kept (for reports), else empty.
    """

    names: list[str]
    scenarios: list[Scenario]
    seed: int
    replications: int
    per_replication: dict[str, list[KpiRecord]]
    first: dict[str, RunResult] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def baseline(self) -> str:
        """Label of the first scenario: the one every difference is taken against."""
        return self.names[0]

    def summary(self) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
        """``{label: {"all" | channel: {kpi: {"mean", "ci95", "n"}}}}``."""
        return {n: summarise(self.per_replication[n]) for n in self.names}

    def differences(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """Paired differences of each scenario against the baseline (``label − baseline``)."""
        base = self.per_replication[self.baseline]
        return {n: paired_differences(base, self.per_replication[n])
                for n in self.names[1:]}


def _labels(scenarios: Sequence[Scenario]) -> list[str]:
    names = [s.name for s in scenarios]
    out = []
    for i, n in enumerate(names):
        out.append(n if names.count(n) == 1 else f"{n}#{i + 1}")
    return out


def compare_scenarios(
    scenarios: Sequence[Scenario],
    *,
    replications: int | None = None,
    seed: int | None = None,
    days: float | None = None,
    processes: int | None = None,
    keep_first: bool = True,
    progress: Callable[[int, float], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> Comparison:
    """Run every scenario with the same seed and replication indices.

    Parameters
    ----------
    scenarios
        Two or more scenarios; the first is the baseline of the differences.
    replications, seed, days
        Common values applied to every scenario (default: the first scenario's
        ``run.replications``, ``run.seed`` and ``run.days``).
    processes
        Worker processes per scenario's replications (see
        :func:`urbangrid.simulation.run_replications`).
    keep_first
        Keep replication 0's full records of each scenario (for maps and plots).
    progress
        ``progress(scenario_index, fraction)``: simulated-time fraction of the scenario's
        replication 0.
    on_done
        Called with the number of runs (scenario × replication) finished so far.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        Fewer than two scenarios, or a common value the scenarios reject.
    """
    import time

    if len(scenarios) < 2:
        raise InputError("compare needs at least two scenarios")
    first = scenarios[0].run
    reps = first.replications if replications is None else int(replications)
    seed = first.seed if seed is None else int(seed)
    days = first.days if days is None else float(days)
    if reps < 2:
        raise InputError(f"--replications = {reps}: paired confidence intervals need at "
                         "least 2 replications")
    common = {"run.replications": reps, "run.seed": seed, "run.days": days}
    runs = [s.replace(common) for s in scenarios]
    labels = _labels(runs)
    per_rep: dict[str, list[KpiRecord]] = {}
    firsts: dict[str, RunResult] = {}
    done_before = 0
    t0 = time.perf_counter()
    for i, (label, sc) in enumerate(zip(labels, runs, strict=True)):
        base = done_before

        def _prog(f: float, i: int = i) -> None:
            if progress:
                progress(i, f)

        def _done(k: int, base: int = base) -> None:
            if on_done:
                on_done(base + k)

        res = run_replications(sc, replications=reps, seed=seed, processes=processes,
                               keep_first=keep_first, progress=_prog, on_done=_done)
        per_rep[label] = res.per_replication
        if keep_first and res.first is not None:
            firsts[label] = res.first
        done_before += reps
    return Comparison(names=labels, scenarios=runs, seed=seed, replications=reps,
                      per_replication=per_rep, first=firsts,
                      wall_seconds=time.perf_counter() - t0)


def comparison_document(comparison: Comparison,
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``comparison.json`` document (NaN written as null).

    Keys: ``scenarios`` (label → scenario as run), ``settings_differ`` (label → the
    resolved settings in which it differs from the baseline: key, baseline's value,
    its value), ``seed``, ``replications``,
    ``baseline``, ``kpis`` (label → group → KPI → mean/ci95/n), ``differences``
    (label → group → KPI → mean/ci95/n/crosses_zero, ``label − baseline``), ``method``;
    ``subdistricts`` and ``departments`` (label → name → channel or part → KPI → record)
    and ``subdistrict_differences`` / ``department_differences`` (the same for the
    paired differences), keyed by names (:mod:`urbangrid.study.tables`).
    """
    doc: dict[str, Any] = {
        "baseline": comparison.baseline,
        "seed": comparison.seed,
        "replications": comparison.replications,
        "channels": list(CHANNELS),
        "method": "common random numbers: every scenario runs replications 0..R-1 of the "
                  "same root seed; differences are per-replication (label - baseline) with "
                  "a 95 % paired Student-t interval; crosses_zero marks intervals that "
                  "contain 0",
        "kpis": comparison.summary(),
        "differences": comparison.differences(),
        "scenarios": {n: s.to_dict() for n, s in zip(comparison.names, comparison.scenarios,
                                                      strict=True)},
        "settings_differ": {
            n: [{"key": k, "baseline": a, "value": b}
                for k0, a0, b0 in scenario_diff(comparison.scenarios[0], s)
                if k0 not in ("name", "description")
                for k, a, b in _by_name(k0, a0, b0)]
            for n, s in zip(comparison.names[1:], comparison.scenarios[1:], strict=True)},
        "wall_seconds": comparison.wall_seconds,
    }
    doc.update(_named(comparison, doc["kpis"], doc["differences"]))
    if extra:
        doc.update(extra)
    return json_safe(doc)


def _named(comparison: Comparison, kpis: dict[str, Any],
           differences: dict[str, Any]) -> dict[str, Any]:
    """The KPIs and paired differences by sub-district × channel and by department, keyed
    by names (:func:`urbangrid.study.tables.named_tables`), each scenario on its own
    district's names."""
    from urbangrid.organisations import load_departments
    from urbangrid.simulation import build_space

    from .tables import named_tables

    deps = load_departments()
    out: dict[str, dict[str, Any]] = {
        "subdistricts": {}, "departments": {}, "subdistrict_differences": {},
        "department_differences": {}}
    for label, sc in zip(comparison.names, comparison.scenarios, strict=True):
        first = comparison.first.get(label)
        space = first.space if first is not None else build_space(sc.district)
        tables = named_tables(kpis[label], space, deps)
        out["subdistricts"][label] = tables["subdistricts"]
        out["departments"][label] = tables["departments"]
        if label in differences:
            diff = named_tables(differences[label], space, deps)
            out["subdistrict_differences"][label] = diff["subdistricts"]
            out["department_differences"][label] = diff["departments"]
    return out


def _by_name(key: str, a: Any, b: Any) -> list[tuple[str, Any, Any]]:
    """A difference of two lists of named tables (crews, workstations) as the items and
    fields that differ, keyed as ``--set`` names them (``crews.sanitation.shift``); any
    other difference as it is."""
    def named(v: Any) -> dict[str, dict] | None:
        if isinstance(v, list) and all(isinstance(x, dict) and "name" in x for x in v):
            return {x["name"]: x for x in v}
        return None

    na, nb = named(a), named(b)
    if na is None or nb is None:
        return [(key, a, b)]
    out = []
    for name in list(na) + [n for n in nb if n not in na]:
        x, y = na.get(name), nb.get(name)
        if x is None or y is None:
            out.append((f"{key}.{name}", x, y))
            continue
        out += [(f"{key}.{name}.{f}", x.get(f), y.get(f)) for f in list(x) + [
            f for f in y if f not in x] if x.get(f) != y.get(f)]
    return out

