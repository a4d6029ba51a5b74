"""The KPIs by sub-district × channel and by department, keyed by names, in kpis.json,
comparison.json and report.html (urbangrid.study.tables; issue 18, reports a planner
reads)."""

import json
from types import SimpleNamespace

import pytest

from tests.toys import write_toy
from urbangrid.catalogue import CHANNELS
from urbangrid.cli import main
from urbangrid.organisations import load_departments
from urbangrid.simulation import Scenario, run_replications
from urbangrid.study import compare_scenarios, comparison_document, named_tables
from urbangrid.study.tables import subdistrict_names

TOY_SUBS = {"toy sub-district 0": "T00", "toy sub-district 1": "T01"}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """``urbangrid simulate`` of the toy file (one day, 2 replications)."""
    folder = tmp_path_factory.mktemp("simulate")
    out = folder / "out"
    assert main(["simulate", str(write_toy(folder, "toy")), "--out", str(out),
                 "--quiet"]) == 0
    return out, json.loads((out / "kpis.json").read_text(encoding="utf-8"))


def test_kpis_json_tables_are_keyed_by_names(toy_run):
    _, doc = toy_run
    subs = doc["subdistricts"]
    assert {k: v["code"] for k, v in subs.items()} == TOY_SUBS
    for row in subs.values():
        code = row["code"]
        assert row["all"] == doc["by_subdistrict"][code]
        assert set(CHANNELS) <= set(row)
        total = sum(row[ch]["cases_created"]["mean"] for ch in CHANNELS)
        assert total == pytest.approx(row["all"]["cases_created"]["mean"])
        assert row["all"]["cases_created"]["n"] == 2
        assert row["work_orders"] == doc["by_office"][f"subdistrict:{code}"]
    deps = load_departments()
    depts = doc["departments"]
    # names from the departments table, with the English name and code beside them
    assert "区绿化和市容管理局" in depts and "区城市管理行政执法局" in depts
    for name, row in depts.items():
        k = deps.code.index(row["code"])
        assert name == deps.name_zh[k] and row["name_en"] == deps.name_en[k]
        assert row["work_orders"] == doc["by_office"][row["code"]]
        assert row["crews"]["teams"]["mean"] > 0
    assert not set(depts) & set(deps.code)  # no bare codes as keys
    total = sum(r["cases"]["cases_created"]["mean"] for r in depts.values())
    assert total == pytest.approx(doc["kpis"]["cases_created"]["mean"])


def test_simulation_report_shows_the_named_tables(toy_run):
    out, doc = toy_run
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "Sub-districts × channels" in text and "<h2>Departments</h2>" in text
    for name in (*TOY_SUBS, "区房屋管理局", "Housing Administration Bureau",
                 "12345 municipal hotline", "toy sub-district 0 office"):
        assert name in text
    # the office table names offices instead of printing their codes
    assert ">subdistrict:T00<" not in text and ">municipal_12345<" not in text
    # a figure of the named table: the sub-district's hotline cases
    rec = doc["subdistricts"]["toy sub-district 1"]["hotline"]["cases_created"]
    assert f"{rec['mean']:,.0f}" in text


def test_jingan_tables_use_the_district_names():
    sc = Scenario().replace({"name": "jingan9", "district.resolution": 9, "run.days": 0.5,
                             "run.warmup_days": 0.25, "run.processes": 1,
                             "demand.cases_per_day": 400})
    summary = run_replications(sc, replications=1)
    tables = named_tables(summary.summary(), summary.first.space)
    subs = tables["subdistricts"]
    assert len(subs) == 14
    assert subs["南京西路街道"]["code"] == "310106012"
    assert subs["南京西路街道"]["name_en"] == "West Nanjing Road Subdistrict"
    assert subs["彭浦镇"]["name_en"] == "Pengpu Town"


def test_two_subdistricts_of_one_name_keep_their_rows():
    space = SimpleNamespace(sub_codes=["A1", "A2", "B"], sub_names=["Riverside",
                            "Riverside", ""], sub_names_en=[])
    assert subdistrict_names(space) == [("Riverside (A1)", "A1", ""),
                                        ("Riverside (A2)", "A2", ""), ("B (B)", "B", "")]


def test_comparison_json_and_report_by_name(tmp_path, toy):
    few = toy.replace({"crews.1.per_subdistrict": 1}, name="few")
    cmp = compare_scenarios([toy, few], replications=2)
    doc = comparison_document(cmp)
    for label in ("toy", "few"):
        assert {k: v["code"] for k, v in doc["subdistricts"][label].items()} == TOY_SUBS
        assert "区房屋管理局" in doc["departments"][label]
    assert set(doc["subdistrict_differences"]) == {"few"}
    diff = doc["subdistrict_differences"]["few"]["toy sub-district 0"]
    # common random numbers: the same cases arrive in each sub-district and channel
    for ch in ("all", *CHANNELS):
        assert diff[ch]["cases_created"]["mean"] == 0.0
    # the difference is the one the group table holds, under the name
    flat = doc["differences"]["few"]["subchannel:T00/hotline"]["handling_days_calendar_mean"]
    assert diff["hotline"]["handling_days_calendar_mean"] == flat
    # the city crews (city management, housing) are the ones cut: their departments'
    # teams fall, the others' do not
    dd = doc["department_differences"]["few"]
    assert dd["区房屋管理局"]["crews"]["teams"]["mean"] == -4.0
    assert dd["区城市管理行政执法局"]["crews"]["teams"]["mean"] == -4.0
    assert dd["区绿化和市容管理局"]["crews"]["teams"]["mean"] == 0.0
    from urbangrid.study import write_comparison_report

    text = write_comparison_report(tmp_path, doc, cmp.first).read_text(encoding="utf-8")
    assert "few against toy: <code>handling_days_calendar_mean</code>" in text
    assert "toy sub-district 1" in text and "区城市管理行政执法局" in text
    # same arrivals: baseline → scenario with a zero difference, greyed (CI contains 0)
    n = doc["subdistricts"]["toy"]["toy sub-district 0"]["all"]["cases_created"]["mean"]
    assert f'<td class="zero">{n:,.0f} → {n:,.0f} (+0)</td>' in text
