"""The ``compare`` and ``sweep`` sub-commands (urbangrid.study.commands), end to end, and
their bad-input exits."""

import argparse
import json
import sys

import pandas as pd
import pytest

from tests.toys import write_toy
from urbangrid import cli
from urbangrid.errors import InputError
from urbangrid.study import commands as study_commands


def run(argv: list[str]) -> int:
    """``urbangrid`` with this module's sub-commands (as cli.main does: InputError -> 2)."""
    parser = argparse.ArgumentParser(prog="urbangrid")
    study_commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"urbangrid: error: {exc}", file=sys.stderr)
        return 2


def test_compare_writes_json_report_and_prints_table(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps the table at 80 columns otherwise
    a = write_toy(tmp_path, "base")
    b = write_toy(tmp_path, "mcf", '[dispatch]\npolicy = "mcf"\n')
    out = tmp_path / "out"
    assert run(["compare", str(a), str(b), "--replications", "2", "--days", "0.5",
                "--seed", "5", "--out", str(out)]) == 0
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["baseline"] == "base" and doc["seed"] == 5 and doc["replications"] == 2
    assert doc["scenarios"]["mcf"]["run"]["days"] == 0.5
    assert doc["files"]["mcf"].endswith("mcf.toml")
    assert (out / "report.html").stat().st_size > 10_000
    text = capsys.readouterr().out
    assert "mcf − base" in text and "hotline.handling_days_calendar_mean" in text
    assert "contains 0" in text  # cases_created differs by exactly 0 under CRN


def test_compare_quiet_prints_nothing(tmp_path, capsys):
    a = write_toy(tmp_path, "a")
    b = write_toy(tmp_path, "b", "[inspectors]\nper_grid = 1.0\n")
    assert run(["compare", str(a), str(b), "--days", "0.5", "--out", str(tmp_path / "o"),
                "--quiet"]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""
    assert (tmp_path / "o" / "comparison.json").is_file()


def test_sweep_writes_parquet_summary_and_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    a = write_toy(tmp_path, "a")
    out = tmp_path / "sw"
    assert run(["sweep", str(a), "--grid", "inspectors.per_grid=1.5,2.7", "--replications",
                "2", "--days", "0.5", "--processes", "1", "--out", str(out),
                "--kpi", "backlog_mean"]) == 0
    df = pd.read_parquet(out / "sweep.parquet")
    assert len(df) == 4 and set(df["inspectors.per_grid"]) == {1.5, 2.7}
    s = pd.read_csv(out / "sweep_summary.csv")
    assert list(s["kpi"]) == ["backlog_mean"] * 2
    assert (out / "sweep.png").is_file()
    assert "sweep of a" in capsys.readouterr().out


@pytest.mark.parametrize("extra, argv, match", [
    # A what-if overriding a key that does not exist.
    ("[workflow]\ntyphoon_mode = true\n", [], r"workflow.typhoon_mode: unknown key"),
    # A scenario referencing a missing file.
    ('[catalogue]\nfile = "no_such_catalogue.csv"\n', [],
     r"catalogue.file = '.*no_such_catalogue.csv': file not found"),
    # A catalogue override of an unknown category.
    ('[catalogue.overrides.no_such_category]\nprep_hours = 1\n', [],
     r"unknown category 'no_such_category'"),
    # A grid value of the wrong type.
    ("", ["--grid", "inspectors.per_grid=two"], r"--grid inspectors.per_grid='two'"),
    # An unreachable scheduler.
    ("", ["--grid", "inspectors.per_grid=2", "--executor", "dask", "--scheduler",
          "tcp://127.0.0.1:9"], r"cannot reach the Dask scheduler"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, capsys, monkeypatch, extra, argv,
                                                match):
    import urbangrid.study.sweep as sweep

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT_S", 1.0)
    bad = write_toy(tmp_path, "bad", extra)
    good = write_toy(tmp_path, "good")
    if argv:
        cmd = ["sweep", str(bad if extra else good), *argv, "--out", str(tmp_path / "o")]
    else:
        cmd = ["compare", str(good), str(bad), "--out", str(tmp_path / "o")]
    assert run(cmd) == 2
    # (a progress bar that was on screen may leave an empty line before the message)
    err = capsys.readouterr().err.strip()
    assert err.startswith("urbangrid: error: ") and "\n" not in err
    assert pytest.importorskip("re").search(match, err), err


@pytest.mark.parametrize("command", ["simulate", "compare"])
def test_an_unknown_policy_is_named_with_its_file_and_key_before_any_run(
        tmp_path, capsys, command):
    bad = write_toy(tmp_path, "bad", '[dispatch]\npolicy = "nearst"\n')
    good = write_toy(tmp_path, "good")
    files = [str(bad)] if command == "simulate" else [str(good), str(bad)]
    assert run([command, *files, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: dispatch.policy = 'nearst': no such policy" in err
    assert "nearest" in err  # the names that exist
    assert not (tmp_path / "o" / "kpis.json").exists()


def test_a_mistyped_set_key_is_blamed_on_the_set_not_the_file(tmp_path, capsys):
    good = write_toy(tmp_path, "good")
    assert run(["simulate", str(good), "--set", "dispatch.polcy=mcf", "--quiet",
                "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"--set dispatch.polcy (on {good}): dispatch.polcy: unknown key" in err


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    good = write_toy(tmp_path, "good")
    assert run(["compare", str(good), str(tmp_path / "nope.toml")]) == 2
    assert "scenario file not found" in capsys.readouterr().err


def test_compare_needs_two_scenarios(tmp_path, capsys):
    good = write_toy(tmp_path, "good")
    assert run(["compare", str(good)]) == 2
    assert "at least two" in capsys.readouterr().err


def test_wired_into_the_urbangrid_command(tmp_path, capsys):
    good = write_toy(tmp_path, "good")
    assert cli.main(["compare", str(good), str(tmp_path / "nope.toml")]) == 2
    assert cli.main(["sweep", str(good), "--grid", "inspectors.per_grid=x"]) == 2


def test_compare_by_subdistrict_prints_each_subdistrict(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    a = write_toy(tmp_path, "base")
    b = write_toy(tmp_path, "ws", '[[workstations]]\nname = "w"\nsubdistrict = "T01"\n'
                  'crews = { sanitation = 2 }\n')
    out = tmp_path / "out"
    assert run(["compare", str(a), str(b), "--replications", "2", "--days", "0.5",
                "--by-subdistrict", "dispatch_delay_min_mean", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "dispatch_delay_min_mean by sub-district" in text
    assert "toy sub-district 0 (T00)" in text and "toy sub-district 1 (T01)" in text
    doc = json.loads((out / "comparison.json").read_text())
    k = doc["kpis"]["ws"]
    from urbangrid.simulation import GROUP_KPIS
    assert set(k["sub:T00"]) == set(GROUP_KPIS)
    # the sub-districts' cases add up to all cases
    assert k["sub:T00"]["cases_created"]["mean"] + k["sub:T01"]["cases_created"]["mean"] \
        == k["all"]["cases_created"]["mean"]
    assert run(["compare", str(a), str(b), "--by-subdistrict", "speed",
                "--out", str(out)]) == 2
    assert "--by-subdistrict 'speed': not a per-sub-district KPI" in capsys.readouterr().err
    assert run(["compare", str(a), str(b), "--by-subdistrict", "backlog_mean",
                "--out", str(out)]) == 2
