"""Parameter sweeps on the local and Dask executors (urbangrid.study.sweep)."""

import time

import numpy as np
import pandas as pd
import pytest

from tests.toys import toy_scenario
from urbangrid.errors import InputError
from urbangrid.simulation import compute_kpis, simulate, t_interval
from urbangrid.study import parse_grid, plan_sweep, plot_sweep, run_sweep, summarise_sweep


def test_parse_grid_reads_typed_values_and_keeps_lists_whole(toy):
    grid = parse_grid(["inspectors.per_grid=2,2.7", "dispatch.policy=nearest,\"mcf\"",
                       "workflow.forwarding_hours=[1, 2],[]",
                       "dispatch.area_bound=true,false"], toy)
    assert grid == {"inspectors.per_grid": [2, 2.7], "dispatch.policy": ["nearest", "mcf"],
                    "workflow.forwarding_hours": [[1, 2], []],
                    "dispatch.area_bound": [True, False]}


@pytest.mark.parametrize("item, match", [
    ("inspectors.per_grid=2,lots", r"--grid inspectors.per_grid='lots'.*valid number"),
    ("inspectors.per_grid=2,500", r"per_grid = 500.*allowed range \[0, 100\]"),
    ("inspectors.nope=1", r"inspectors.nope: unknown key"),
    ("dispatch.area_bound=maybe", r"area_bound.*valid boolean"),
    ("inspectors.per_grid", "expected key.path=value1,value2"),
    ("inspectors.per_grid=1,,2", "empty value"),
])
def test_parse_grid_rejects_bad_items(toy, item, match):
    with pytest.raises(InputError, match=match):
        parse_grid([item], toy)


def test_parse_grid_needs_an_item_and_no_duplicates(toy):
    with pytest.raises(InputError, match="at least one"):
        parse_grid([], toy)
    with pytest.raises(InputError, match="given twice"):
        parse_grid(["run.days=1", "run.days=2"], toy)


def test_plan_is_the_cross_product_times_replications(toy):
    plan = plan_sweep(toy, {"inspectors.per_grid": [1.0, 2.0],
                            "dispatch.policy": ["nearest", "mcf", "greedy"]}, replications=2)
    assert len(plan.points) == 6
    assert plan.points[0] == {"inspectors.per_grid": 1.0, "dispatch.policy": "nearest"}
    assert plan.points[3] == {"inspectors.per_grid": 2.0, "dispatch.policy": "nearest"}
    tasks = plan.tasks()
    assert [(p, r) for p, r, _, _ in tasks][:3] == [(0, 0), (0, 1), (1, 0)]
    assert tasks[3][2].dispatch.policy == "mcf"
    assert {t[3] for t in tasks} == {toy.run.seed}


@pytest.fixture(scope="module")
def small_plan():
    base = toy_scenario(**{"run.days": 0.5, "run.warmup_days": 0.25,
                           "run.replications": 3})
    return plan_sweep(base, {"inspectors.per_grid": [1.5, 2.7],
                             "dispatch.policy": ["nearest", "mcf"]}, replications=2)


@pytest.fixture(scope="module")
def local_rows(small_plan):
    return run_sweep(small_plan, executor="local", processes=2)


def _kpis(df):
    return df.drop(columns=["wall_seconds"]).reset_index(drop=True)


def test_local_sweep_rows_are_the_runs(small_plan, local_rows):
    df = local_rows
    assert len(df) == 8
    assert list(df.columns[:5]) == ["point", "inspectors.per_grid", "dispatch.policy",
                                    "replication", "seed"]
    assert df["point"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # A row is exactly the KPIs of that run, computed directly.
    row = df.iloc[5]
    sc = small_plan.base.replace({"inspectors.per_grid": 2.7, "dispatch.policy": "nearest"})
    k = compute_kpis(simulate(sc, seed=small_plan.seed, replication=1))
    assert (row["inspectors.per_grid"], row["dispatch.policy"], row["replication"]) == \
        (2.7, "nearest", 1)
    assert row["cases_created"] == k["all"]["cases_created"]
    assert row["hotline.handling_days_calendar_mean"] == pytest.approx(
        k["hotline"]["handling_days_calendar_mean"], nan_ok=True)
    # Serial execution gives the same rows as the process pool.
    serial = run_sweep(small_plan, executor="local", processes=1)
    pd.testing.assert_frame_equal(_kpis(serial), _kpis(df))


def test_dask_local_cluster_gives_identical_results(small_plan, local_rows):
    pytest.importorskip("distributed")
    df = run_sweep(small_plan, executor="dask", processes=2, dask_processes=False)
    pd.testing.assert_frame_equal(_kpis(df), _kpis(local_rows))


def test_unreachable_scheduler_fails_fast(small_plan, monkeypatch):
    pytest.importorskip("distributed")
    import urbangrid.study.sweep as sweep

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT_S", 1.0)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=r"cannot reach the Dask scheduler at "
                                         r"'tcp://127.0.0.1:9'"):
        run_sweep(small_plan, executor="dask", scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("kw, match", [
    ({"executor": "spark"}, "choose local or dask"),
    ({"executor": "local", "scheduler": "tcp://x:1"}, "needs --executor dask"),
])
def test_run_sweep_rejects_bad_executor(small_plan, kw, match):
    with pytest.raises(InputError, match=match):
        run_sweep(small_plan, **kw)


def test_summary_and_plot(tmp_path, local_rows):
    keys = ["inspectors.per_grid", "dispatch.policy"]
    kpis = ["backlog_mean", "hotline.handling_days_calendar_mean"]
    s = summarise_sweep(local_rows, keys, kpis)
    assert len(s) == 4 * 2
    got = s[(s["point"] == 2) & (s["kpi"] == "backlog_mean")].iloc[0]
    mean, half, n = t_interval(local_rows.loc[local_rows["point"] == 2, "backlog_mean"])
    assert (got["mean"], got["ci95"], got["n"]) == (pytest.approx(mean), pytest.approx(half), n)
    assert got["inspectors.per_grid"] == 2.7 and got["dispatch.policy"] == "nearest"
    path = plot_sweep(s, keys, tmp_path / "sweep.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    # Categorical first key works too.
    plot_sweep(s, keys[::-1], tmp_path / "sweep2.png")
    with pytest.raises(InputError, match="unknown KPI"):
        summarise_sweep(local_rows, keys, ["no_such_kpi"])
    assert np.isfinite(s["mean"]).all()
