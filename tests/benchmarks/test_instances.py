"""The reference dispatch instances (``benchmarks/instances``, issue 21): every instance
loads and matches its description, the exact methods give back the stored best-known
objectives, ``urbangrid dispatch --instance`` prints them, unknown names are refused with
the list, and a frozen round reads back as the same problem."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from benchmarks import instances as bench
from urbangrid.cli import main
from urbangrid.errors import InputError
from urbangrid.optimizer import (
    ScoreWeights,
    available_instances,
    build_problem,
    evaluate,
    load_instance,
    problem_tables,
    read_table,
    solve,
)
from urbangrid.optimizer.instances import ENV_VAR, gap, instances_folder, read_instance

NAMES = ("backlog", "day", "queued", "saturated", "shift_change", "small", "small_crews")


@pytest.fixture(scope="module")
def district():
    from urbangrid.grid import District

    return District.jingan(10)


def test_the_set_is_in_the_repository_and_small():
    assert available_instances(bench.FOLDER) == NAMES
    size = sum(p.stat().st_size for p in bench.FOLDER.rglob("*") if p.is_file())
    assert size < 2_000_000


def test_the_default_folder_is_the_checkouts_and_the_variable_overrides_it(monkeypatch,
                                                                             tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert instances_folder() == bench.FOLDER
    shutil.copytree(bench.FOLDER / "small", tmp_path / "mine")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert available_instances() == ("mine",)


@pytest.mark.parametrize("name", NAMES)
def test_every_instance_loads_and_matches_its_description(name, district):
    inst = load_instance(name, bench.FOLDER, district=district)
    p, info = inst.problem, inst.info
    assert info.name == name and info.version == bench.SET_VERSION
    assert info.sizes == bench.sizes_of(p)
    assert p.weights == ScoreWeights(**info.weights)
    assert p.cell_travel is not None and p.cell_travel.shape == (p.n_cells, p.n_cells)
    assert p.now == info.now == info.source.simulated_time_s
    # every task can be served by some team of its skills (the rounds offer only those)
    qual = (p.team_skills[None, :] & p.task_skill[:, None]) == p.task_skill[:, None]
    assert qual.any(axis=1).all()
    assert info.best_known.proof in ("optimal by the exact min-cost flow", "CP-SAT optimal")


@pytest.mark.parametrize("name", ["small", "day", "saturated", "backlog", "queued",
                                  "shift_change"])
def test_the_exact_flow_gives_back_the_best_known_objective(name, district):
    inst = load_instance(name, bench.FOLDER, district=district)
    a = solve(inst.problem, method="mcf")
    assert a.status == "optimal"
    objective = evaluate(inst.problem, a).objective
    assert objective == pytest.approx(inst.info.best_known.objective, rel=1e-12)
    # and it is the best of the table's methods: the cheap ones do not beat it
    for method in ("nearest", "greedy"):
        other, _ = bench.solve_with(inst.problem, method)
        assert evaluate(inst.problem, other).objective >= objective - 1e-6


def test_queued_tasks_carry_their_crew_and_moving_them_is_priced(district):
    inst = load_instance("queued", bench.FOLDER, district=district)
    p = inst.problem
    cur = p.task_current >= 0
    assert cur.sum() == inst.info.sizes["current"] > p.n_tasks // 2
    e = evaluate(p, solve(p, method="mcf"))
    moved = cur & (e.team >= 0) & (e.team != p.task_current)
    # the optimum keeps most queued tasks with their crew and pays for each it moves
    assert 0 < moved.sum() < cur.sum() // 2
    assert e.reassignment == pytest.approx(moved.sum() * p.weights.reassignment)
    # without the reassignment cost the same round moves more of them
    free = solve(dataclasses.replace(p, weights=dataclasses.replace(
        p.weights, reassignment=0.0)), method="mcf").team
    assert (cur & (free >= 0) & (free != p.task_current)).sum() > moved.sum()


def test_the_shift_change_offers_teams_before_their_shift(district):
    inst = load_instance("shift_change", bench.FOLDER, district=district)
    p = inst.problem
    later = p.team_shift_start > p.now
    assert later.sum() == inst.info.sizes["teams_off_shift"] > p.n_teams // 4
    # the optimum gives some tasks to teams that start later, rather than to the crews
    # on duty now, and those wait for the shift: their ETA is past its start
    e = evaluate(p, solve(p, method="mcf"))
    waits = np.flatnonzero((e.team >= 0) & later[np.maximum(e.team, 0)])
    assert waits.size > 0
    assert (e.eta[waits] >= p.team_shift_start[e.team[waits]]).all()
    assert "teams before their shift" in inst.info.source.selection


def test_cpsat_gives_back_the_multi_crew_best_known(district):
    inst = load_instance("small_crews", bench.FOLDER, district=district)
    p = inst.problem
    assert (p.task_crews == 2).sum() == inst.info.sizes["multi_crew"] > 0
    a, _ = bench.solve_with(p, "cpsat")
    assert a.status == "optimal"
    assert evaluate(p, a).objective == pytest.approx(inst.info.best_known.objective,
                                                     rel=1e-9)
    # the flow cannot staff two crews: the table says n/a, the command line refuses it
    assert main(["dispatch", "--instance", "small_crews"]) == 2


def test_dispatch_instance_prints_the_objective_and_the_best_known(capsys, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)  # any working folder
    assert main(["dispatch", "--instance", "small", "--out", "plan.csv"]) == 0
    out = capsys.readouterr().out
    best = json.loads((bench.FOLDER / "small" / "instance.json").read_text())["best_known"]
    assert f"instance         small (set version {bench.SET_VERSION})" in out
    assert f"best known       {best['objective']:,.3f}  (optimal by the exact min-cost" in out
    assert "gap to best known 0.0000%" in out
    plan = pd.read_csv(tmp_path / "plan.csv")
    sizes = json.loads((bench.FOLDER / "small" / "instance.json").read_text())["sizes"]
    assert len(plan) == sizes["tasks"] and (plan.status == "assigned").all()
    # a heuristic: the same line with its own gap
    assert main(["dispatch", "--instance", "small", "--method", "greedy"]) == 0
    out = capsys.readouterr().out
    greedy = float(out.split("this answer")[1].split("(")[0].replace(",", ""))
    assert greedy > best["objective"]
    assert f"gap to best known {gap(greedy, best['objective']):.4%}" in out


def test_an_unknown_instance_is_refused_with_the_list(capsys):
    assert main(["dispatch", "--instance", "smal"]) == 2
    err = capsys.readouterr().err
    assert "no reference instance 'smal'" in err
    assert "available: backlog, day, queued, saturated, shift_change, small, small_crews" in err
    with pytest.raises(InputError, match="available: none"):
        load_instance("small", bench.FOLDER / "no_such_folder")


def test_instance_and_files_do_not_mix(capsys):
    assert main(["dispatch", "--instance", "small", "--tasks", "t.csv"]) == 2
    assert "--instance replaces --tasks and --teams" in capsys.readouterr().err
    assert main(["dispatch", "--tasks", "t.csv", "--teams", "m.csv"]) == 2
    assert "give --tasks, --teams and --out" in capsys.readouterr().err
    assert main(["dispatch", "--instance", "small", "--now", "0", "--mode", "car"]) == 2
    assert "carries its own district, clock, travel modes and skills: drop --now, --mode" \
        in capsys.readouterr().err


def test_a_malformed_instance_json_names_the_field(tmp_path, district):
    shutil.copytree(bench.FOLDER / "small", tmp_path / "small")
    path = tmp_path / "small" / "instance.json"
    info = json.loads(path.read_text())
    info["best_known"]["objective"] = "lots"
    path.write_text(json.dumps(info))
    with pytest.raises(InputError, match=r"instance.json: best_known.objective"):
        read_instance(tmp_path / "small", district=district)
    info["best_known"]["objective"] = 1.0
    n = info["sizes"]["tasks"]
    info["sizes"]["tasks"] = n + 1
    path.write_text(json.dumps(info))
    with pytest.raises(InputError, match=f"sizes.tasks = {n + 1} but the tables hold {n}"):
        read_instance(tmp_path / "small", district=district)


def test_overdue_tasks_need_the_allowance(district):
    folder = bench.FOLDER / "backlog"
    info = json.loads((folder / "instance.json").read_text())
    tasks, teams = read_table(folder / "tasks.csv"), read_table(folder / "teams.csv")
    with pytest.raises(InputError, match="is before now"):
        build_problem(tasks, teams, district, now=info["now"])
    p, _, _ = build_problem(tasks, teams, district, now=info["now"], allow_overdue=True)
    assert (p.task_deadline < p.now).sum() == info["sizes"]["overdue"] > 0


def test_pinned_and_current_tasks_go_through_the_tables(district):
    folder = bench.FOLDER / "small"
    info = json.loads((folder / "instance.json").read_text())
    tasks, teams = read_table(folder / "tasks.csv"), read_table(folder / "teams.csv")
    p0, _, _ = build_problem(tasks, teams, district, now=info["now"])
    # task 0 started at its mcf team, task 1 queued at its mcf team
    team = solve(p0).team
    tasks["pinned_team"] = pd.Series([teams.id[team[0]]], dtype="Int64")
    tasks["current_team"] = pd.Series([None, teams.id[team[1]]], dtype="Int64")
    p, _, _ = build_problem(tasks, teams, district, now=info["now"])
    n = len(tasks)
    assert p.task_pinned.tolist() == [team[0]] + [-1] * (n - 1)
    assert p.task_current.tolist() == [-1, team[1]] + [-1] * (n - 2)
    # written back, the same columns (build_problem numbers skills as the teams name them)
    names = list(dict.fromkeys(n for v in teams.skills for n in v.split(";")))
    t2, m2 = problem_tables(p, task_cells=tasks.cell, team_cells=teams.cell,
                            skill_names=names, modes=teams["mode"])
    assert (t2.skill == tasks.skill).all() and (m2.skills == teams.skills).all()
    assert t2["pinned_team"].tolist()[:2] == [teams.id[team[0]], pd.NA]
    assert t2["current_team"].tolist()[:2] == [pd.NA, teams.id[team[1]]]
    q, _, _ = build_problem(t2, teams, district, now=info["now"])
    assert bench.differences(p, q) == []
    # an id that is no team's
    tasks.loc[3, "current_team"] = 999_999
    with pytest.raises(InputError, match=r"row 5 \(id \d+\), column 'current_team': 999999 "
                       "is not the id of a team"):
        build_problem(tasks, teams, district, now=info["now"])


# ---------------------------------------------------------------- freezing, round trip
TINY = bench.Run({**bench._QUIET, "run.days": 0.32, "crews": bench.SMALL_CREWS,
                  "demand.cases_per_day": 400, "dispatch.batch_per_slot": 3})
TINY_SPEC = bench.Spec("tiny", "the morning round of a short run", "tiny",
                       (0.25 * bench.DAY, 0.32 * bench.DAY))


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    """A tiny Jing'an run (7.7 simulated hours, 20 teams) frozen like the set."""
    from urbangrid.optimizer import get_policy
    from urbangrid.simulation.run import simulate

    sc = bench.scenario_of(TINY)
    rec = bench.Recorder(get_policy("mcf"), (TINY_SPEC,))
    res = simulate(sc, policy=rec, on_model=rec.attach)
    snap = rec.kept["tiny"]
    folder = tmp_path_factory.mktemp("inst") / "tiny"
    info = bench.write_instance(folder, TINY_SPEC, TINY, sc, snap, res.space.district,
                                res.catalogue.skills, rec.pool_by_day())
    return snap, folder, info, res


