"""The sub-district × channel and per-department groups of compute_kpis (issue 18: the
reports' tables by place and by department read them)."""

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.catalogue import CHANNELS
from urbangrid.organisations import load_departments
from urbangrid.simulation import case_table, compute_kpis, simulate
from urbangrid.simulation.kpis import (
    DEPARTMENT_PREFIX,
    SUBDISTRICT_CHANNEL_PREFIX,
    category_departments,
)


@pytest.fixture(scope="module")
def run():
    res = simulate(toy_scenario(), seed=3, replication=0)
    return res, compute_kpis(res), case_table(res)


def test_subdistrict_channel_groups_match_the_case_table(run):
    res, k, df = run
    win = df[df["in_stats_window"]]
    sub = res.space.subdistrict[win["cell"].to_numpy()]
    for s, code in enumerate(res.space.sub_codes):
        for ch in CHANNELS:
            g = k[f"{SUBDISTRICT_CHANNEL_PREFIX}{code}/{ch}"]
            sel = win[(sub == s) & (win["channel"] == ch).to_numpy()]
            assert g["cases_created"] == len(sel)
            closed = sel[sel["state"] == "closed"]["handling_days_calendar"]
            if len(closed):
                assert g["handling_days_calendar_mean"] == pytest.approx(closed.mean())
            else:
                assert np.isnan(g["handling_days_calendar_mean"])
        # the channels of a sub-district add up to the sub-district
        assert sum(k[f"{SUBDISTRICT_CHANNEL_PREFIX}{code}/{ch}"]["cases_closed"]
                   for ch in CHANNELS) == k[f"sub:{code}"]["cases_closed"]


def test_department_groups_hold_the_categories_they_own(run):
    res, k, df = run
    owner = category_departments(res.catalogue, load_departments())
    win = df[df["in_stats_window"]]
    codes = [g.removeprefix(DEPARTMENT_PREFIX) for g in k if g.startswith(DEPARTMENT_PREFIX)]
    assert sorted(codes) == sorted(set(owner))
    assert "greening_cityscape" in codes  # sanitation and greenery
    cat_owner = dict(zip(res.catalogue.code, owner, strict=True))
    for code in codes:
        mine = win[win["service_code"].astype(str).map(cat_owner) == code]
        assert k[DEPARTMENT_PREFIX + code]["cases_created"] == len(mine)
    # teams holding one of its skills: the toy's sanitation crews (2 per sub-district)
    # and the district-wide works crews (greenery)
    g = k[DEPARTMENT_PREFIX + "greening_cityscape"]
    assert g["teams"] == 2 * 2 + 2
    assert 0.0 < g["crew_utilisation_mean"] < 1.0
