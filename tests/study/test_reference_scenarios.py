"""The reference scenarios for dynamic policies (``make bench-policies``): each loads,
states its question, and differs from the integrated scenario only in what it says (the
stressed one: fewer crews of every skill, nothing else; the surge: one demand surge of
the field channels); a short run of the stressed one has the crews its file declares."""

import numpy as np
import pytest

from tests.shared import SCENARIOS
from urbangrid.simulation import build_space, load_scenario, simulate
from urbangrid.simulation.scenario import flatten, scenario_diff

INTEGRATED = SCENARIOS / "jingan_integrated.toml"
STRESSED = SCENARIOS / "reference_stressed.toml"
SURGE = SCENARIOS / "reference_surge.toml"


def _changed(path):
    diff = scenario_diff(load_scenario(INTEGRATED), load_scenario(path))
    return {k for k, _, _ in diff} - {"name", "description"}


def _teams_per_crew(scenario, n_sub: int) -> dict[str, int]:
    return {c.name: c.per_subdistrict * n_sub + c.district_wide for c in scenario.crews}


@pytest.mark.parametrize("path", [STRESSED, SURGE])
def test_a_reference_scenario_states_its_question_and_measurement(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Question"), f"{path.name} must open with its question"
    assert "Measured" in text  # the header gives the figures it was checked with
    assert load_scenario(path).name == path.stem


def test_the_stressed_scenario_only_cuts_crews_of_every_skill():
    changed = _changed(STRESSED)
    assert changed and all(k.startswith("crews") for k in changed), sorted(changed)
    base, stressed = load_scenario(INTEGRATED), load_scenario(STRESSED)
    # the same crews (names, skills, shifts, modes), every one smaller: demand, offices
    # and the dispatcher are the integrated centre's
    assert [(c.name, c.skills, c.shift, c.mode) for c in stressed.crews] == [
        (c.name, c.skills, c.shift, c.mode) for c in base.crews]
    n_sub = build_space(base.district).n_subdistricts
    before, after = _teams_per_crew(base, n_sub), _teams_per_crew(stressed, n_sub)
    skills = {s for c in base.crews for s in c.skills}
    for skill in skills:
        b = sum(before[c.name] for c in base.crews if skill in c.skills)
        a = sum(after[c.name] for c in stressed.crews if skill in c.skills)
        assert 0.4 * b < a < b, (skill, b, a)


def test_the_stressed_reoffer_twin_only_switches_reoffer_on():
    twin = SCENARIOS / "reference_stressed_reoffer.toml"
    assert twin.read_text(encoding="utf-8").startswith("# Question")
    x = flatten(load_scenario(STRESSED).to_dict())
    y = flatten(load_scenario(twin).to_dict())
    assert {k for k in x if x[k] != y[k]} - {"name", "description"} == {"dispatch.reoffer"}
    assert y["dispatch.reoffer"] is True


def test_the_surge_scenario_doubles_the_field_channels_inside_the_window():
    assert _changed(SURGE) <= {"demand.surges"}
    sc = load_scenario(SURGE)
    (s,) = sc.demand.surges
    assert s.factor == 2.0 and s.travel_factor == 1.0
    assert set(s.channels) == {"iot", "patrol", "other"}  # the offices' hotline is not
    assert sc.run.warmup_days <= s.start_day and s.start_day + s.days <= sc.run.warmup_days + 7


def test_a_short_run_of_the_stressed_scenario_has_its_crews():
    sc = load_scenario(STRESSED, {"run.days": 0.05, "run.warmup_days": 0.0,
                                  "run.drain_days": 0.0, "output.events": False})
    result = simulate(sc)
    n_sub = result.space.n_subdistricts
    want = _teams_per_crew(sc, n_sub)
    names = np.array(result.teams["name"])
    for crew in sc.crews:
        agency = crew.agency or crew.name
        same_agency = [c for c in sc.crews if (c.agency or c.name) == agency]
        assert (names == agency).sum() == sum(want[c.name] for c in same_agency), agency
    assert len(names) == sum(want.values())
