"""Counter staffing: shift patterns, and a schedule that meets its target."""

from __future__ import annotations

import json

from tests.hall.hall_helpers import toy_hall, toy_toml
from urbangrid.cli import main
from urbangrid.hall.staffing import _covers, _paid, _patterns, staff_hall


def test_patterns_have_breaks_and_fit_the_day():
    s0, e0 = 9 * 3600.0, 17 * 3600.0
    pats = _patterns((s0, e0))
    assert all(s0 <= a and b <= e0 for a, b, _ in pats)
    eight = [p for p in pats if p[1] - p[0] == 8 * 3600]
    assert eight and all(p[2] is not None and _paid(p) == 7 for p in eight)
    cov = _covers(eight[0], s0, 8, e0)
    assert cov.sum() == 7
    four = [p for p in pats if p[1] - p[0] == 4 * 3600]
    assert all(p[2] is None and _paid(p) == 4 for p in four)


def test_staffing_meets_the_target_with_fewer_counter_hours():
    sc = toy_hall(**{"hall.counters": [{"name": "comprehensive", "count": 8,
                                         "skills": ["*"]}]})
    res = staff_hall(sc, 15.0, replications=2, seed=1, processes=1)
    assert res.p90_wait_min <= 15.0
    assert res.counter_hours <= res.baseline_counter_hours == 64
    assert sum(r["counters"] * r["paid_hours"] for r in res.schedule) == res.counter_hours
    # every hour has at least the requirement staffed
    for g, req in res.requirement.items():
        assert all(s >= r for s, r in zip(res.staffed[g], req, strict=True))


def test_staff_command_writes_json_and_chart(tmp_path):
    sc = toy_toml(tmp_path / "toy.toml")
    out = tmp_path / "s"
    assert main(["hall", "staff", str(sc), "--target-wait-min", "20", "--out", str(out),
                 "--replications", "2", "--quiet"]) == 0
    doc = json.loads((out / "staffing.json").read_text(encoding="utf-8"))
    assert {"counter_hours", "baseline_counter_hours", "p90_wait_min", "schedule"} <= set(doc)
    assert doc["p90_wait_min"] <= 20
    assert (out / "staffing.png").stat().st_size > 1000


def test_strict_staffing_keeps_the_whole_interval_under_the_target():
    sc = toy_hall(**{"run.days": 5, "hall.counters": [{"name": "comprehensive",
                                                        "count": 10, "skills": ["*"]}]})
    res = staff_hall(sc, 20.0, replications=4, seed=1, processes=1, strict=True)
    assert res.strict and res.p90_wait_min + res.p90_wait_ci95 <= 20.0


def test_shift_rules_come_from_the_scenario():
    from urbangrid.hall.scenario import StaffingConfig

    pats = _patterns((9 * 3600.0, 17 * 3600.0),
                     StaffingConfig(shift_hours=[8], break_from_hours=9))
    assert pats == [(9 * 3600.0, 17 * 3600.0, None)]
    pats = _patterns((9 * 3600.0, 17 * 3600.0),
                     StaffingConfig(shift_hours=[5], break_from_hours=5,
                                    break_after_hours=[2]))
    assert all(p[2] == p[0] + 2 * 3600.0 for p in pats) and len(pats) == 4


def test_per_hour_staffing_meets_the_target_in_every_hour():
    sc = toy_hall(**{"run.days": 5, "hall.counters": [{"name": "comprehensive",
                                                        "count": 10, "skills": ["*"]}]})
    res = staff_hall(sc, 20.0, replications=3, seed=2, processes=1, per_hour=True)
    assert res.per_hour and res.worst_hour_p90_wait_min <= 20.0
