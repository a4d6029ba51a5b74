"""Run the performance suite: ``python -m benchmarks.run [--quick] [--check]``.

Writes ``results.json`` and ``RESULTS.md`` (into ``--out``, default this folder for the
full suite and ``benchmarks/quick/`` for the quick one). With ``--check`` it compares
each ratio with ``baseline.json`` and exits 1 on a regression beyond the tolerance
(``TOLERANCES`` below; chosen from the spread measured over repeated quick runs on the
2-core CI machines, see RESULTS.md).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from .harness import check, write_results

HERE = Path(__file__).resolve().parent
SUITES = ("bench_district", "bench_optimizer", "bench_simulation")

# Allowed growth of a ratio before the check fails. Ratios of two timings taken in the
# same run vary less than raw times, but on 2 shared cores sub-millisecond timings still
# move by tens of percent between runs; the default covers the spread we measured, and
# benchmarks with noisier ratios have their own entry.
DEFAULT_TOLERANCE = 0.5
TOLERANCES: dict[str, float] = {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced suite (< 3 min)")
    parser.add_argument("--check", action="store_true",
                        help="compare ratios with baseline.json; exit 1 on regression")
    parser.add_argument("--only", action="append", default=[],
                        help="run only suites whose name contains this (repeatable)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--write-baseline", action="store_true",
                        help="store this run's ratios as baseline.json")
    args = parser.parse_args(argv)

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

    out = args.out or (HERE / "quick" if args.quick else HERE)
    doc = write_results(measurements, out, quick=args.quick)
    print(f"wrote {out / 'results.json'} and {out / 'RESULTS.md'}", file=sys.stderr)
    if args.write_baseline:
        baseline = {
            "machine": doc["machine"],
            "quick": args.quick,
            "measurements": [
                {"name": m.name, "ratio": m.ratio, "ratio_kind": m.ratio_kind}
                for m in measurements if m.ratio is not None
            ],
        }
        (HERE / "baseline.json").write_text(json.dumps(baseline, indent=2) + "\n")
    if args.check:
        baseline_path = HERE / "baseline.json"
        if not baseline_path.exists():
            print(f"no baseline at {baseline_path}", file=sys.stderr)
            return 2
        failures = check(measurements, json.loads(baseline_path.read_text()), TOLERANCES,
                         DEFAULT_TOLERANCE)
        for f in failures:
            print(f"REGRESSION {f}", file=sys.stderr)
        if failures:
            return 1
        print("bench-check: no ratio regressed beyond its tolerance", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
