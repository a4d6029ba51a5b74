"""Fit the one calibrated work-order parameter on the legacy scenario only.

    .venv/bin/python -m benchmarks.fit_legacy [--replications 4] [--target 14.93]
        [--set KEY=VALUE ...] [--predict]

``orders.start_margin`` (how far into its limit an office starts a stage: people "work
to the deadline") has no published value; it is the one parameter of the work orders
fitted, and only to the pre-reform figure: the legacy hotline mean of 14.93 working days
(the Jing'an Data Bureau interview). Everything else about the orders is a published
figure, an assumption, or a reform lever, and the integrated scenario is then a
prediction (scenarios/CALIBRATION.md). The search is a secant on the replication mean
under common random numbers (the same seeds at every trial value), stopped when the
mean is within ``--tol`` working days of the target; it prints each trial.

``--set`` changes a shared assumption in both scenarios (for example
``orders.types.complex.extension_prob=0.1``) and ``--predict`` then runs the integrated
scenario with the fitted value: the prediction's sensitivity to that assumption, with
the legacy side refitted as the calibration prescribes (scenarios/CALIBRATION.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from urbangrid.simulation import load_scenario, run_replications
from urbangrid.simulation.scenario import parse_overrides

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LEGACY = SCENARIOS / "jingan_legacy.toml"
INTEGRATED = SCENARIOS / "jingan_integrated.toml"
KPI = "handling_days_working_mean"


def hotline_mean(path: Path, margin: float, replications: int, overrides: dict,
                 kpi: str = KPI) -> tuple[float, float, float]:
    """Hotline mean ``kpi`` of scenario ``path`` (and its 95 % half-width, censored
    share) at ``start_margin = margin`` with ``overrides``."""
    sc = load_scenario(path, {**overrides, "orders.start_margin": margin})
    s = run_replications(sc, replications=replications, keep_first=False).summary()
    h = s["hotline"]
    open_share = h["cases_open_end"]["mean"] / h["cases_created"]["mean"]
    return h[kpi]["mean"], h[kpi]["ci95"], open_share


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fit_legacy", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, default=4)
    ap.add_argument("--target", type=float, default=14.93)
    ap.add_argument("--tol", type=float, default=0.1)
    ap.add_argument("--start", type=float, nargs=2, default=(-0.3, -0.8))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a shared assumption changed in both scenarios (repeatable)")
    ap.add_argument("--predict", action="store_true",
                    help="then run jingan_integrated with the fitted value")
    args = ap.parse_args(argv)
    overrides = parse_overrides(args.set)

    def legacy_mean(x: float) -> tuple[float, float, float]:
        return hotline_mean(LEGACY, x, args.replications, overrides)

    xs, ys = [], []
    for x in args.start:
        y, half, cens = legacy_mean(x)
        print(f"start_margin {x:+.4f}: {y:.3f} ± {half:.3f} wd (open at the end {cens:.2%})",
              flush=True)
        xs.append(x)
        ys.append(y)
    for _ in range(8):
        if abs(ys[-1] - args.target) < args.tol:
            break
        x0, x1, y0, y1 = xs[-2], xs[-1], ys[-2], ys[-1]
        x = x1 + (args.target - y1) * (x1 - x0) / (y1 - y0)
        x = round(max(-5.0, min(1.0, x)), 3)
        y, half, cens = legacy_mean(x)
        print(f"start_margin {x:+.4f}: {y:.3f} ± {half:.3f} wd (open at the end {cens:.2%})",
              flush=True)
        xs.append(x)
        ys.append(y)
    best = min(range(len(xs)), key=lambda k: abs(ys[k] - args.target))
    print(f"fitted start_margin = {xs[best]:+.3f} ({ys[best]:.3f} wd against {args.target})")
    if args.predict:
        y, half, cens = hotline_mean(INTEGRATED, xs[best], args.replications, overrides,
                                     "handling_days_calendar_mean")
        print(f"predicted jingan_integrated hotline mean: {y:.3f} ± {half:.3f} calendar "
              f"days (open at the end {cens:.2%}; published 7.98)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
