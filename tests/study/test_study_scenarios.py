"""The scenario library: every file loads, and each what-if changes only what it says."""

import tomllib

import pytest

from tests.shared import SCENARIOS
from urbangrid.simulation import load_scenario
from urbangrid.simulation.scenario import flatten

# What-if file -> the scenario keys (dotted prefixes) it may change relative to the
# integrated scenario, besides name and description.
WHATIFS = {
    "whatif_typhoon.toml": ["demand.surges"],
    "whatif_iot_coverage_30.toml": ["channels.iot.coverage"],
    "whatif_iot_coverage_80.toml": ["channels.iot.coverage"],
    "whatif_inspectors_minus20.toml": ["inspectors.per_grid"],
    "whatif_sanitation_day_only.toml": ["crews"],
    "whatif_sanitation_night_shift.toml": ["crews"],
    "whatif_dispatch_nearest.toml": ["dispatch.policy"],
    "whatif_dispatch_mcf.toml": ["dispatch.policy"],
    "whatif_dispatch_reoffer.toml": ["dispatch.reoffer"],
    "whatif_workstation_pengpu.toml": ["workstations"],
    "whatif_hotline_double.toml": ["demand.cases_per_day", "channels.iot.share",
                                   "channels.patrol.share", "channels.hotline.share",
                                   "channels.other.share"],
    "whatif_department_staff_plus20.toml": ["orders.staff.scale"],
    "whatif_joint_crews.toml": ["dispatch.policy", "catalogue.overrides.fallen_tree.crews",
                                "catalogue.overrides.road_flooding.crews",
                                "catalogue.overrides.housing_facade.crews"],
}


def _grid_files():
    # services-hall scenarios ([hall] table) are the hall's; tests/hall loads them
    return [f for f in sorted(SCENARIOS.glob("*.toml"))
            if "hall" not in tomllib.loads(f.read_text(encoding="utf-8"))]


def test_every_scenario_file_loads():
    files = _grid_files()
    assert {"jingan_integrated.toml", "jingan_legacy.toml", *WHATIFS} <= {f.name for f in files}
    for f in files:
        sc = load_scenario(f)
        assert sc.name == f.stem, f"{f.name}: name should match the file name"


def test_whatif_list_is_complete():
    assert {f.name for f in SCENARIOS.glob("whatif_*.toml")} == set(WHATIFS)


@pytest.mark.parametrize("name", sorted(WHATIFS))
def test_whatif_states_its_question_and_changes_only_its_keys(name):
    path = SCENARIOS / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Question"), f"{name} must open with the question it answers"
    assert "Compare: urbangrid compare" in text
    tomllib.loads(text)
    base = flatten(load_scenario(SCENARIOS / "jingan_integrated.toml").to_dict())
    what = flatten(load_scenario(path).to_dict())
    changed = {k for k in base.keys() | what.keys() if base.get(k) != what.get(k)}
    changed -= {"name", "description"}
    allowed = WHATIFS[name]
    stray = sorted(k for k in changed if not any(k == a or k.startswith(a + ".")
                                                 for a in allowed))
    assert not stray, f"{name} differs from jingan_integrated.toml in {stray}"
    # The mcf file pins the pair's policy, which the integrated scenario shares; every
    # other what-if must change something.
    assert changed or name == "whatif_dispatch_mcf.toml", f"{name} changes nothing"
    assert base["dispatch.policy"] == "mcf"  # issue 5: the integrated centre uses mcf


def test_pairs_differ_only_in_their_knob():
    for a, b, key in [("whatif_dispatch_nearest.toml", "whatif_dispatch_mcf.toml",
                       "dispatch.policy"),
                      ("whatif_iot_coverage_30.toml", "whatif_iot_coverage_80.toml",
                       "channels.iot.coverage")]:
        x = flatten(load_scenario(SCENARIOS / a).to_dict())
        y = flatten(load_scenario(SCENARIOS / b).to_dict())
        assert {k for k in x if x[k] != y[k]} - {"name", "description"} == {key}


