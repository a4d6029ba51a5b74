"""Policy benchmark: dispatch policies on the integrated scenario at equal staffing.

    python -m benchmarks.policies [--replications 10] [--days 7] [--policy NAME ...]
                                  [--import MODULE ...] [--out benchmarks/POLICIES.md]

Every policy runs the same scenario (``scenarios/jingan_integrated.toml``, only
``dispatch.policy`` changed) with the same root seed and replication indices, i.e. under
common random numbers, so each replication sees the same arrivals and case fates. The
table gives each KPI's mean ± 95 % t-interval per policy and the paired difference
against the first policy (``nearest`` by default).

A researcher's policy: ``--policy my_package.my_module:my_policy`` (a policy factory in
any importable module, e.g. on ``PYTHONPATH``), an installed package's entry point
(group ``urbangrid.policies``), or a name registered with
:func:`urbangrid.optimizer.register_policy` by a module given with ``--import``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from urbangrid.errors import InputError
from urbangrid.optimizer import check_policy, get_policy, policy_factory
from urbangrid.simulation import load_scenario
from urbangrid.study import compare_scenarios, comparison_document

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "jingan_integrated.toml"
DEFAULT_POLICIES = ("nearest", "legacy", "mcf", "mcf_route")
KPIS = (
    ("all", "handling_days_calendar_mean", "{:.3f}"),
    ("hotline", "handling_days_calendar_mean", "{:.3f}"),
    ("all", "handling_days_calendar_p90", "{:.3f}"),
    ("all", "same_day_rate", "{:.2%}"),
    ("all", "on_time_rate", "{:.2%}"),
    ("all", "backlog_mean", "{:.0f}"),
    ("all", "utilisation_mean", "{:.2%}"),
    ("all", "dispatch_delay_min_mean", "{:.1f}"),
)


def _cell(rec: dict | None, fmt: str) -> str:
    if not rec or rec.get("mean") is None:
        return "–"
    half = rec.get("ci95")
    mean = fmt.format(rec["mean"])
    return mean if half is None else f"{mean} ± {fmt.format(half)}"


def markdown(doc: dict, policies: list[str], days: float, wall: float) -> str:
    base = policies[0]
    lines = [
        "# Dispatch policies on the integrated Jing'an scenario",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `python -m benchmarks.policies "
        f"--replications {doc['replications']} --days {days:g}` (seed {doc['seed']}, "
        f"{wall:.0f} s). Same scenario and staffing for every policy, common random numbers; "
        f"mean ± 95 % t-interval over replications; Δ is the paired difference against "
        f"`{base}` (* where its interval crosses zero).",
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
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.policies", description=__doc__)
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--policy", action="append", default=[],
                    help="policy name or package.module:function (repeatable; default "
                         f"{', '.join(DEFAULT_POLICIES)})")
    ap.add_argument("--import", dest="imports", action="append", default=[],
                    help="module to import first (it registers extra policies)")
    ap.add_argument("--scenario", type=Path, default=SCENARIO)
    ap.add_argument("--out", type=Path, default=HERE / "POLICIES.md")
    args = ap.parse_args(argv)
    for module in args.imports:
        importlib.import_module(module)
    policies = args.policy or list(DEFAULT_POLICIES)
    for p in policies:  # a registered name, an entry point or "package.module:function"
        try:
            policy_factory(p, key="--policy")
        except InputError as exc:
            print(exc, file=sys.stderr)
            return 2
    for p in policies:  # the contract first: no drops, skills and capacities, determinism
        check_policy(get_policy(p))
    base = load_scenario(args.scenario)
    scenarios = [base.replace({"dispatch.policy": p, "name": p}) for p in policies]
    comparison = compare_scenarios(scenarios, replications=args.replications,
                                   seed=args.seed, days=args.days, keep_first=False)
    doc = comparison_document(comparison)
    args.out.write_text(markdown(doc, policies, args.days, comparison.wall_seconds))
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
