"""Run the performance suite: ``python -m benchmarks.run [--quick] [--check]``.

Writes ``results.json`` and ``RESULTS.md`` (into ``--out``, default this folder for the
full suite and ``benchmarks/quick/`` for the quick one). With ``--check`` it compares
each ratio with ``baseline.json`` and exits 1 on a regression beyond its tolerance.

``--write-baseline N`` runs the suite N times and stores, per benchmark, the median ratio
and a tolerance of ``max(MIN_TOLERANCE, SPREAD_FACTOR × (max − min) / median)``: the
tolerance is the spread measured on this machine, widened, never a guess.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

from .harness import Measurement, check, write_results

HERE = Path(__file__).resolve().parent
SUITES = ("bench_district", "bench_optimizer", "bench_simulation")

# Ratios of two timings taken in the same run vary less than raw times, but on 2 shared
# cores sub-millisecond timings still move by tens of percent between runs. A baseline's
# tolerance is the measured spread of its ratio times SPREAD_FACTOR, at least MIN_TOLERANCE.
MIN_TOLERANCE = 0.5
SPREAD_FACTOR = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced suite (< 3 min)")
    parser.add_argument("--check", action="store_true",
                        help="compare ratios with baseline.json; exit 1 on regression")
    parser.add_argument("--only", action="append", default=[],
                        help="run only suites whose name contains this (repeatable)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--write-baseline", type=int, default=0, metavar="N",
                        help="run the suite N times; store median ratios and tolerances "
                             "from their spread as baseline.json")
    args = parser.parse_args(argv)

    runs = [_run_suites(args) for _ in range(max(1, args.write_baseline))]
    measurements = runs[-1]
    out = args.out or (HERE / "quick" if args.quick else HERE)
    doc = write_results(measurements, out, quick=args.quick)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}", file=sys.stderr)
    if args.write_baseline:
        baseline = {"machine": doc["machine"], "quick": args.quick, "runs": len(runs),
                    "min_tolerance": MIN_TOLERANCE, "spread_factor": SPREAD_FACTOR,
                    "measurements": _baseline_rows(runs)}
        (HERE / "baseline.json").write_text(json.dumps(baseline, indent=2) + "\n")
        print(f"wrote {HERE / 'baseline.json'} from {len(runs)} runs", file=sys.stderr)
    if args.check:
        baseline_path = HERE / "baseline.json"
        if not baseline_path.exists():
            print(f"no baseline at {baseline_path}", file=sys.stderr)
            return 2
        failures = check(measurements, json.loads(baseline_path.read_text()), MIN_TOLERANCE)
        for f in failures:
            print(f"REGRESSION {f}", file=sys.stderr)
        if failures:
            return 1
        print("bench-check: no ratio regressed beyond its tolerance", file=sys.stderr)
    return 0


def _run_suites(args: argparse.Namespace) -> list[Measurement]:
    measurements = []
    for name in SUITES:
        if args.only and not any(o in name for o in args.only):
            continue
        module = importlib.import_module(f".{name}", __package__)
        start = time.perf_counter()
        got = module.run(quick=args.quick)
        print(f"{name}: {len(got)} figures in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
        for m in got:
            ratio = f"ratio {m.ratio:.3g}" if m.ratio is not None else ""
            print(f"  {m.name}: {m.seconds:.4g} s {ratio}", file=sys.stderr)
        measurements.extend(got)
    return measurements


def _baseline_rows(runs: list[list[Measurement]]) -> list[dict]:
    rows = []
    for m in runs[0]:
        ratios = [r.ratio for run in runs for r in run if r.name == m.name and r.ratio]
        if not ratios:
            continue
        median = statistics.median(ratios)
        spread = (max(ratios) - min(ratios)) / median
        rows.append({"name": m.name, "ratio": median, "ratio_kind": m.ratio_kind,
                     "ratios": ratios,
                     "tolerance": round(max(MIN_TOLERANCE, SPREAD_FACTOR * spread), 3)})
    return rows


if __name__ == "__main__":
    sys.exit(main())
