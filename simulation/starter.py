"""A starter scenario for any district, scaled from the calibrated Jing'an defaults.

A planner with a boundary file and, ideally, a population count gets a scenario whose
demand, crews, work-order staff and responsibility grids are those of the built-in
Jing'an defaults (``simulation/data/default.toml``) scaled to the place, so that the
first simulation is neither empty nor saturated. The scale is the district's size
against Jing'an's:

* with ``population``: residents / :data:`JINGAN_RESIDENTS` (the seed: about 1 M);
* otherwise: area / Jing'an's area (the sum of ``data/geo/jingan_subdistricts.csv``).

Scaled with it: ``demand.cases_per_day``; every crew's team count (Jing'an's total over
its 14 sub-districts, spread evenly over the new sub-districts, the remainder
district-wide); the work-order head counts; ``district.n_grids``. Everything else (the
case catalogue, work content, shifts, levers, dispatch) is the default's. The rules and
the figures they gave are returned as sentences and written as comments at the top of
the file, so a planner sees what was assumed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urbangrid.errors import InputError
from urbangrid.tables import table_text

from .scenario import Scenario, to_toml

__all__ = ["DRAIN_DAYS", "JINGAN_RESIDENTS", "Starter", "WARMUP_DAYS", "jingan_reference",
           "starter_scenario"]

#: Jing'an's residents (the seed: "~1 M residents").
JINGAN_RESIDENTS = 1_000_000
#: Warm-up and drain of ``scenarios/jingan_integrated.toml`` (CALIBRATION.md).
WARMUP_DAYS = 20.0
DRAIN_DAYS = 60.0


@dataclass(frozen=True)
class Starter:
    """A starter scenario, the sentences saying how each scaled figure was set, and the
    TOML text (those sentences as its leading comments)."""

    scenario: Scenario
    rules: list[str]

    def toml(self) -> str:
        head = ["# Starter scenario written by `urbangrid init`: the built-in Jing'an",
                "# defaults scaled to this district. What was scaled, and how:"]
        head += [f"#   {r}" for r in self.rules]
        head += ["# Everything else is the Jing'an default (simulation/data/default.toml).",
                 ""]
        return "\n".join(head) + "\n" + to_toml(self.scenario)


def jingan_reference() -> tuple[float, int]:
    """Jing'an's area (km²) and number of sub-districts, from the built-in table."""
    text, _ = table_text(None, "geo/jingan_subdistricts.csv", "sub-district table")
    rows = list(csv.DictReader(text.splitlines()))
    return sum(float(r["area_km2"]) for r in rows), len(rows)


def starter_scenario(*, name: str, boundary: str, area_km2: float, n_subdistricts: int,
                     population: float | None = None, weights_file: str | None = None,
                     weight: str = "w_area", code_column: str = "code",
                     name_column: str = "name", source_crs: str = "EPSG:4326",
                     resolution: int = 10) -> Starter:
    """The starter scenario of a district of ``area_km2`` with ``n_subdistricts``.

    Raises
    ------
    InputError
        A non-positive area or population, or no sub-district.
    """
    if not area_km2 > 0:
        raise InputError(f"the district's area is {area_km2} km²: nothing to simulate")
    if n_subdistricts < 1:
        raise InputError("the boundary file has no sub-district")
    if population is not None and not population > 0:
        raise InputError(f"--population {population:g}: give the number of residents (> 0)")
    base = Scenario()
    ref_area, ref_subs = jingan_reference()
    if population is not None:
        scale = population / JINGAN_RESIDENTS
        why = (f"scale {scale:.4g} = {population:,.0f} residents / Jing'an's "
               f"{JINGAN_RESIDENTS:,}")
    else:
        scale = area_km2 / ref_area
        why = (f"scale {scale:.4g} = {area_km2:.2f} km² / Jing'an's {ref_area:.1f} km² "
               "(no --population given: area stands for people)")
    rules = [why]
    changes: dict[str, Any] = {}

    cases = max(1.0, round(base.demand.cases_per_day * scale))
    changes["demand.cases_per_day"] = cases
    rules.append(f"demand.cases_per_day = {cases:,.0f} (Jing'an {base.demand.cases_per_day:,.0f}"
                 " × scale)")

    crews = []
    for c in base.crews:
        total_ref = c.per_subdistrict * ref_subs + c.district_wide
        total = max(1, round(total_ref * scale))
        each, rest = divmod(total, n_subdistricts)
        crews.append(c.model_copy(update={"per_subdistrict": each, "district_wide": rest,
                                          "split": "even"}).model_dump())
        rules.append(f"crews {c.name}: {total} teams (Jing'an {total_ref} × scale, at least "
                     f"1): {each} per sub-district + {rest} district-wide")
    changes["crews"] = crews

    staff = base.orders.staff
    for key in ("municipal", "hotline_office", "departments", "subdistricts"):
        ref = getattr(staff, key)
        low = n_subdistricts if key == "subdistricts" else 1
        got = max(low, round(ref * scale))
        changes[f"orders.staff.{key}"] = got
        rules.append(f"orders.staff.{key} = {got} (Jing'an {ref} × scale, at least {low})")

    # the built-in integrated scenario's window settings: its work orders need a
    # 20-day warm-up (MSER-5 on the backlog) and a drain that lets the window's orders
    # close, or the first run is censored
    changes.update({"run.warmup_days": WARMUP_DAYS, "run.drain_days": DRAIN_DAYS})
    rules.append(f"run.warmup_days = {WARMUP_DAYS:g}, run.drain_days = {DRAIN_DAYS:g} (the "
                 "built-in integrated scenario's: its work orders need them)")

    grids = max(1, round((base.district.n_grids or 1) * area_km2 / ref_area))
    rules.append(f"district.n_grids = {grids} (Jing'an {base.district.n_grids} × area / "
                 "Jing'an's area)")
    changes.update({
        "district.source": "files", "district.boundary": boundary,
        "district.code_column": code_column, "district.name_column": name_column,
        "district.source_crs": source_crs, "district.resolution": resolution,
        "district.n_grids": grids, "district.weights_file": weights_file,
        "district.weight": weight,
    })
    if weight != "w_area":
        rules.append(f"district.weight = {weight}: demand placed by that weight")
    ties = ("every cell ties (demand follows area)" if weight == "w_area"
            else "ties")
    rules.append(f"channels.iot.coverage = {base.channels.iot.coverage:g} of the cells: the "
                 f"densest first ({weight} per km²); {ties} placed at random from run.seed "
                 f"{base.run.seed}")
    return Starter(base.replace(changes, name=name,
                                description=f"starter scenario for {Path(boundary).name}"),
                   rules)
