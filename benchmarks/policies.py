"""Policy benchmark: dispatch policies at equal staffing, on any list of scenarios.

    python -m benchmarks.policies [SCENARIO.toml ...] [--scenario SCENARIO.toml ...]
                                  [--replications 10] [--days 7] [--policy NAME ...]
                                  [--pair A:B ...] [--import MODULE ...]
                                  [--out DIR | --publish]

Every policy runs each scenario (``scenarios/jingan_integrated.toml`` when none is
given; only ``dispatch.policy`` changed) with the same root seed and replication
indices, i.e. under common random numbers, so each replication sees the same arrivals
and case fates. Per scenario, a table gives each KPI's mean ± 95 % t-interval per policy
and the paired difference against the first policy (``nearest`` by default), titled
with the scenario's name and file; ``--pair A:B`` adds the paired differences ``A − B``
of any two of the policies (``fair_mcf:mcf``: what leaning towards lagging sub-districts
costs and buys against the policy it modifies).

``make bench-policies`` publishes the reference scenarios for dynamic policies
(``scenarios/jingan_integrated.toml``, ``reference_stressed.toml``: the same with crews
at ~85 % utilisation, ``reference_surge.toml``: a 3-day surge of the field channels)
with the default policies, every built-in one and the example ``fair_mcf``.

The results go to ``--out DIR`` (default ``results/policies``): ``POLICIES.md`` (the
tables) and ``POLICIES.json`` (per scenario, the comparison document of
:func:`urbangrid.study.comparison_document` plus ``per_replication``, every policy's
value of every KPI in every replication, so the intervals can be recomputed; only the
district, channel and fairness groups, :data:`JSON_GROUPS`: the per-sub-district and
per-office ones made 21 MB for three scenarios). The project's published
``benchmarks/POLICIES.md`` is written only when asked, with ``--publish`` (``make
bench-policies``) or ``--out benchmarks``: a trial run on one's own scenario must not
overwrite the reference table.

A researcher's policy: ``--policy my_package.my_module:my_policy`` (a policy factory in
any importable module, e.g. on ``PYTHONPATH``), an installed package's entry point
(group ``urbangrid.policies``), or a name registered with
:func:`urbangrid.optimizer.register_policy` by a module given with ``--import``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from urbangrid.catalogue import CHANNELS
from urbangrid.errors import InputError
from urbangrid.optimizer import check_policy, get_policy, policy_factory
from urbangrid.simulation import Scenario, json_safe, load_scenario, t_interval
from urbangrid.study import compare_scenarios, comparison_document

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = ROOT / "scenarios" / "jingan_integrated.toml"
#: Where a run writes unless told otherwise (relative to the working folder, as the
#: other commands' results): never the published tables in ``benchmarks/``.
DEFAULT_OUT = Path("results") / "policies"
MARKDOWN = "POLICIES.md"
JSON = "POLICIES.json"
DEFAULT_POLICIES = ("nearest", "greedy", "legacy", "mcf", "mcf_route", "fair_mcf")
KPIS = (
    ("all", "handling_days_calendar_mean", "{:.3f}"),
    ("hotline", "handling_days_calendar_mean", "{:.3f}"),
    ("all", "handling_days_calendar_p90", "{:.3f}"),
    ("all", "same_day_rate", "{:.2%}"),
    ("all", "on_time_rate", "{:.2%}"),
    ("all", "backlog_mean", "{:.0f}"),
    ("all", "utilisation_mean", "{:.2%}"),
    ("all", "dispatch_delay_min_mean", "{:.1f}"),
    ("fairness", "handling_subdistrict_gini", "{:.3f}"),
    ("fairness", "handling_subdistrict_max_min", "{:.2f}"),
    ("fairness", "handling_channel_gini", "{:.3f}"),
    ("fairness", "on_time_worst_subdistrict", "{:.2%}"),
)


def _cell(rec: dict | None, fmt: str) -> str:
    if not rec or rec.get("mean") is None:
        return "–"
    half = rec.get("ci95")
    mean = fmt.format(rec["mean"])
    return mean if half is None else f"{mean} ± {fmt.format(half)}"


def shown_path(path: Path) -> str:
    """A scenario file as the tables name it: relative to the repository when inside it
    (the published tables do not carry one machine's folders), else as given."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def paired(doc: dict[str, Any], a: str, b: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``{group: {kpi: record}}`` of the paired differences ``a − b`` over the
    replications of one scenario's document (its ``per_replication`` values), in the
    form of the comparison's ``differences``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    values = doc["per_replication"]
    for group, name, _ in KPIS:
        x = np.array(values[a].get(group, {}).get(name, []), dtype=float)
        y = np.array(values[b].get(group, {}).get(name, []), dtype=float)
        if x.size == 0 or x.size != y.size:
            continue
        mean, half, n = t_interval(x - y)
        out.setdefault(group, {})[name] = {
            "mean": mean, "ci95": half if math.isfinite(half) else None, "n": n,
            "crosses_zero": bool(math.isfinite(half) and abs(mean) <= half)}
    return out


def scenario_table(doc: dict[str, Any], policies: list[str],
                   pairs: list[tuple[str, str]] = ()) -> list[str]:
    """The markdown section of one scenario's document: its title (the scenario's name
    and file), the KPIs per policy, the paired differences against the first policy and
    those of each of ``pairs``."""
    base = policies[0]
    lines = [
        f"## {doc['scenario']} (`{doc['file']}`)",
        "",
        f"Seed {doc['seed']}, {doc['replications']} replications, "
        f"{doc['wall_seconds']:.0f} s.",
        "",
        "| KPI | " + " | ".join(policies) + " |",
        "| --- |" + " --- |" * len(policies),
    ]
    for group, name, fmt in KPIS:
        label = name if group == "all" else f"{name} ({group})"
        cells = [_cell(doc["kpis"][p].get(group, {}).get(name), fmt) for p in policies]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"| paired Δ vs {base} | " + " | ".join(policies[1:]) + " |",
              "| --- |" + " --- |" * (len(policies) - 1)]
    for group, name, fmt in KPIS:
        label = name if group == "all" else f"{name} ({group})"
        cells = []
        for p in policies[1:]:
            rec = doc["differences"][p].get(group, {}).get(name)
            star = " *" if rec and rec.get("crosses_zero") else ""
            cells.append(_cell(rec, fmt) + star)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if pairs:
        lines += ["", "| paired Δ | " + " | ".join(f"{a} − {b}" for a, b in pairs) + " |",
                  "| --- |" + " --- |" * len(pairs)]
        diffs = [doc["pairs"][f"{a}:{b}"] for a, b in pairs]
        for group, name, fmt in KPIS:
            label = name if group == "all" else f"{name} ({group})"
            cells = []
            for d in diffs:
                rec = d.get(group, {}).get(name)
                star = " *" if rec and rec.get("crosses_zero") else ""
                cells.append(_cell(rec, fmt) + star)
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(docs: list[dict[str, Any]], policies: list[str], command: str,
             pairs: list[tuple[str, str]] = ()) -> str:
    """``POLICIES.md``: the command and the common method, then one section per
    scenario's document."""
    lines = [
        "# Dispatch policies at equal staffing",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `{command}` on "
        f"{len(docs)} scenario(s). Same scenario and staffing for every policy, common "
        f"random numbers; mean ± 95 % t-interval over replications; Δ is the paired "
        f"difference against `{policies[0]}` (* where its interval crosses zero), or "
        f"between the two policies its column names. The values of every replication "
        f"are in `{JSON}`.",
    ]
    for doc in docs:
        lines += ["", *scenario_table(doc, policies, pairs)]
    return "\n".join(lines) + "\n"


