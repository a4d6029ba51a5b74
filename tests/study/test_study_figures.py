"""What the report figures show (issue 18, reports a planner reads): maps with
sub-district names, plain degree ticks and one colour scale across compared scenarios;
where waiting builds up; arrivals against crews on duty per hour; the backlog through the
drain."""

import re

import h3
import numpy as np
import pandas as pd
import pytest

from tests.toys import toy_scenario
from urbangrid.simulation import Scenario, event_table, run_replications, simulate
from urbangrid.simulation.kpis import backlog_series, run_end
from urbangrid.study import (
    backlog_figure,
    hourly_timeline,
    map_figure,
    map_scales,
    subdistrict_label_points,
    waiting_figure,
    waiting_metrics,
    write_comparison_report,
)

DAY = 86400.0


@pytest.fixture(scope="module")
def toy_pair():
    """The toy over one day, and the same with one city crew per sub-district instead of
    three (its cases wait longer); common random numbers."""
    base = toy_scenario(**{"run.days": 1})
    few = base.replace({"crews.1.per_subdistrict": 1}, name="few")
    return {"toy": simulate(base, seed=7, replication=0),
            "few": simulate(few, seed=7, replication=0)}


@pytest.fixture(scope="module")
def jingan9():
    """Jing'an at H3 resolution 9, a short low-volume day."""
    sc = Scenario().replace({"name": "jingan9", "district.resolution": 9, "run.days": 1,
                             "run.warmup_days": 0.5, "run.processes": 1,
                             "demand.cases_per_day": 800})
    return run_replications(sc, replications=1).first


def _map_axes(fig):
    return [ax for ax in fig.axes if ax.get_ylabel() == "latitude"]


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_map_ticks_are_plain_degrees_without_offset(toy_pair):
    # the toy lattice spans 0.003° of longitude: Matplotlib's default formatter writes
    # its ticks as an offset ("+1.2145e2") and small differences
    fig = map_figure(toy_pair["toy"])
    fig.draw_without_rendering()
    axes = _map_axes(fig)
    assert len(axes) == 2
    for ax in axes:
        assert ax.xaxis.get_offset_text().get_text() == ""
        assert ax.yaxis.get_offset_text().get_text() == ""
        xt = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        yt = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert xt and all(re.fullmatch(r"121\.\d\d°E", t) for t in xt), xt
        assert yt and all(re.fullmatch(r"31\.\d\d°N", t) for t in yt), yt
        assert any(t.endswith(" km") for t in (x.get_text() for x in ax.texts))  # scale bar


def test_compared_maps_share_one_colour_scale(toy_pair):
    own = {label: map_scales({label: res}) for label, res in toy_pair.items()}
    shared = map_scales(toy_pair)
    # fewer crews: longer handling and more waiting, so the runs' own scales differ
    for panel in ("handling_days_mean", "waiting_per_cell"):
        assert own["few"][panel][1] > own["toy"][panel][1]
    for panel, (lo, hi) in shared.items():
        assert lo == 0.0 and hi == max(s[panel][1] for s in own.values())
    # every panel of every map is drawn on the shared range
    norms = {}
    for res in toy_pair.values():
        for kind, fig in (("map", map_figure(res, shared)),
                          ("waiting", waiting_figure(res, shared))):
            for ax in _map_axes(fig):
                norm = ax.collections[0].norm
                norms.setdefault((kind, ax.get_title()), []).append((norm.vmin, norm.vmax))
    assert len(norms) == 4
    for pair in norms.values():
        assert len(pair) == 2 and pair[0] == pair[1]


def test_comparison_report_draws_the_maps_on_the_shared_scale(tmp_path, monkeypatch,
                                                            toy_pair):
    import urbangrid.study.report as report
    from urbangrid.study import compare_scenarios, comparison_document

    seen = {}
    real = report.plot_map

    def spy(res, path, scales=None):
        seen[res.scenario.name] = scales
        return real(res, path, scales)

    monkeypatch.setattr(report, "plot_map", spy)
    base = toy_scenario(**{"run.days": 1})
    cmp = compare_scenarios([base, base.replace({"crews.1.per_subdistrict": 1},
                                                name="few")], replications=2)
    write_comparison_report(tmp_path, comparison_document(cmp), cmp.first)
    assert set(seen) == {"toy", "few"}
    assert seen["toy"] == seen["few"] == map_scales(cmp.first)


def test_maps_name_every_subdistrict_inside_it(jingan9):
    space = jingan9.space
    points = subdistrict_label_points(space)
    assert len(points) == space.n_subdistricts == 14
    labels = [p[2] for p in points]
    # English names (the figure font has no Chinese glyphs), without "Subdistrict"
    assert "West Nanjing Road" in labels and "Pengpu Town" in labels
    assert "Jing'an Temple" in labels
    for k, (lon, lat, _) in enumerate(points):
        cell = h3.latlng_to_cell(lat, lon, 9)
        assert space.subdistrict[space.h3.index(cell)] == k
    texts = _texts(map_figure(jingan9))
    for label in labels:
        assert sum(t.replace("\n", " ") == label for t in texts) == 2  # both panels
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)


def test_toy_labels_are_the_district_names(toy_pair):
    res = toy_pair["toy"]
    labels = [p[2] for p in subdistrict_label_points(res.space)]
    assert labels == ["toy sub-district 0", "toy sub-district 1"]
    for k, (lon, lat, _) in enumerate(subdistrict_label_points(res.space)):
        i = int(np.argmin(np.hypot(res.space.lon - lon, res.space.lat - lat)))
        assert res.space.subdistrict[i] == k


