"""Run the performance suite: ``python -m benchmarks.run [--quick] [--check]``.

Writes ``results.json`` and ``RESULTS.md`` (into ``--out``, default this folder for the
full suite and ``benchmarks/quick/`` for the quick one). ``--only WORD`` runs the suites
whose module name contains WORD (``--only service`` runs ``bench_service``).

``--check`` compares each ratio with ``baseline.json`` (or ``--baseline PATH``) and exits
1 when any ratio exceeds ``baseline × (1 + tolerance)`` (a ``REGRESSION`` line each), 2
when there is no baseline file, 0 otherwise. A benchmark the baseline does not hold is
listed as not checked and does not fail the check (a new benchmark gets its entry with
``--write-baseline``); baseline entries whose suite did not run are not checked either.
:func:`evaluate` is the whole decision, a pure function of the figures and the baseline.

``--ci`` is the gate ``.ci/run`` runs after the tests (``make bench-ci``): the quick
suite, checked only on the ratios that are steady on a shared 2-core machine, those
whose stored runs spread by at most ``CI_MAX_SPREAD`` of their median, each with a
tolerance of at least ``CI_MIN_TOLERANCE`` (:func:`ci_baseline`). It catches a gross
regression (a kernel falling back to Python, an accidental quadratic loop) without
failing at random; ``--check`` on a quiet machine is the finer check.

``--write-baseline N`` runs the suite N times and stores, per benchmark, the median ratio
and a tolerance of ``max(MIN_TOLERANCE, SPREAD_FACTOR × (max − min) / median)``: the
tolerance is the spread measured on this machine, widened, never a guess. With ``--only``
the entries of the suites run are replaced or added and every other entry is kept as it
was (each entry records the date it was measured).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

from .harness import Measurement, check, write_results

__all__ = ["CheckOutcome", "baseline_rows", "ci_baseline", "evaluate", "main",
           "merge_baseline", "missing_gated"]

HERE = Path(__file__).resolve().parent
SUITES = ("bench_district", "bench_optimizer", "bench_simulation", "bench_service",
          "bench_hall")
# Which suite measures a benchmark, by the first word of its name.
SUITE_OF_PREFIX = {"district": "bench_district", "scoring": "bench_optimizer",
                   "assign": "bench_optimizer", "solve": "bench_optimizer",
                   "policy": "bench_optimizer", "simulate": "bench_simulation",
                   "service": "bench_service", "hall": "bench_hall"}

# Ratios of two timings taken in the same run vary less than raw times, but on 2 shared
# cores sub-millisecond timings still move by tens of percent between runs. A baseline's
# tolerance is the measured spread of its ratio times SPREAD_FACTOR, at least MIN_TOLERANCE.
MIN_TOLERANCE = 0.5
SPREAD_FACTOR = 3.0
# The CI gate (--ci): only ratios whose stored runs stayed within 25 % of their median,
# each allowed to double. Spreads measured on this machine reach 3x for sub-millisecond
# ratios (policy ticks, two-thread scoring, service p99), which no gate can use.
CI_MAX_SPREAD = 0.25
CI_MIN_TOLERANCE = 1.0
#: Ratios steady in the stored runs but not across machines, left out of the CI gate (the
#: full suite still measures them), with the reason.
CI_UNGATED = {
    "scoring_8000x600_numba_vs_floor":
        "its reference writes 19.2 MB, which a 32 MB L3 cache sometimes holds: the floor "
        "took 370 µs when the baseline was written and 92 - 150 µs on 2026-12-07's "
        "machines while the kernel stayed at 810 - 840 µs (ratio 5.6 - 8.8 against 3.2); "
        "scoring_8000x600_numba_vs_numpy gates the same kernel",
}


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    """What ``--check`` decided: the exit code and the lines it prints."""

    code: int
    regressions: list[str]
    unchecked: list[str]
    checked: int

    def lines(self) -> list[str]:
        out = [f"REGRESSION {r}" for r in self.regressions]
        if self.unchecked:
            out.append("not in the baseline, not checked: " + ", ".join(self.unchecked))
        if self.regressions:
            out.append(f"bench-check: {len(self.regressions)} of {self.checked} ratios "
                       "regressed beyond their tolerance")
        else:
            out.append(f"bench-check: none of {self.checked} ratios regressed beyond its "
                       "tolerance")
        return out


def evaluate(measurements: list[Measurement], baseline: dict,
             default_tolerance: float = MIN_TOLERANCE) -> CheckOutcome:
    """Decide the regression check from the figures of a run and a stored baseline.

    A ratio regresses when it exceeds ``baseline ratio × (1 + tolerance)`` with the
    tolerance stored beside it (``default_tolerance`` where none is); any regression
    makes the exit code 1. Measurements with a ratio that the baseline lacks are listed
    in ``unchecked`` and do not fail; figures without a ratio (peak memory) are not
    compared.
    """
    base = {m["name"]: m for m in baseline.get("measurements", [])}
    regressions = check(measurements, baseline, default_tolerance)
    unchecked = [m.name for m in measurements
                 if m.ratio is not None and base.get(m.name, {}).get("ratio") is None]
    checked = sum(1 for m in measurements if m.ratio is not None) - len(unchecked)
    return CheckOutcome(1 if regressions else 0, regressions, unchecked, checked)


def ci_baseline(baseline: dict) -> dict:
    """The baseline the CI gate checks: the steady entries, tolerances widened.

    An entry is steady when ``(max − min) / median`` of its stored ``ratios`` is at most
    :data:`CI_MAX_SPREAD`; its tolerance becomes at least :data:`CI_MIN_TOLERANCE`. The
    entries of :data:`CI_UNGATED` are left out, steady or not.
    """
    keep = []
    for m in baseline.get("measurements", []):
        ratios = m.get("ratios") or []
        if len(ratios) < 2 or not m.get("ratio"):
            continue
        if (max(ratios) - min(ratios)) / m["ratio"] > CI_MAX_SPREAD:
            continue
        if m["name"] in CI_UNGATED:
            continue
        keep.append({**m, "tolerance": max(CI_MIN_TOLERANCE, m.get("tolerance", 0.0))})
    return {**baseline, "measurements": keep}


def missing_gated(measurements: list[Measurement], gate: dict) -> list[str]:
    """Names of the gate's benchmarks that produced no ratio in ``measurements``."""
    got = {m.name for m in measurements if m.ratio is not None}
    return sorted(m["name"] for m in gate.get("measurements", []) if m["name"] not in got)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="reduced suite (< 3 min)")
    parser.add_argument("--check", action="store_true",
                        help="compare ratios with the baseline; exit 1 on regression")
    parser.add_argument("--only", action="append", default=[],
                        help="run only suites whose name contains this (repeatable)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=HERE / "baseline.json",
                        help="baseline file read by --check and written by --write-baseline "
                             "(default: benchmarks/baseline.json)")
    parser.add_argument("--ci", action="store_true",
                        help="the CI gate: quick suite, steady ratios only, at least 2x "
                             "tolerance (see ci_baseline)")
    parser.add_argument("--write-baseline", type=int, default=0, metavar="N",
                        help="run the suite N times; store median ratios and tolerances "
                             "from their spread in the baseline file")
    args = parser.parse_args(argv)
    if args.ci:
        if args.write_baseline:
            parser.error("--ci checks; write the baseline without it")
        args.quick = args.check = True
        if not args.baseline.exists():
            print(f"no baseline at {args.baseline}", file=sys.stderr)
            return 2
        gate = ci_baseline(json.loads(args.baseline.read_text()))
        names = {m["name"] for m in gate["measurements"]}
        if not args.only:  # run only the suites that hold a gated ratio
            args.only = sorted({SUITE_OF_PREFIX[n.split("_")[0]] for n in names})
        print("bench-ci: gated ratios (steady within "
              f"{CI_MAX_SPREAD:.0%}, tolerance >= {CI_MIN_TOLERANCE:.0%}): "
              + ", ".join(sorted(names)), file=sys.stderr)

    runs = [_run_suites(args) for _ in range(max(1, args.write_baseline))]
    measurements = runs[-1]
    out = args.out or (HERE / "quick" if args.quick else HERE)
    doc = write_results(measurements, out, quick=args.quick)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}", file=sys.stderr)
    if args.write_baseline:
        rows = baseline_rows(runs, doc["machine"]["date"])
        old = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
        if args.only and old is not None:
            baseline = merge_baseline(old, rows)
        else:
            baseline = {"machine": doc["machine"], "quick": args.quick, "runs": len(runs),
                        "min_tolerance": MIN_TOLERANCE, "spread_factor": SPREAD_FACTOR,
                        "measurements": rows}
        args.baseline.write_text(json.dumps(baseline, indent=2) + "\n")
        print(f"wrote {args.baseline}: {len(rows)} entries from {len(runs)} runs"
              + (" (other entries kept)" if args.only and old is not None else ""),
              file=sys.stderr)
    if args.check:
        if not args.baseline.exists():
            print(f"no baseline at {args.baseline}", file=sys.stderr)
            return 2
        baseline = json.loads(args.baseline.read_text())
        if args.ci:
            baseline = ci_baseline(baseline)
            gated = {m["name"] for m in baseline["measurements"]}
            measurements = [m for m in measurements if m.name in gated]
            missing = missing_gated(measurements, baseline)
            if missing:
                # a gate that checked less than it should must not pass
                print("bench-ci: gated benchmarks that produced no ratio (suite skipped, "
                      "renamed or failed): " + ", ".join(missing), file=sys.stderr)
                return 2
        outcome = evaluate(measurements, baseline, MIN_TOLERANCE)
        for line in outcome.lines():
            print(line, file=sys.stderr)
        return outcome.code
    return 0


