"""Optimizer benchmarks: scoring kernel and assignment, against references in the same run.

The measurements themselves are the optimizer's own measurement routine
(:func:`benchmarks.measure_optimizer.measure`); this module turns its figures into
ratios for the results table and the regression baseline:

* scoring 8,000 × 600: Numba time / memory-bandwidth floor (writing the 19.2 MB result),
  and Numba / NumPy;
* batch 200 × 300: sparse exact ``assign`` / dense min-cost flow on the same instances;
* batch 500 × 600 incl. scoring: p99 / calibration workload;
* full day 8,000 × 600: candidate+pricing ``assign`` / dense min-cost flow, with the gap;
* per-tick policy calls (50 × 400): time / calibration workload.
"""

from __future__ import annotations

from benchmarks.measure_optimizer import measure

from .harness import Measurement, calibration_seconds


def run(quick: bool) -> list[Measurement]:
    cal = calibration_seconds()
    r = measure(quick=quick)
    out = []
    s = r["scoring8000x600"]
    out.append(Measurement(
        "scoring_8000x600_numba_vs_floor", s["numba_ms"] / 1e3, "write 19.2 MB floor",
        s["write_19MB_floor_ms"] / 1e3,
        extra={"numpy_ms": round(s["numpy_ms"], 2),
               "numpy_over_numba": round(s["numpy_over_numba"], 1)},
    ))
    out.append(Measurement(
        "scoring_8000x600_numba_vs_numpy", s["numba_ms"] / 1e3, "NumPy vectorised",
        s["numpy_ms"] / 1e3,
    ))
    b = r["b200x300"]
    out.append(Measurement(
        "assign_200x300", b["assign_ms_p50"] / 1e3, "dense min-cost flow",
        b["dense_ms_p50"] / 1e3,
        extra={"max_rel_gap": b["max_rel_gap_vs_dense"],
               "all_proven_optimal": b["all_proven_optimal"]},
    ))
    b = r["b500x600_incl_scoring"]
    out.append(Measurement(
        "solve_500x600_p99", b["p99_ms"] / 1e3, "calibration workload", cal,
        extra={"p50_ms": round(b["p50_ms"], 2), "max_ms": round(b["max_ms"], 2)},
    ))
    for label in ("all_on_shift", "tenth_off_shift"):
        d = r[f"day8000x600_{label}"]
        out.append(Measurement(
            f"assign_day_8000x600_{label}", d["mcf_s"], "dense min-cost flow", d["dense_s"],
            extra={"rel_gap": d["rel_gap_vs_dense"], "status": d["status"],
                   "pricing_rounds": d["rounds"], "deferred": d["deferred"]},
        ))
    for key, seconds in r["tick50x400"].items():
        out.append(Measurement(
            f"policy_tick_50x400_{key.removesuffix('_ms')}", seconds / 1e3,
            "calibration workload", cal,
        ))
    return out