def test_a_frozen_round_reads_back_as_the_same_problem(frozen, district):
    snap, folder, info, _ = frozen
    s = snap.problem
    assert s.n_tasks >= 5 and s.n_teams >= 5
    # the simulation's snapshot holds the teams' cells and cell-to-cell travel
    assert s.cell_travel is not None and (s.team_cell != s.team_cell[0]).any()
    snap_cells = bench.snapshot_cells(snap)
    assert (snap_cells >= 0).all()
    tasks, teams = read_table(folder / "tasks.csv"), read_table(folder / "teams.csv")
    p, cells, _ = build_problem(tasks, teams, district, now=info["now"], mode=info["mode"],
                                allow_overdue=True, with_cell_travel=True)
    p = dataclasses.replace(p, weights=ScoreWeights(**info["weights"]))
    assert bench.differences(s, p, snap_cells, cells) == []
    slower = dataclasses.replace(p, cell_travel=p.cell_travel * np.float32(1.5))
    assert bench.differences(s, slower, snap_cells, cells) == ["cell_travel"]
    # ... and the check can fail: a changed work time and a moved team are seen
    tasks.loc[0, "work_minutes"] += 1
    far = district.cells["h3"].iloc[0]
    assert far not in set(teams["cell"])
    teams.loc[0, "cell"] = far
    q, cells, _ = build_problem(tasks, teams, district, now=info["now"], mode=info["mode"],
                                allow_overdue=True, with_cell_travel=True)
    q = dataclasses.replace(q, weights=ScoreWeights(**info["weights"]))
    assert set(bench.differences(s, q, snap_cells, cells)) >= {"task_work", "travel",
                                                               "team_cell"}