def per_replication_values(per_replication: dict[str, list[dict[str, dict[str, float]]]]
                           ) -> dict[str, dict[str, dict[str, list[float]]]]:
    """``{policy: {group: {kpi: [value of replication 0, 1, …]}}}`` from the comparison's
    records (one per replication): the layout in which an interval is recomputed from
    one list, and a paired difference from two lists of the same length."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for policy, records in per_replication.items():
        out[policy] = {group: {kpi: [r.get(group, {}).get(kpi, float("nan"))
                                     for r in records]
                               for kpi in records[0][group]}
                       for group in records[0]}
    return out


#: Groups of KPIs the JSON keeps: the district, its channels and the fairness KPIs. The
#: per-sub-district, per-channel-in-sub-district and per-office groups and tables of the
#: comparison document (about 3.5 MB per scenario and 5 policies) stay out of it.
JSON_GROUPS = ("all", *CHANNELS, "fairness")
_TABLES_LEFT_OUT = ("subdistricts", "departments", "subdistrict_differences",
                    "department_differences")


def json_scenario(doc: dict[str, Any]) -> dict[str, Any]:
    """One scenario's document as the JSON keeps it: :data:`JSON_GROUPS` of ``kpis``,
    ``differences``, ``per_replication`` and ``pairs``, every other field as is."""
    def groups(by_policy: dict) -> dict:
        return {pol: {g: v for g, v in grp.items() if g in JSON_GROUPS}
                for pol, grp in by_policy.items()}

    out = {k: v for k, v in doc.items() if k not in _TABLES_LEFT_OUT}
    for key in ("kpis", "differences", "per_replication", "pairs"):
        if key in out:
            out[key] = groups(out[key])
    return out


def output_folder(out: Path | None, publish: bool) -> Path:
    """The folder the two files go to: ``--out``, ``benchmarks/`` with ``--publish``,
    else :data:`DEFAULT_OUT`.

    Raises
    ------
    InputError
        When ``--out`` names a file (the files' names are fixed) or both are given.
    """
    if publish and out is not None:
        raise InputError(f"--out {out} and --publish: give one (--publish writes to "
                         f"{shown_path(HERE)}/)")
    if out is None:
        return HERE if publish else DEFAULT_OUT
    if out.suffix.lower() in (".md", ".json") or out.is_file():
        raise InputError(f"--out {out}: expected a folder (the benchmark writes "
                         f"{MARKDOWN} and {JSON} in it), not a file")
    return out


def check_policy_list(policies: list[str]) -> None:
    """At least two policies, each once: every table pairs the others with the first,
    and each policy is one column and one key of the JSON.

    Raises
    ------
    InputError
        Naming the list when it is too short or repeats a policy.
    """
    if len(policies) < 2:
        raise InputError(f"--policy {', '.join(policies)}: the benchmark compares at least "
                         "two policies (the first is the one the others are paired with)")
    repeated = sorted({p for p in policies if policies.count(p) > 1})
    if repeated:
        raise InputError(f"--policy {', '.join(repeated)}: given more than once")


def parse_pairs(items: list[str], policies: list[str]) -> list[tuple[str, str]]:
    """``--pair A:B`` options as ``(A, B)``, both among the benchmark's policies.

    Raises
    ------
    InputError
        Naming the option when it is not ``A:B`` of two different listed policies.
    """
    out = []
    for item in items:
        a, sep, b = item.partition(":")
        if not sep or not a or not b or a == b:
            raise InputError(f"--pair {item}: expected A:B, two different policies")
        missing = [x for x in (a, b) if x not in policies]
        if missing:
            raise InputError(f"--pair {item}: {', '.join(missing)} not among the policies "
                             f"({', '.join(policies)})")
        out.append((a, b))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.policies", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenarios", type=Path, nargs="*", metavar="SCENARIO",
                    help="scenario TOML files (with --scenario: all of them, in order)")
    ap.add_argument("--scenario", type=Path, action="append", default=[],
                    help="a scenario TOML file (repeatable; default "
                         f"{shown_path(SCENARIO)})")
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--policy", action="append", default=[],
                    help="policy name or package.module:function (repeatable; default "
                         f"{', '.join(DEFAULT_POLICIES)})")
    ap.add_argument("--pair", action="append", default=[], metavar="A:B",
                    help="also the paired differences A - B of two of the policies "
                         "(repeatable)")
    ap.add_argument("--import", dest="imports", action="append", default=[],
                    help="module to import first (it registers extra policies)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"folder for {MARKDOWN} and {JSON} (default {DEFAULT_OUT})")
    ap.add_argument("--publish", action="store_true",
                    help=f"write the project's tables, {shown_path(HERE)}/{MARKDOWN}")
    args = ap.parse_args(argv)
    try:
        out = output_folder(args.out, args.publish)
        files = [*args.scenarios, *args.scenario] or [SCENARIO]
        bases: list[Scenario] = [load_scenario(f) for f in files]  # all read before any run
        for module in args.imports:
            importlib.import_module(module)
        policies = args.policy or list(DEFAULT_POLICIES)
        for p in policies:  # a registered name, an entry point or "package.module:function"
            policy_factory(p, key="--policy")
        check_policy_list(policies)
        pairs = parse_pairs(args.pair, policies)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    for p in policies:  # the contract first: no drops, skills and capacities, determinism
        check_policy(get_policy(p))
    docs = []
    for file, base in zip(files, bases, strict=True):
        runs = [base.replace({"dispatch.policy": p, "name": p}) for p in policies]
        comparison = compare_scenarios(runs, replications=args.replications,
                                       seed=args.seed, days=args.days, keep_first=False)
        doc = comparison_document(comparison, extra={
            "scenario": base.name, "file": shown_path(file),
            "per_replication": per_replication_values(comparison.per_replication),
        })
        doc["pairs"] = json_safe({f"{a}:{b}": paired(doc, a, b) for a, b in pairs})
        docs.append(doc)
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m benchmarks.policies",
                        *(shown_path(f) for f in files),
                        f"--replications {args.replications}", f"--days {args.days:g}",
                        *([f"--seed {args.seed}"] if args.seed is not None else []),
                        *(f"--policy {p}" for p in policies),
                        *(f"--pair {a}:{b}" for a, b in pairs)])
    text = markdown(docs, policies, command, pairs)
    (out / MARKDOWN).write_text(text, encoding="utf-8")
    document = {"policies": policies, "days": args.days, "command": command,
                "pairs": [f"{a}:{b}" for a, b in pairs],
                "scenarios": [json_scenario(d) for d in docs]}
    (out / JSON).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(text)
    print(f"wrote {out / MARKDOWN} and {out / JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
