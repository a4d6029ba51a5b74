"""Shared fixtures: tiny toy-district scenarios that run in well under a second."""

from pathlib import Path

from urbangrid.simulation import Scenario

DATA = Path(__file__).parent / "data"


def toy_scenario(**overrides) -> Scenario:
    """A 4 × 4 toy district, 300 cases/day, a few crews; ``overrides`` are dotted paths."""
    base = {
        "name": "toy",
        "run.days": 2, "run.warmup_days": 0.5, "run.processes": 1,
        "district.source": "toy", "district.toy_rows": 4, "district.toy_cols": 4,
        "district.toy_subdistricts": 2,
        "demand.cases_per_day": 300,
        "crews": [
            {"name": "sanitation", "skills": ["sanitation"], "per_subdistrict": 2},
            {"name": "city", "skills": ["city_management", "housing"], "per_subdistrict": 3,
             "shift": "day"},
            {"name": "works", "skills": ["facilities", "greenery", "utilities"],
             "district_wide": 2, "mode": "car"},
        ],
    }
    base.update(overrides)
    return Scenario().replace(base)


def mmc_scenario(c: int, lam_per_h: float, days: float, warmup: float) -> Scenario:
    """One cell, one category with exponential work (mean 30 min), ``c`` identical
    always-on teams of capacity 1, no delays or loops: an M/M/c queue."""
    return Scenario().replace({
        "name": "mmc",
        "run.days": days, "run.warmup_days": warmup, "run.processes": 1,
        "district.source": "toy", "district.toy_rows": 1, "district.toy_cols": 1,
        "district.toy_subdistricts": 1,
        "demand.cases_per_day": lam_per_h * 24, "demand.event_share": None,
        "demand.hour_of_day": [1.0] * 24, "demand.day_of_week": [1.0] * 7,
        "channels.iot.share": 0.0, "channels.patrol.share": 0.0,
        "channels.hotline.share": 0.0, "channels.other.share": 1.0,
        "catalogue.file": str(DATA / "mmc_catalogue.csv"),
        "crews": [{"name": "server", "skills": ["service"], "district_wide": c,
                   "capacity": 1, "shift": "always"}],
        "workflow.register_mean_min_urgent": 0.0, "workflow.register_mean_min_normal": 0.0,
        "workflow.sign_mean_min": 0.0, "workflow.misroute_prob": 0.0,
        "workflow.feedback_mean_min": 0.0, "workflow.rework_prob": 0.0,
        "inspectors.verify_delay_min": 0.0, "inspectors.shift": "always",
        "dispatch.on_events": "all", "dispatch.interval_s": 86400.0,
        "dispatch.batch_per_slot": 1,
    })