def test_urbangrid_dispatch_reads_the_frozen_tables(frozen, tmp_path, capsys):
    snap, folder, info, _ = frozen
    out = tmp_path / "plan.csv"
    assert main(["dispatch", "--tasks", str(folder / "tasks.csv"), "--teams",
                 str(folder / "teams.csv"), "--now", repr(info["now"]), "--allow-overdue",
                 "--out", str(out)]) == 0
    plan = pd.read_csv(out)
    assert plan["id"].tolist() == snap.problem.task_id.tolist()
    assert f"tasks            {snap.problem.n_tasks:,}" in capsys.readouterr().out


def test_the_frozen_description_and_best_known(frozen):
    snap, folder, info, res = frozen
    stored = json.loads((folder / "instance.json").read_text())
    assert stored == json.loads(json.dumps(info))
    assert stored["source"]["round"] == snap.round
    assert stored["source"]["simulated_time"].startswith("day 1 ")
    inst = read_instance(folder)
    a = solve(inst.problem, method="mcf")
    assert evaluate(inst.problem, a).objective == pytest.approx(
        stored["best_known"]["objective"], rel=1e-12)
    assert stored["best_known"]["proof"] == "optimal by the exact min-cost flow"


def test_freezing_is_deterministic(frozen, tmp_path):
    """Same seed, same tables, byte for byte."""
    from urbangrid.optimizer import get_policy
    from urbangrid.simulation.run import simulate

    snap, folder, _, _ = frozen
    sc = bench.scenario_of(TINY)
    rec = bench.Recorder(get_policy("mcf"), (TINY_SPEC,))
    res = simulate(sc, policy=rec, on_model=rec.attach)
    again = tmp_path / "tiny"
    bench.write_instance(again, TINY_SPEC, TINY, sc, rec.kept["tiny"], res.space.district,
                         res.catalogue.skills)
    for name in ("tasks.csv", "teams.csv"):
        assert (again / name).read_bytes() == (folder / name).read_bytes()