def test_waiting_for_a_crew_agrees_with_the_event_log(toy_pair):
    res = toy_pair["few"]
    w = waiting_metrics(res)
    ev = event_table(res).to_pandas()
    arrived = ev[ev["event"] == "arrived"].groupby("case_id")["time_s"].min()
    c = res.cases
    cases = pd.DataFrame({"t_pool": c["t_pool"], "t_report": c["t_report"],
                          "sub": res.space.subdistrict[c["cell"]]})
    cases["arrived"] = arrived.reindex(range(len(cases))).to_numpy()
    cases = cases[cases["t_pool"].notna() & (cases["t_report"] >= res.t_stats)
                  & (cases["t_report"] < res.t_end)]
    end = cases["arrived"].fillna(run_end(res)).clip(upper=run_end(res))
    hours = ((end - cases["t_pool"]) / 3600.0).groupby(cases["sub"]).mean()
    np.testing.assert_allclose(w["wait_hours_subdistrict"], hours.sort_index().to_numpy())
    assert w["waited_subdistrict"].sum() == len(cases)
    # the time-weighted number waiting is the hourly count's mean, to sampling error
    tl = hourly_timeline(res)
    assert w["waiting_per_cell"].sum() == pytest.approx(tl["waiting"].mean(), rel=0.15)
    # and fewer crews make cases wait longer
    assert np.nanmean(w["wait_hours_subdistrict"]) > np.nanmean(
        waiting_metrics(toy_pair["toy"])["wait_hours_subdistrict"])


def test_timeline_has_one_point_per_hour_with_the_shifts_crews(toy_pair):
    res = toy_pair["toy"]
    tl = hourly_timeline(res)
    assert len(tl["t"]) == 24 and np.all(np.diff(tl["t"]) == 3600.0)
    assert tl["t"][0] == res.t_stats
    for series in (tl["crews_on_duty"], tl["waiting"], *tl["arrivals"].values()):
        assert len(series) == 24
    # the toy starts at midnight and the window half a day later, so point 0 is 12:00:
    # sanitation (2 per sub-district) and works (2) always, the city crews (3 per
    # sub-district) on the day shift 07:00 - 21:00
    clock = tl["t"] / 3600.0 % 24
    expected = np.where((clock >= 7) & (clock < 21), 4 + 2 + 6, 4 + 2)
    np.testing.assert_allclose(tl["crews_on_duty"], expected)
    c = res.cases
    valid = (c["status"] != 7) & (c["t_report"] >= res.t_stats) & (c["t_report"] < res.t_end)
    assert sum(int(a.sum()) for a in tl["arrivals"].values()) == int(valid.sum())
    assert tl["arrivals"]["hotline"].sum() == int((valid & (c["channel"] == 2)).sum())


def test_timeline_keeps_to_its_first_days(toy_pair):
    tl = hourly_timeline(toy_pair["toy"], days=0.25)
    assert len(tl["t"]) == 6


def test_backlog_runs_through_the_drain(toy_pair):
    sc = toy_scenario(**{"run.days": 1, "run.drain_days": 1.5})
    res = simulate(sc, seed=7, replication=0)
    assert run_end(res) == res.t_end + 1.5 * DAY
    fig = backlog_figure({"toy": res})
    ax = fig.axes[0]
    line = ax.lines[-1]
    x, y = line.get_xdata(), line.get_ydata()
    assert x[0] == pytest.approx(-0.5) and x[-1] == pytest.approx(2.5)  # warm-up .. drain
    t, counts = backlog_series(res, 3600.0, start=0.0, end=run_end(res))
    np.testing.assert_array_equal(y, counts)
    labels = [p.get_label() for p in ax.patches]
    assert any(lab.startswith("drain") for lab in labels)
    assert any(lab.startswith("warm-up") for lab in labels)
    # without a drain the line stops at the horizon, and no drain is shaded
    res0 = toy_pair["toy"]
    ax0 = backlog_figure({"toy": res0}).axes[0]
    assert ax0.lines[-1].get_xdata()[-1] == pytest.approx(1.0)
    assert not any(p.get_label().startswith("drain") for p in ax0.patches)


def test_a_subdistrict_without_cells_shifts_no_label(toy_pair):
    import dataclasses

    from matplotlib.figure import Figure

    from urbangrid.study.figures import _label_subdistricts

    space = toy_pair["toy"].space
    # three sub-districts, the first without cells (a polygon smaller than a cell)
    three = dataclasses.replace(space, subdistrict=space.subdistrict + 1,
                                sub_codes=["E", "A", "B"],
                                sub_names=["empty", "west", "east"], sub_names_en=[])
    ax = Figure().subplots()
    _label_subdistricts(ax, three, np.array([np.nan, 1.0, 2.0]), "{:.1f} h")
    assert sorted(t.get_text() for t in ax.texts) == ["east\n2.0 h", "west\n1.0 h"]


def test_ecdf_steps_are_the_true_cdf_at_a_bounded_number_of_points():
    import numpy as np

    from urbangrid.study.figures import ecdf_points

    rng = np.random.default_rng(1)
    x = rng.lognormal(size=100_000)
    x[::1000] = np.nan
    xs, ys = ecdf_points(x, max_points=500)
    finite = np.sort(x[np.isfinite(x)])
    assert xs.size <= 500 and xs[0] == finite[0] and xs[-1] == finite[-1] and ys[-1] == 1.0
    # each step is exact: F(x) = share of values <= x (no ties in continuous draws)
    assert np.allclose(ys, np.searchsorted(finite, xs, side="right") / finite.size)
    small = np.array([3.0, 1.0, 2.0])
    assert ecdf_points(small)[0].tolist() == [1.0, 2.0, 3.0]
    assert np.allclose(ecdf_points(small)[1], [1 / 3, 2 / 3, 1.0])
