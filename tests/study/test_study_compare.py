"""Paired comparisons under common random numbers (urbangrid.study.compare)."""

import json
import math

import numpy as np
import pytest

from urbangrid.errors import InputError
from urbangrid.simulation import t_interval
from urbangrid.study import compare_scenarios, comparison_document, paired_differences


def _rec(**values):
    return {"all": dict(values)}


def test_paired_differences_are_per_replication_t_intervals():
    base = [_rec(x=1.0, y=5.0), _rec(x=2.0, y=5.0), _rec(x=4.0, y=5.0)]
    other = [_rec(x=2.0, y=5.1), _rec(x=3.5, y=4.8), _rec(x=5.0, y=5.0)]
    d = paired_differences(base, other)["all"]
    mean, half, n = t_interval([1.0, 1.5, 1.0])
    assert d["x"]["mean"] == pytest.approx(mean)
    assert d["x"]["ci95"] == pytest.approx(half)
    assert d["x"]["n"] == n == 3
    # x: differences 1, 1.5, 1 -> interval well away from 0
    assert d["x"]["crosses_zero"] is False
    # y: differences 0.1, -0.2, 0 -> interval contains 0
    assert d["y"]["crosses_zero"] is True


def test_paired_differences_skip_nan_pairs_and_need_equal_lengths():
    base = [_rec(x=1.0), _rec(x=float("nan")), _rec(x=2.0)]
    other = [_rec(x=2.0), _rec(x=3.0), _rec(x=2.5)]
    d = paired_differences(base, other)["all"]["x"]
    assert d["n"] == 2
    assert d["mean"] == pytest.approx(0.75)
    one = paired_differences(base[:1], other[:1])["all"]["x"]
    assert one["n"] == 1 and math.isnan(one["ci95"]) and one["crosses_zero"] is None
    with pytest.raises(ValueError, match="equal replications"):
        paired_differences(base, other[:2])


def test_same_scenario_twice_gives_exact_zero_differences(toy):
    cmp = compare_scenarios([toy, toy], replications=2, keep_first=False)
    assert cmp.names == ["toy#1", "toy#2"]
    a, b = (cmp.per_replication[n] for n in cmp.names)
    assert json.dumps(a) == json.dumps(b)  # NaN-aware equality of every KPI
    diffs = cmp.differences()["toy#2"]
    for group in diffs.values():
        for rec in group.values():
            if rec["n"]:
                assert rec["mean"] == 0.0


def test_common_random_numbers_across_policies(toy):
    mcf = toy.replace({"dispatch.policy": "mcf"}, name="toy_mcf")
    cmp = compare_scenarios([toy, mcf], replications=3)
    # Same arrivals in every replication: the number of cases is identical pairwise ...
    for r in range(3):
        assert (cmp.per_replication["toy"][r]["all"]["cases_created"]
                == cmp.per_replication["toy_mcf"][r]["all"]["cases_created"])
    first_a, first_b = cmp.first["toy"], cmp.first["toy_mcf"]
    np.testing.assert_array_equal(first_a.cases["t_report"], first_b.cases["t_report"])
    np.testing.assert_array_equal(first_a.cases["category"], first_b.cases["category"])
    # ... but replications differ from one another (independent streams).
    created = [r["all"]["cases_created"] for r in cmp.per_replication["toy"]]
    assert len(set(created)) > 1
    # The paired mean is the mean of the per-replication differences.
    d = cmp.differences()["toy_mcf"]["all"]["handling_days_calendar_mean"]
    per = [b["all"]["handling_days_calendar_mean"] - a["all"]["handling_days_calendar_mean"]
           for a, b in zip(cmp.per_replication["toy"], cmp.per_replication["toy_mcf"],
                           strict=True)]
    assert d["mean"] == pytest.approx(np.mean(per))
    assert cmp.differences()["toy_mcf"]["all"]["cases_created"]["mean"] == 0.0


def test_common_values_are_applied_to_every_scenario(toy):
    other = toy.replace({"run.days": 3, "run.seed": 7}, name="other")
    cmp = compare_scenarios([toy, other], replications=2, seed=11, days=0.5,
                            keep_first=False)
    for sc in cmp.scenarios:
        assert (sc.run.days, sc.run.seed, sc.run.replications) == (0.5, 11, 2)
    assert cmp.seed == 11


def test_comparison_document_is_strict_json(toy):
    cmp = compare_scenarios([toy, toy.replace({"inspectors.per_grid": 1.0}, name="few")],
                            replications=2, keep_first=False)
    doc = comparison_document(cmp)
    text = json.dumps(doc, allow_nan=False)
    back = json.loads(text)
    assert back["baseline"] == "toy"
    assert set(back["kpis"]) == {"toy", "few"}
    assert set(back["differences"]) == {"few"}
    rec = back["differences"]["few"]["hotline"]["handling_days_calendar_mean"]
    assert set(rec) == {"mean", "ci95", "n", "crosses_zero"}
    assert back["scenarios"]["few"]["inspectors"]["per_grid"] == 1.0


@pytest.mark.parametrize("kw, match", [
    ({"replications": 1}, "at least 2 replications"),
])
def test_compare_rejects_bad_arguments(toy, kw, match):
    with pytest.raises(InputError, match=match):
        compare_scenarios([toy, toy], **kw)
    with pytest.raises(InputError, match="at least two"):
        compare_scenarios([toy], replications=2)


def test_three_scenarios_differ_against_the_first(toy):
    b = toy.replace({"crews.0.per_subdistrict": 1}, name="b")
    c = toy.replace({"dispatch.policy": "greedy"}, name="c")
    cmp = compare_scenarios([toy, b, c], replications=2, keep_first=False)
    assert cmp.baseline == "toy" and cmp.names == ["toy", "b", "c"]
    d = cmp.differences()
    assert set(d) == {"b", "c"}
    x = [r["all"]["backlog_mean"] for r in cmp.per_replication["b"]]
    y = [r["all"]["backlog_mean"] for r in cmp.per_replication["toy"]]
    assert d["b"]["all"]["backlog_mean"]["mean"] == pytest.approx(np.mean(np.subtract(x, y)))
    # Fewer sanitation crews leave more cases open.
    assert d["b"]["all"]["backlog_mean"]["mean"] > 0


def test_paired_differences_leave_out_groups_the_other_scenario_lacks():
    # two districts with different sub-districts: the baseline's own groups get n = 0
    base = [{"all": {"x": 1.0}, "sub:A": {"x": 2.0}} for _ in range(3)]
    other = [{"all": {"x": 1.5}} for _ in range(3)]
    d = paired_differences(base, other)
    assert d["all"]["x"]["mean"] == 0.5 and d["all"]["x"]["n"] == 3
    assert d["sub:A"]["x"]["n"] == 0
