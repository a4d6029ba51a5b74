"""The hall scenario library: every file loads and states its question, and the
what-ifs move the KPIs the expected way (short runs under common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.shared import SCENARIOS
from urbangrid.hall.kpis import run_hall_replications
from urbangrid.hall.model import build_plan
from urbangrid.hall.scenario import is_hall_scenario, load_hall_scenario

BASE = "jingan_services_hall.toml"
WHATIFS = ("hall_whatif_comprehensive_windows.toml", "hall_whatif_online_plus30.toml",
           "hall_whatif_no_application_50.toml", "hall_whatif_remote_checks.toml")
SHORT = {"run.days": 2, "run.warmup_days": 1, "run.drain_days": 4, "run.processes": 1,
         "hall.subdistrict.centres": 2}


def test_hall_files_load_and_state_their_question():
    files = sorted(f.name for f in SCENARIOS.glob("*.toml") if is_hall_scenario(f))
    assert set(files) == {BASE, *WHATIFS}
    for name in files:
        sc = load_hall_scenario(SCENARIOS / name)
        assert sc.name == name.removesuffix(".toml")
        plan = build_plan(sc)
        assert plan.matters.n == 564 and len(plan.departments) == 29
    for name in WHATIFS:
        text = (SCENARIOS / name).read_text(encoding="utf-8")
        assert text.startswith("# Question") and "Compare: urbangrid compare" in text


@pytest.fixture(scope="module")
def base_kpis():
    return _kpis(BASE)


def _kpis(name):
    sc = load_hall_scenario(SCENARIOS / name, SHORT)
    per_rep, _ = run_hall_replications(sc, replications=2, seed=9, processes=1)
    return {k: float(np.mean([r["all"][k] for r in per_rep])) for k in per_rep[0]["all"]}


def test_online_plus30_moves_requests_online(base_kpis):
    k = _kpis("hall_whatif_online_plus30.toml")
    assert k["online_share"] > base_kpis["online_share"]
    assert k["requests_per_day"] < base_kpis["requests_per_day"]


def test_no_application_50_cuts_trips(base_kpis):
    k = _kpis("hall_whatif_no_application_50.toml")
    assert k["trips_per_matter_mean"] < base_kpis["trips_per_matter_mean"]
    assert k["requests_per_day"] < base_kpis["requests_per_day"]


def test_remote_checks_cut_trips(base_kpis):
    k = _kpis("hall_whatif_remote_checks.toml")
    assert k["trips_per_matter_mean"] < base_kpis["trips_per_matter_mean"]
    assert k["trips_over_one_share"] < base_kpis["trips_over_one_share"]


def test_comprehensive_windows_are_busier(base_kpis):
    # the same requests at slower generalist windows: more busy time on the same windows
    k = _kpis("hall_whatif_comprehensive_windows.toml")
    assert k["counter_utilisation"] > base_kpis["counter_utilisation"]
