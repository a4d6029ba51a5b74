"""The policy benchmark (``benchmarks/policies.py``) on toy scenarios: its files go to
``--out`` and leave the published ``benchmarks/`` tables alone, every scenario of a list
gets a table titled with its name and file, and the JSON keeps every replication's
values, from which the reported intervals and paired differences are recomputed."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import policies as bench
from tests.toys import write_toy
from urbangrid.simulation import t_interval

POLICIES = ["nearest", "mcf"]
REPLICATIONS = 2


def _snapshot(folder: Path) -> dict[str, str]:
    """Hash of every file under ``folder`` (bytecode caches aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory):
    """Two toy scenarios (one positional, one with ``--scenario``), two policies and two
    replications of half a day, written to a folder of their own."""
    folder = tmp_path_factory.mktemp("policies")
    first = write_toy(folder, "toy_first")
    (folder / "more").mkdir()
    second = write_toy(folder / "more", "toy_second")
    out = folder / "out"
    before = _snapshot(bench.HERE)
    code = bench.main([str(first), "--scenario", str(second), "--policy", POLICIES[0],
                       "--policy", POLICIES[1], "--replications", str(REPLICATIONS),
                       "--days", "0.5", "--pair", f"{POLICIES[1]}:{POLICIES[0]}",
                       "--out", str(out)])
    after = _snapshot(bench.HERE)
    return code, out, (first, second), before, after


def test_the_files_go_to_out_and_benchmarks_is_untouched(benchmark_run):
    code, out, _, before, after = benchmark_run
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["POLICIES.json", "POLICIES.md"]
    assert after == before  # the published POLICIES.md/.json (and all else) unchanged


def test_each_table_is_titled_with_its_scenario(benchmark_run):
    _, out, files, _, _ = benchmark_run
    lines = (out / "POLICIES.md").read_text(encoding="utf-8").splitlines()
    titles = [line for line in lines if line.startswith("## ")]
    assert titles == [f"## toy_first (`{files[0]}`)", f"## toy_second (`{files[1]}`)"]
    assert "Jing'an" not in lines[0]  # the old title named one scenario whatever ran
    # each section has its KPI table and its paired-difference table
    assert lines.count("| KPI | nearest | mcf |") == 2
    assert lines.count("| paired Δ vs nearest | mcf |") == 2
    doc = json.loads((out / "POLICIES.json").read_text(encoding="utf-8"))
    assert [(s["scenario"], s["file"]) for s in doc["scenarios"]] == [
        ("toy_first", str(files[0])), ("toy_second", str(files[1]))]


def _values(xs: list[float | None]) -> np.ndarray:
    return np.array([math.nan if x is None else x for x in xs], dtype=float)


def _same(reported: float | None, recomputed: float) -> bool:
    if reported is None:  # NaN is written as null
        return not math.isfinite(recomputed)
    return reported == pytest.approx(recomputed, rel=1e-12, abs=1e-15)


def test_the_json_keeps_every_replication_and_its_intervals_follow(benchmark_run):
    _, out, _, _, _ = benchmark_run
    doc = json.loads((out / "POLICIES.json").read_text(encoding="utf-8"))
    assert doc["policies"] == POLICIES
    checked = 0
    for scenario in doc["scenarios"]:
        values = scenario["per_replication"]
        assert sorted(values) == sorted(POLICIES)
        base, other = (values[p] for p in POLICIES)
        for group, kpis in scenario["kpis"]["nearest"].items():
            for kpi in kpis:
                for policy in POLICIES:
                    series = values[policy][group][kpi]
                    assert len(series) == REPLICATIONS, (policy, group, kpi)
                    mean, half, n = t_interval(_values(series))
                    rec = scenario["kpis"][policy][group][kpi]
                    assert _same(rec["mean"], mean) and _same(rec["ci95"], half), (
                        policy, group, kpi, rec, series)
                    assert rec["n"] == n
                diff = _values(other[group][kpi]) - _values(base[group][kpi])
                mean, half, n = t_interval(diff)
                rec = scenario["differences"]["mcf"][group][kpi]
                assert _same(rec["mean"], mean) and _same(rec["ci95"], half), (
                    group, kpi, rec)
                assert rec["n"] == n
                checked += 1
    # the headline KPIs are among them, with real intervals from two replications
    first = doc["scenarios"][0]
    for group, kpi, _ in bench.KPIS:
        assert len(first["per_replication"]["mcf"][group][kpi]) == REPLICATIONS
    assert first["kpis"]["nearest"]["all"]["cases_created"]["ci95"] is not None
    assert checked > 2 * len(bench.KPIS)
    # the per-sub-district and per-office detail stays out (megabytes per scenario)
    assert set(first["kpis"]["mcf"]) <= set(bench.JSON_GROUPS)
    assert "subdistricts" not in first and "departments" not in first


def test_a_pair_gets_its_paired_differences_from_the_replications(benchmark_run):
    _, out, files, _, _ = benchmark_run
    text = (out / "POLICIES.md").read_text(encoding="utf-8")
    assert text.count("| paired Δ | mcf − nearest |") == 2
    # the header gives the whole command, scenarios and pair included
    assert f"{files[0]} {files[1]} --replications {REPLICATIONS}" in text
    assert "--pair mcf:nearest`" in text
    doc = json.loads((out / "POLICIES.json").read_text(encoding="utf-8"))
    assert doc["pairs"] == ["mcf:nearest"]
    for scenario in doc["scenarios"]:
        values = scenario["per_replication"]
        pair = scenario["pairs"]["mcf:nearest"]
        assert {(g, k) for g in pair for k in pair[g]} == {(g, k) for g, k, _ in bench.KPIS}
        for group, kpi, _ in bench.KPIS:
            diff = _values(values["mcf"][group][kpi]) - _values(values["nearest"][group][kpi])
            mean, half, n = t_interval(diff)
            rec = pair[group][kpi]
            assert _same(rec["mean"], mean) and _same(rec["ci95"], half), (group, kpi)
            assert rec["n"] == n


def test_the_default_folder_is_a_results_folder_not_benchmarks():
    assert bench.output_folder(None, publish=False) == Path("results") / "policies"
    assert bench.output_folder(None, publish=True) == bench.HERE
    assert bench.output_folder(bench.HERE, publish=False) == bench.HERE  # --out benchmarks


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "x/POLICIES.md"], "--out x/POLICIES.md: expected a folder"),
    (["--out", "x", "--publish"], "--out x and --publish: give one"),
    (["missing.toml", "--policy", "mcf"], "missing.toml"),
    ([], "--policy nearest: the benchmark compares at least two policies"),
    (["--policy", "mcf", "--policy", "nearest"], "--policy nearest: given more than once"),
    (["--policy", "mcf", "--pair", "mcf"], "--pair mcf: expected A:B"),
    (["--policy", "mcf", "--pair", "mcf:mcf"], "--pair mcf:mcf: expected A:B"),
    (["--policy", "mcf", "--pair", "greedy:mcf"], "--pair greedy:mcf: greedy not among"),
])
def test_bad_arguments_are_refused_before_any_run(tmp_path, monkeypatch, capsys, args,
                                                  message):
    monkeypatch.chdir(tmp_path)
    assert bench.main(["--policy", "nearest", *args, "--replications", "2"]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written
