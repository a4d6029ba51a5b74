"""A researcher's policy in a module of their own runs through ``simulate``, ``compare``,
``sweep``, the policy benchmark and the service (issue 21): ``dispatch.policy =
"package.module:function"``. Before, all but ``python -m benchmarks.policies --import``
refused it ("unknown dispatch policy")."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.study.test_study_cli import run
from tests.toys import toy_scenario, write_policy_module, write_toy
from urbangrid.errors import InputError
from urbangrid.simulation import compute_kpis, simulate


@pytest.fixture
def policy_module(tmp_path, monkeypatch):
    """``module:closest`` on sys.path, and the module's call list."""
    folder = tmp_path / "lib"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    name = write_policy_module(folder)
    return f"{name}:closest", name


def _calls(module: str) -> list:
    return sys.modules[module].CALLS


def test_simulate_runs_a_policy_named_by_module(policy_module):
    ref, module = policy_module
    res = simulate(toy_scenario(**{"dispatch.policy": ref, "run.days": 0.5}))
    assert len(_calls(module)) == res.stats["policy_calls"] > 0  # every round was its own
    assert compute_kpis(res)["all"]["cases_closed"] > 0


def test_simulate_names_the_key_and_value_of_a_reference_that_does_not_resolve():
    with pytest.raises(InputError, match=r"dispatch.policy = 'ug_nowhere:closest': cannot "
                                         r"import module 'ug_nowhere'"):
        simulate(toy_scenario(**{"dispatch.policy": "ug_nowhere:closest"}))


def test_the_commands_run_it(tmp_path, policy_module, capsys):
    ref, module = policy_module
    mine = write_toy(tmp_path, "mine", f'[dispatch]\npolicy = "{ref}"\n')
    base = write_toy(tmp_path, "base")
    out = tmp_path / "sim"
    assert run(["simulate", str(mine), "--days", "0.5", "--replications", "1", "--quiet",
                "--out", str(out)]) == 0
    assert json.loads((out / "kpis.json").read_text())["kpis"]["cases_closed"]["mean"] > 0
    n_simulate = len(_calls(module))
    assert n_simulate > 0
    assert run(["compare", str(base), str(mine), "--replications", "2", "--days", "0.5",
                "--quiet", "--out", str(tmp_path / "cmp")]) == 0
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert doc["scenarios"]["mine"]["dispatch"]["policy"] == ref
    n_compare = len(_calls(module))
    assert n_compare > n_simulate
    assert run(["sweep", str(base), "--grid", f"dispatch.policy=nearest,{ref}",
                "--replications", "1", "--days", "0.5", "--processes", "1", "--quiet",
                "--out", str(tmp_path / "sw"), "--kpi", "backlog_mean"]) == 0
    df = pd.read_parquet(tmp_path / "sw" / "sweep.parquet")
    assert set(df["dispatch.policy"]) == {"nearest", ref}
    assert len(_calls(module)) > n_compare


def test_a_bad_reference_is_named_with_its_file_key_and_value_before_any_run(tmp_path,
                                                                              capsys):
    bad = write_toy(tmp_path, "bad", '[dispatch]\npolicy = "ug_nowhere:closest"\n')
    good = write_toy(tmp_path, "good")
    for argv in (["simulate", str(bad)], ["compare", str(good), str(bad)]):
        assert run([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert (f"{bad}: dispatch.policy = 'ug_nowhere:closest': cannot import module "
                "'ug_nowhere'") in err, err
    assert run(["sweep", str(good), "--grid", "dispatch.policy=nearest,ug_nowhere:f",
                "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (f"--grid dispatch.policy='ug_nowhere:f' (on {good}): dispatch.policy = "
            "'ug_nowhere:f': cannot import module") in err, err
    assert not (tmp_path / "o" / "kpis.json").exists()


def test_the_command_line_finds_it_on_pythonpath(tmp_path):
    # a fresh process: the module is found through PYTHONPATH, as a user would set it
    folder = tmp_path / "lib"
    folder.mkdir()
    module = write_policy_module(folder)
    scenario = write_toy(tmp_path, "toy")
    mark = tmp_path / "calls.txt"
    env = dict(os.environ, UG_TEST_POLICY_MARK=str(mark),
               PYTHONPATH=os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run(
        [sys.executable, "-m", "urbangrid.cli", "simulate", str(scenario), "--set",
         f"dispatch.policy={module}:closest", "--days", "0.5", "--replications", "1",
         "--quiet", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert mark.read_text().count("\n") > 0  # the policy ran in that process
    assert (tmp_path / "out" / "kpis.json").is_file()


def test_the_policy_benchmark_takes_it(tmp_path, policy_module, capsys):
    from benchmarks import policies as bench

    ref, module = policy_module
    scenario = write_toy(tmp_path, "toy")
    out = tmp_path / "bench"
    assert bench.main(["--scenario", str(scenario), "--policy", "nearest", "--policy", ref,
                       "--replications", "2", "--days", "0.5", "--out", str(out)]) == 0
    assert f"| KPI | nearest | {ref} |" in (out / "POLICIES.md").read_text().splitlines()
    assert len(_calls(module)) > 0
    assert bench.main(["--scenario", str(scenario), "--policy", "ug_nowhere:f",
                       "--out", str(out)]) == 2
    assert "--policy = 'ug_nowhere:f': cannot import module" in capsys.readouterr().err


def test_the_service_accepts_it(tmp_path, policy_module):
    pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
    from urbangrid.service.app import ServiceConfig
    from urbangrid.service.cli import _check_serve_args

    ref, _ = policy_module
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    _check_serve_args(ServiceConfig(db=db, policy=ref))  # no error: resolved
    with pytest.raises(InputError, match="dispatch policy 'ug_nowhere:f': cannot import"):
        _check_serve_args(ServiceConfig(db=db, policy="ug_nowhere:f"))
