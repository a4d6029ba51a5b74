"""scenario diff and decompose: resolved differences and lever-by-lever attribution."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.shared import SCENARIOS
from tests.toys import toy_scenario, write_toy
from urbangrid import cli
from urbangrid.errors import InputError
from urbangrid.simulation import load_scenario
from urbangrid.study.decompose import decompose, levers_between, scenario_diff


def test_diff_of_the_jingan_pair_changes_levers_not_work_content():
    legacy = load_scenario(SCENARIOS / "jingan_legacy.toml")
    integ = load_scenario(SCENARIOS / "jingan_integrated.toml")
    keys = {k for k, _, _ in scenario_diff(legacy, integ)}
    orders = {k for k in keys if k.startswith("orders.")}
    assert orders == {"orders.dispatch_hours", "orders.route",
                      "orders.correct_dispatch_prob", "orders.supervision"}
    levers = levers_between(legacy, integ)
    assert "24/7 operations centre" in levers and "run.drain_days" not in str(levers)


def test_diff_command_prints_one_line_per_key(tmp_path, capsys):
    a = write_toy(tmp_path, "a")
    b = write_toy(tmp_path, "b", extra='[orders]\nroute = "hierarchical"\n')
    assert cli.main(["scenario", "diff", str(a), str(b)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert 'orders.route: "direct" -> "hierarchical"' in out
    assert 'name: "a" -> "b"' in out


def _pair():
    base = {"run.days": 1, "run.drain_days": 15, "run.replications": 2,
            "orders.types": {"help": {"share": 1.0, "limit_working_days": 3,
                                      "work_hours": 0.5, "field_prob": 0.5}}}
    before = toy_scenario(**base, **{
        "orders.dispatch_hours": "office", "orders.route": "hierarchical",
        "orders.supervision": "ranking", "orders.correct_dispatch_prob": 0.7})
    after = toy_scenario(**base)
    return before, after


def test_contributions_add_up_to_the_total_and_follow_the_lever():
    before, after = _pair()
    res = decompose(before, after, kpi="hotline.handling_days_calendar_mean",
                    replications=2, processes=1)
    doc = res.document()
    assert [lv["name"] for lv in doc["levers"]] == [
        "24/7 operations centre", "direct dispatch to the unit", "right unit first time",
        "live deadline supervision"]
    assert sum(lv["contribution"] for lv in doc["levers"]) == pytest.approx(doc["total"])
    assert doc["total"] == pytest.approx(doc["after"] - doc["before"])
    assert doc["total"] < 0  # the reform's levers shorten the orders
    assert res.runs == 1 + 2 * (len(doc["levers"]) - 1) + 1  # forward and reverse paths
    # exact Shapley values add up too, with 2^k scenarios
    ex = decompose(before, after, kpi="hotline.handling_days_calendar_mean",
                   replications=2, exact=True, processes=1)
    assert ex.runs == 2 ** len(doc["levers"])
    assert sum(ex.document()["levers"][i]["contribution"] for i in range(4)) == \
        pytest.approx(ex.document()["total"])
    # common random numbers: the two extremes are the same runs both ways
    assert ex.before == pytest.approx(res.before) and ex.after == pytest.approx(res.after)


def test_decompose_command_writes_json_and_report(tmp_path):
    a = write_toy(tmp_path, "before", extra='[orders]\nroute = "hierarchical"\n'
                  'dispatch_hours = "office"\n')
    b = write_toy(tmp_path, "after")
    out = tmp_path / "dec"
    assert cli.main(["decompose", str(a), str(b), "--replications", "2", "--processes", "1",
                     "--set", "run.drain_days=10", "--out", str(out), "--quiet"]) == 0
    doc = json.loads((out / "decomposition.json").read_text())
    assert {"kpi", "total", "levers"} <= doc.keys()
    assert np.isclose(sum(lv["contribution"] for lv in doc["levers"]), doc["total"])
    assert all({"name", "contribution", "ci95"} <= lv.keys() for lv in doc["levers"])
    assert "<img" in (out / "report.html").read_text()


def test_bad_kpi_and_identical_scenarios_are_input_errors(tmp_path):
    before, after = _pair()
    with pytest.raises(InputError, match="GROUP.NAME"):
        decompose(before, after, kpi="handling", replications=1)
    with pytest.raises(InputError, match="no lever"):
        decompose(after, after, kpi="all.backlog_mean", replications=1)
