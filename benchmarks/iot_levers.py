"""The IoT same-day levers of jingan_integrated, added one at a time (scenarios/CALIBRATION.md).

    .venv/bin/python -m benchmarks.iot_levers [--replications 3] [--days 7]

Each step is ``jingan_integrated.toml`` with the levers not yet added taken out again
(``Scenario.replace``); all steps run under common random numbers and the script prints
the markdown table of scenarios/CALIBRATION.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from urbangrid.simulation import Scenario, load_scenario
from urbangrid.study import compare_scenarios

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def steps() -> list[tuple[str, Scenario]]:
    """(label, scenario) from no lever to the integrated file, one lever per step."""
    full = load_scenario(SCENARIOS / "jingan_integrated.toml")
    iot_only = {k: v for k, v in full.catalogue.overrides.items() if "iot" in v}
    default_crews = [c.model_dump() for c in Scenario().crews]
    before_crews = {"dispatch.handover": False, "catalogue.overrides": iot_only,
                    "crews": default_crews}
    plan = [
        ("0 no fast lane (default crews, all categories)",
         {**before_crews, "channels.iot.fast_lane.enabled": False,
          "catalogue.overrides": {}}),
        ("1 + fast lane, filed round the clock",
         {**before_crews, "channels.iot.fast_lane.filing_shift": None,
          "catalogue.overrides": {}}),
        ("2 + filing 07:00-20:00", {**before_crews, "catalogue.overrides": {}}),
        ("3 + auto-detectable categories only", before_crews),
        ("4 + crews (sanitation 9, utilities 20, greenery night)",
         {"dispatch.handover": False, "catalogue.overrides": iot_only}),
        ("5 + first-visit resolution 0.998", {"dispatch.handover": False}),
        ("6 + handover at shift end (= jingan_integrated.toml)", {}),
    ]
    return [(label, full.replace(o, name=f"step{i}")) for i, (label, o) in enumerate(plan)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replications", type=int, default=3)
    p.add_argument("--days", type=float, default=7.0)
    args = p.parse_args(argv)
    plan = steps()
    t0 = time.perf_counter()
    cmp = compare_scenarios([s for _, s in plan], replications=args.replications,
                            days=args.days)
    s = cmp.summary()
    print(f"{len(plan)} steps × {args.replications} replications, {args.days:g}-day window, "
          f"{time.perf_counter() - t0:.0f} s")
    print("| step | IoT same day | hotline mean (calendar days) | all cases mean (calendar days) |")
    print("| --- | --- | --- | --- |")
    for (label, _), n in zip(plan, cmp.names, strict=True):
        k = s[n]
        i = k["iot"]["same_day_rate"]
        h = k["hotline"]["handling_days_calendar_mean"]
        a = k["all"]["handling_days_calendar_mean"]
        print(f"| {label} | {i['mean']:.2%} ± {i['ci95']:.2%} | {h['mean']:.2f} ± "
              f"{h['ci95']:.2f} | {a['mean']:.2f} ± {a['ci95']:.2f} |")


if __name__ == "__main__":
    main()