def _run_suites(args: argparse.Namespace) -> list[Measurement]:
    measurements = []
    for name in SUITES:
        if args.only and not any(o in name for o in args.only):
            continue
        module = importlib.import_module(f".{name}", __package__)
        reason = getattr(module, "unavailable", lambda: None)()
        if reason:
            print(f"{name}: skipped, {reason}", file=sys.stderr)
            continue
        start = time.perf_counter()
        got = module.run(quick=args.quick)
        print(f"{name}: {len(got)} figures in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        for m in got:
            ratio = f"ratio {m.ratio:.3g}" if m.ratio is not None else ""
            print(f"  {m.name}: {m.seconds:.4g} s {ratio}", file=sys.stderr)
        measurements.extend(got)
    return measurements


def baseline_rows(runs: list[list[Measurement]], date: str | None = None) -> list[dict]:
    """Baseline entries from repeated runs: median ratio, the ratios, the tolerance."""
    rows = []
    for m in runs[0]:
        ratios = [r.ratio for run in runs for r in run if r.name == m.name and r.ratio]
        if not ratios:
            continue
        median = statistics.median(ratios)
        spread = (max(ratios) - min(ratios)) / median
        row = {"name": m.name, "ratio": median, "ratio_kind": m.ratio_kind, "ratios": ratios,
               "tolerance": round(max(MIN_TOLERANCE, SPREAD_FACTOR * spread), 3)}
        refs = [r.reference_seconds for run in runs for r in run
                if r.name == m.name and r.reference_seconds]
        if refs:  # lets a check tell a slower engine from a faster reference
            row["reference_seconds"] = statistics.median(refs)
        if date:
            row["date"] = date
        rows.append(row)
    return rows


def merge_baseline(old: dict, rows: list[dict]) -> dict:
    """``old`` with the entries of ``rows`` replaced (same name) or appended; others kept."""
    new = {r["name"]: r for r in rows}
    kept = [new.pop(m["name"], m) for m in old.get("measurements", [])]
    return {**old, "measurements": kept + list(new.values())}


if __name__ == "__main__":
    sys.exit(main())
