"""The regression check of ``benchmarks/run.py`` decides right, without timing anything:
figures are built by hand and the suites are replaced by a function returning them."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks import run as bench_run
from benchmarks.harness import Measurement


def fig(name: str, ratio: float | None, seconds: float = 1.0) -> Measurement:
    return Measurement(name, seconds, "ref", None, ratio=ratio)


def baseline(*rows: tuple) -> dict:
    """Baseline entries from (name, ratio) or (name, ratio, tolerance) tuples."""
    out = []
    for row in rows:
        entry = {"name": row[0], "ratio": row[1]}
        if len(row) > 2:
            entry["tolerance"] = row[2]
        out.append(entry)
    return {"measurements": out}


# ------------------------------------------------------------------ the pure decision
def test_ratio_beyond_tolerance_is_a_regression():
    got = bench_run.evaluate([fig("a", 2.6), fig("b", 1.0)],
                             baseline(("a", 2.0, 0.25), ("b", 1.0, 0.25)))
    assert got.code == 1
    assert len(got.regressions) == 1 and got.regressions[0].startswith("a: ratio 2.6")
    assert "2.5" in got.regressions[0]  # the limit 2.0 × 1.25 is printed
    assert got.checked == 2 and got.unchecked == []
    assert any(line.startswith("REGRESSION a:") for line in got.lines())


@pytest.mark.parametrize("ratio", [0.1, 2.0, 2.49])
def test_within_tolerance_passes(ratio):
    got = bench_run.evaluate([fig("a", ratio)], baseline(("a", 2.0, 0.25)))
    assert got.code == 0 and got.regressions == []
    assert got.checked == 1


def test_the_limit_itself_passes_and_just_above_fails():
    base = baseline(("a", 2.0, 0.5))
    assert bench_run.evaluate([fig("a", 3.0)], base).code == 0
    assert bench_run.evaluate([fig("a", 3.0 * (1 + 1e-9))], base).code == 1


def test_default_tolerance_applies_where_the_baseline_has_none():
    base = baseline(("a", 1.0))  # no tolerance stored
    assert bench_run.evaluate([fig("a", 1.4)], base, default_tolerance=0.5).code == 0
    assert bench_run.evaluate([fig("a", 1.6)], base, default_tolerance=0.5).code == 1
    assert bench_run.evaluate([fig("a", 1.6)], base, default_tolerance=1.0).code == 0


def test_benchmark_missing_from_baseline_is_listed_and_does_not_fail():
    got = bench_run.evaluate([fig("new_one", 99.0), fig("a", 1.0)], baseline(("a", 1.0, 0.5)))
    assert got.code == 0
    assert got.unchecked == ["new_one"] and got.checked == 1
    assert any("not in the baseline" in line and "new_one" in line for line in got.lines())


def test_figures_without_ratio_and_baseline_entries_not_run_are_ignored():
    got = bench_run.evaluate([fig("peak_memory", None)],
                             baseline(("peak_memory", None), ("other", 1.0, 0.5)))
    assert got.code == 0 and got.checked == 0 and got.unchecked == []


def test_baseline_rows_take_the_median_and_widen_the_spread():
    runs = [[fig("a", r), fig("b", 1.0)] for r in (1.0, 1.2, 1.1)]
    rows = {r["name"]: r for r in bench_run.baseline_rows(runs, "2026-01-01 00:00 UTC")}
    assert rows["a"]["ratio"] == 1.1 and rows["a"]["ratios"] == [1.0, 1.2, 1.1]
    # spread (1.2 - 1.0) / 1.1 = 0.18, × SPREAD_FACTOR 3 = 0.545 > MIN_TOLERANCE 0.5
    assert rows["a"]["tolerance"] == pytest.approx(3 * 0.2 / 1.1, abs=1e-3)
    assert rows["b"]["tolerance"] == bench_run.MIN_TOLERANCE
    assert rows["a"]["date"] == "2026-01-01 00:00 UTC"


def test_a_moved_reference_is_named_in_the_regression_line():
    # the engine took the same 10 ms; the reference sped up from 12 ms to 4 ms, so
    # the ratio tripled: the line must say the reference moved, with both times
    rows = bench_run.baseline_rows(
        [[Measurement("a", 0.010, "cal", 0.012, ratio=0.010 / 0.012)]])
    assert rows[0]["reference_seconds"] == 0.012
    now = Measurement("a", 0.010, "cal", 0.004, ratio=0.010 / 0.004)
    got = bench_run.evaluate([now], {"measurements": rows})
    assert got.code == 1
    assert "took 4.00 ms against 12.00 ms" in got.regressions[0]
    # a regression with a steady reference carries no such note
    slow = Measurement("a", 0.030, "cal", 0.012, ratio=0.030 / 0.012)
    assert "reference" not in bench_run.evaluate([slow], {"measurements": rows}).regressions[0]


def test_merge_keeps_other_entries_and_replaces_same_names():
    old = {"machine": {"date": "old"}, "measurements": [
        {"name": "x", "ratio": 1.0}, {"name": "s", "ratio": 5.0}, {"name": "y", "ratio": 2.0}]}
    merged = bench_run.merge_baseline(old, [{"name": "s", "ratio": 6.0},
                                            {"name": "t", "ratio": 7.0}])
    assert [(m["name"], m["ratio"]) for m in merged["measurements"]] == [
        ("x", 1.0), ("s", 6.0), ("y", 2.0), ("t", 7.0)]
    assert merged["machine"] == {"date": "old"}
    assert [m["ratio"] for m in old["measurements"]] == [1.0, 5.0, 2.0]  # not mutated


# ------------------------------------------------------- the command's exit codes
@pytest.fixture
def fake_suite(monkeypatch):
    """Replace the timed suites by a list of figures the test sets."""
    figures: list[Measurement] = []
    monkeypatch.setattr(bench_run, "_run_suites", lambda args: list(figures))
    return figures


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


def test_check_exits_1_on_regression_and_prints_it(fake_suite, tmp_path, capsys):
    fake_suite += [fig("a", 3.0), fig("b", 1.0)]
    base = write(tmp_path / "baseline.json", baseline(("a", 1.0, 0.5), ("b", 1.0, 0.5)))
    code = bench_run.main(["--quick", "--check", "--baseline", str(base),
                           "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "REGRESSION a: ratio 3 > baseline 1 × (1 + 50%) = 1.5" in err
    assert "REGRESSION b" not in err
    assert (tmp_path / "out" / "results.json").exists()


def test_check_exits_0_within_tolerance(fake_suite, tmp_path, capsys):
    fake_suite += [fig("a", 1.4), fig("new_one", 9.0)]
    base = write(tmp_path / "baseline.json", baseline(("a", 1.0, 0.5)))
    code = bench_run.main(["--check", "--baseline", str(base), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0
    assert "REGRESSION" not in err and "not checked: new_one" in err


def test_check_without_baseline_file_exits_2(fake_suite, tmp_path, capsys):
    fake_suite.append(fig("a", 1.0))
    code = bench_run.main(["--check", "--baseline", str(tmp_path / "missing.json"),
                           "--out", str(tmp_path)])
    assert code == 2 and "no baseline" in capsys.readouterr().err


def test_write_baseline_with_only_keeps_the_other_suites(fake_suite, tmp_path):
    fake_suite.append(fig("service_x", 2.0))
    base = write(tmp_path / "baseline.json",
                 {"machine": {"date": "then"}, "runs": 3,
                  "measurements": [{"name": "district_y", "ratio": 1.5, "tolerance": 0.6},
                                   {"name": "service_x", "ratio": 9.0}]})
    assert bench_run.main(["--quick", "--only", "service", "--write-baseline", "2",
                           "--baseline", str(base), "--out", str(tmp_path / "o")]) == 0
    doc = json.loads(base.read_text())
    rows = {m["name"]: m for m in doc["measurements"]}
    assert rows["district_y"] == {"name": "district_y", "ratio": 1.5, "tolerance": 0.6}
    assert rows["service_x"]["ratio"] == 2.0 and rows["service_x"]["ratios"] == [2.0, 2.0]
    assert doc["machine"] == {"date": "then"}


# ----------------------------------------------------- the service benchmark, for real
def test_service_benchmark_runs_end_to_end():
    from benchmarks import bench_service

    reason = bench_service.unavailable()
    if reason:
        pytest.skip(f"service benchmark cannot run: {reason}")
    figs = bench_service.run(quick=True, sizes={
        "requests_seq": 20, "requests_conc": 20, "dispatch_seq": 3, "dispatch_conc": 4})
    names = [m.name for m in figs]
    assert names == [f"service_{w}_{k}" for w in ("requests", "dispatch")
                     for k in ("p50", "p99", "throughput")] + ["service_get_services_p50"]
    for m in figs:
        for v in (m.seconds, m.reference_seconds, m.ratio):
            assert math.isfinite(v) and v > 0, (m.name, v)
    by = {m.name: m for m in figs}
    assert by["service_requests_p50"].seconds <= by["service_requests_p99"].seconds
    assert by["service_requests_throughput"].extra["calls"] == 20
    assert by["service_dispatch_throughput"].extra["clients"] == bench_service.CONCURRENCY
    # a solve of 100 tasks × 20 teams costs more than reading the catalogue
    assert by["service_dispatch_p50"].ratio > 1


# ------------------------------------------------------------------ the CI gate
def test_ci_gate_keeps_steady_ratios_and_lets_them_double():
    b = {"measurements": [
        {"name": "steady", "ratio": 1.0, "ratios": [0.95, 1.0, 1.1], "tolerance": 0.5},
        {"name": "noisy", "ratio": 1.0, "ratios": [0.5, 1.0, 2.0], "tolerance": 4.5},
        {"name": "wide_tol", "ratio": 2.0, "ratios": [1.9, 2.0, 2.2], "tolerance": 1.5},
        {"name": "one_run", "ratio": 1.0, "ratios": [1.0], "tolerance": 0.5},
    ]}
    gate = bench_run.ci_baseline(b)
    got = {m["name"]: m["tolerance"] for m in gate["measurements"]}
    assert got == {"steady": 1.0, "wide_tol": 1.5}
    # a doubling of a steady ratio passes, more than that fails
    assert bench_run.evaluate([fig("steady", 1.99)], gate).code == 0
    assert bench_run.evaluate([fig("steady", 2.01)], gate).code == 1


def test_ci_gate_leaves_out_the_ungated_ratios_even_when_steady():
    name = "scoring_8000x600_numba_vs_floor"
    assert name in bench_run.CI_UNGATED
    b = {"measurements": [
        {"name": name, "ratio": 3.0, "ratios": [2.9, 3.0, 3.1], "tolerance": 0.5},
        {"name": "steady", "ratio": 1.0, "ratios": [0.95, 1.0, 1.1], "tolerance": 0.5},
    ]}
    assert [m["name"] for m in bench_run.ci_baseline(b)["measurements"]] == ["steady"]


def test_every_stored_benchmark_maps_to_its_suite():
    stored = json.loads((bench_run.HERE / "baseline.json").read_text())["measurements"]
    for m in stored:
        suite = bench_run.SUITE_OF_PREFIX[m["name"].split("_")[0]]
        assert suite in bench_run.SUITES


def test_ci_gate_names_gated_benchmarks_that_did_not_run():
    gate = {"measurements": [{"name": "a", "ratio": 1.0}, {"name": "b", "ratio": 1.0}]}
    assert bench_run.missing_gated([fig("a", 1.0), fig("c", 1.0)], gate) == ["b"]
    assert bench_run.missing_gated([fig("a", 1.0), fig("b", None)], gate) == ["b"]
    assert bench_run.missing_gated([fig("a", 1.0), fig("b", 2.0)], gate) == []
