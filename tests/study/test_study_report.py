"""Figures and the self-contained HTML report (urbangrid.study.report, .figures, .html)."""

import base64
import re

import numpy as np
import pytest

from urbangrid.simulation import case_table, kpis_document, run_replications
from urbangrid.study import (
    cell_metrics,
    compare_scenarios,
    comparison_document,
    subdistrict_outlines,
    write_comparison_report,
    write_simulation_report,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def jingan_run():
    """Jing'an at H3 resolution 9 (456 cells), a short low-volume day."""
    from urbangrid.simulation import Scenario

    sc = Scenario().replace({"name": "jingan9", "district.resolution": 9, "run.days": 1,
                             "run.warmup_days": 0.5, "run.processes": 1,
                             "demand.cases_per_day": 800})
    summary = run_replications(sc, replications=2)
    return summary.first, kpis_document(sc, sc.run.seed, summary)


def _embedded_pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in
            re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_cell_metrics_agree_with_the_case_table(toy):
    res = run_replications(toy, replications=1).first
    m = cell_metrics(res)
    df = case_table(res)
    win = df[df["in_stats_window"] & (df["state"] != "invalid")]
    counts = win.groupby("cell").size().reindex(range(res.space.n_cells), fill_value=0)
    np.testing.assert_array_equal(m["cases"], counts.to_numpy())
    closed = win[win["state"] == "closed"]
    mean = closed.groupby("cell")["handling_days_calendar"].mean().reindex(
        range(res.space.n_cells))
    np.testing.assert_allclose(m["handling_days_mean"], mean.to_numpy(), equal_nan=True)
    days = (res.t_end - res.t_stats) / 86400.0
    np.testing.assert_allclose(m["cases_per_day"] * days, m["cases"])


def test_simulation_report_is_self_contained(tmp_path, jingan_run):
    res, doc = jingan_run
    path = write_simulation_report(tmp_path, res, doc)
    assert path == tmp_path / "report.html"
    names = ("map.png", "waiting.png", "timeline.png", "backlog.png", "handling_cdf.png")
    for name in names:
        assert (tmp_path / name).read_bytes().startswith(PNG)
    text = path.read_text(encoding="utf-8")
    images = _embedded_pngs(text)
    assert len(images) == len(names) and all(i.startswith(PNG) for i in images)
    assert images[0] == (tmp_path / "map.png").read_bytes()
    # Opens offline: no external resources of any kind.
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "http" not in text.replace("data:image", "")
    # The KPI table shows the document's values with their intervals.
    k = doc["kpis"]["handling_days_calendar_mean"]
    assert f"{k['mean']:.2f}" in text and f"± {k['ci95']:.2f}" in text
    assert f"{doc['kpis']['cases_created']['mean']:,.0f}" in text


def test_subdistrict_outlines_cover_every_subdistrict(jingan_run):
    res, _ = jingan_run
    rings = subdistrict_outlines(res.space)
    assert len(rings) >= res.space.n_subdistricts
    for ring in rings:
        assert np.allclose(ring[0], ring[-1])  # closed
        assert 121.3 < ring[:, 0].mean() < 121.6 and 31.1 < ring[:, 1].mean() < 31.4


def test_toy_district_map_without_h3(tmp_path, toy):
    res = run_replications(toy, replications=1).first
    assert not any(res.space.h3)
    path = write_simulation_report(tmp_path, res, {"kpis": {}, "by_channel": {}})
    assert (tmp_path / "map.png").read_bytes().startswith(PNG)
    assert "<table>" in path.read_text(encoding="utf-8")


def test_comparison_report(tmp_path, toy):
    few = toy.replace({"crews.1.per_subdistrict": 1}, name="few")
    cmp = compare_scenarios([toy, few], replications=2)
    doc = comparison_document(cmp)
    path = write_comparison_report(tmp_path, doc, cmp.first)
    names = {"differences.png", "backlog.png", "handling_cdf.png", "map_toy.png",
             "map_few.png", "waiting_toy.png", "waiting_few.png", "timeline_toy.png",
             "timeline_few.png"}
    assert names <= {p.name for p in tmp_path.iterdir()}
    text = path.read_text(encoding="utf-8")
    assert len(_embedded_pngs(text)) == len(names)
    assert "few − toy" in text
    # the question next to the answer: the resolved setting that differs, by crew name
    crew = toy.crews[1].name
    assert doc["settings_differ"]["few"] == [
        {"key": f"crews.{crew}.per_subdistrict", "baseline": toy.crews[1].per_subdistrict,
         "value": 1}]
    assert "What differs from toy" in text and f"crews.{crew}.per_subdistrict" in text
    # and what each KPI counts, from the KPI module's definitions
    assert "KPI definitions" in text and "Resolved / (closed + parked)." in text
    # Identical arrivals: the cases_created difference is exactly 0 and flagged.
    rec = doc["differences"]["few"]["all"]["cases_created"]
    assert rec["mean"] == 0.0 and rec["crosses_zero"] is True
    assert "CI crosses 0" in text
    # Without the runs' records only tables and the difference figure are written.
    other = tmp_path / "tables_only"
    other.mkdir()
    write_comparison_report(other, doc, {})
    assert {p.name for p in other.iterdir()} == {"differences.png", "report.html"}