def test_crews_scale_half_up_and_keep_a_team():
    from urbangrid.simulation.scenario import load_scenario

    sc = load_scenario(bench.ROOT / bench.SCENARIO)
    scaled = bench.scaled_crews(sc, 0.6)
    for crew, new in zip(sc.crews, scaled, strict=True):
        for key in ("per_subdistrict", "district_wide"):
            old = getattr(crew, key)
            assert new[key] == (max(1, int(old * 0.6 + 0.5)) if old else 0)


def test_the_results_table_prices_every_method_with_evaluate(tmp_path):
    shutil.copytree(bench.FOLDER / "small", tmp_path / "small")
    shutil.copytree(bench.FOLDER / "small_crews", tmp_path / "small_crews")
    md, js = tmp_path / "T.md", tmp_path / "T.json"
    res = bench.table(tmp_path, md, js)
    rows = {r["name"]: r for r in res["instances"]}
    small = rows["small"]["methods"]
    assert small["mcf"]["gap"] == 0.0 and small["mcf"]["status"] == "optimal"
    assert small["mcf_route"]["objective"] == small["mcf"]["objective"]
    assert small["nearest"]["gap"] > 0 and small["greedy"]["gap"] > 0
    assert rows["small_crews"]["methods"]["mcf"] is None
    text = md.read_text()
    assert f"Instance set version **{bench.SET_VERSION}**" in text
    assert "| small_crews | 40 × 20 | 20,703.2 | CP-SAT optimal (`cpsat`) | n/a |" in text
    assert json.loads(js.read_text())["set_version"] == bench.SET_VERSION