def test_typhoon_and_staffing_values():
    t = load_scenario(SCENARIOS / "whatif_typhoon.toml")
    (s,) = t.demand.surges
    assert (s.factor, s.days) == (3.0, 2.0) and s.travel_factor > 1.0
    assert s.start_day >= t.run.warmup_days  # the surge falls in the statistics window
    i = load_scenario(SCENARIOS / "whatif_inspectors_minus20.toml").inspectors
    assert i.per_grid == pytest.approx(0.8 * i.nominal_per_grid)
    night = load_scenario(SCENARIOS / "whatif_sanitation_night_shift.toml")
    day = load_scenario(SCENARIOS / "whatif_sanitation_day_only.toml")
    assert [c.name for c in night.crews] == ["sanitation", "sanitation_night",
                                             *[c.name for c in day.crews[1:]]]
    assert night.crews[1].shift == "night" and day.crews[0].shift == "day"


def test_legacy_scenario_is_the_pre_reform_process():
    legacy = load_scenario(SCENARIOS / "jingan_legacy.toml")
    integrated = load_scenario(SCENARIOS / "jingan_integrated.toml")
    assert legacy.workflow.process == "legacy"
    assert len(legacy.workflow.forwarding_hours) == 2  # district -> sub-district -> unit
    assert legacy.dispatch.policy == "legacy" and legacy.dispatch.area_bound
    assert legacy.channels.iot.coverage < integrated.channels.iot.coverage
    # Same calendar window and seed, so the pair compares under common random numbers.
    assert (legacy.run.start, legacy.run.seed, legacy.run.days) == \
        (integrated.run.start, integrated.run.seed, integrated.run.days)
    office = [c for c in legacy.crews if legacy.shifts[c.shift].days == "working"]
    assert office, "pre-reform crews work office hours"


@pytest.mark.parametrize("name", ["jingan_legacy.toml", *sorted(WHATIFS)])
def test_scenario_runs_on_a_toy_district(name):
    from urbangrid.simulation import compute_kpis, simulate

    sc = load_scenario(SCENARIOS / name, {
        "district.source": "toy", "run.days": 0.5, "run.warmup_days": 0.25,
        "demand.cases_per_day": 200})
    if sc.workstations:  # Jing'an sub-district codes: place them in a toy sub-district
        sc = sc.replace({"workstations": [{**w.model_dump(), "subdistrict": "T00",
                                           "location": None} for w in sc.workstations]})
    k = compute_kpis(simulate(sc))["all"]
    assert k["cases_created"] > 0
    assert k["cases_closed"] + k["cases_parked"] + k["cases_open_end"] + \
        k["cases_invalid"] == k["cases_created"]


def test_study_functions_are_reexported_by_the_package():
    import urbangrid.study as study
    from urbangrid.study import compare, report, sweep

    for mod, names in [(compare, ["compare_scenarios", "Comparison", "comparison_document",
                                  "paired_differences"]),
                       (report, ["write_simulation_report", "write_comparison_report"]),
                       (sweep, ["run_sweep", "parse_grid", "plan_sweep", "SweepPlan"])]:
        for n in names:
            assert n in study.__all__ and getattr(study, n) is getattr(mod, n), n


def test_the_workstation_whatif_adds_its_teams_in_pengpu():
    from urbangrid.catalogue import load_catalogue
    from urbangrid.simulation.run import build_teams, make_calendar
    from urbangrid.simulation.space import build_space

    base = load_scenario(SCENARIOS / "jingan_integrated.toml", {"district.resolution": 9})
    what = load_scenario(SCENARIOS / "whatif_workstation_pengpu.toml",
                         {"district.resolution": 9})
    space = build_space(what.district)
    cat = load_catalogue(what.catalogue.file, what.catalogue.overrides)
    cal = make_calendar(what)
    a = build_teams(base, space, cat, cal)
    b = build_teams(what, space, cat, cal)
    k = space.sub_codes.index("310106100")
    assert space.sub_names[k] == "彭浦镇"
    assert (b["area"] == k).sum() - (a["area"] == k).sum() == 7
    assert b["area"].size - a["area"].size == 7


def test_the_iot_lever_ladder_builds_from_the_integrated_file():
    from benchmarks.iot_levers import steps

    plan = steps()
    first, last = plan[0][1], plan[-1][1]
    full = load_scenario(SCENARIOS / "jingan_integrated.toml")
    assert last.to_dict() | {"name": full.name} == full.to_dict()
    assert not first.channels.iot.fast_lane.enabled and not first.catalogue.overrides
    assert len({s.to_dict().__repr__() for _, s in plan}) == len(plan)  # every step differs
