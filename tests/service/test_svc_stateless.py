"""``POST /dispatch`` has the contract of ``urbangrid dispatch``: same input, same plan,
same refusals."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from tests.service.svc_helpers import assert_error
from urbangrid.optimizer import cli

SKILLS = ["roads", "greenery", "sanitation"]


@pytest.fixture(scope="module")
def tables():
    from urbangrid.grid import District

    d = District.jingan()
    c = d.cells
    rng = np.random.default_rng(3)
    ti = rng.integers(0, d.n_cells, 30)
    mi = rng.integers(0, d.n_cells, 5)
    start = pd.Timestamp("2026-03-02 08:00")
    tasks = pd.DataFrame({
        "id": np.arange(1, 31), "lat": c.lat.to_numpy()[ti], "lon": c.lon.to_numpy()[ti],
        "skill": rng.choice(SKILLS, 30), "priority": rng.choice([1, 2, 3], 30),
        "deadline": (start + pd.to_timedelta(rng.integers(120, 3000, 30), unit="min"))
        .strftime("%Y-%m-%dT%H:%M:%S"),
        "work_minutes": rng.integers(10, 60, 30),
    })
    teams = pd.DataFrame({
        "id": np.arange(101, 106), "lat": c.lat.to_numpy()[mi], "lon": c.lon.to_numpy()[mi],
        "skills": ["roads;greenery", "sanitation", "roads", "greenery;sanitation",
                   "roads;greenery"],
        "capacity": [4, 4, 3, 5, 2],
        "shift_start": "2026-03-02T08:00:00", "shift_end": "2026-03-02T17:00:00",
    })
    return tasks, teams


def run_cli(tmp_path, tasks, teams, *extra):
    tp, mp, out = tmp_path / "tasks.csv", tmp_path / "teams.csv", tmp_path / "out.csv"
    tasks.to_csv(tp, index=False)
    teams.to_csv(mp, index=False)
    parser = argparse.ArgumentParser(prog="urbangrid")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dispatch", "--tasks", str(tp), "--teams", str(mp), "--out",
                              str(out), *extra])
    assert args.func(args) == 0
    return pd.read_csv(out)


def rows(df):
    return df.astype(object).where(df.notna(), None).to_dict("records")


@pytest.mark.parametrize("method", ["mcf", "greedy"])
def test_same_plan_as_the_command(live, tables, tmp_path, method):
    tasks, teams = tables
    want = run_cli(tmp_path, tasks, teams, "--method", method)
    r = live.http.post("/dispatch", params={"api_key": live.keys["dispatcher"]}, json={
        "tasks": rows(tasks), "teams": rows(teams), "method": method})
    assert r.status_code == 200, r.text
    got = pd.DataFrame(r.json()["assignments"])
    assert got["id"].tolist() == want["id"].tolist()
    assert got["status"].tolist() == want["status"].tolist()
    assert got["team"].fillna(-1).astype(int).tolist() == want["team"].fillna(-1).astype(
        int).tolist()
    assert got["eta"].fillna("").tolist() == want["eta"].fillna("").tolist()
    np.testing.assert_allclose(got["cost"], want["cost"])
    assert got["reason"].fillna("").tolist() == want["reason"].fillna("").tolist()
    s = r.json()["summary"]
    assert s["assigned"] == int((want["status"] == "assigned").sum())
    assert s["assigned"] + s["deferred"] == len(tasks)


@pytest.mark.parametrize(("change", "words"), [
    (lambda t, m: (t.assign(skill="plumbing"), m), ("column 'skill'", "unknown skill")),
    (lambda t, m: (t.assign(lat=30.0), m), ("outside the district",)),
    (lambda t, m: (t.assign(priority=0), m), ("priority must be > 0",)),
    (lambda t, m: (t.drop(columns=["deadline"]), m), ("missing column 'deadline'",)),
    (lambda t, m: (t, m.assign(shift_end="2026-03-02T07:00:00")), ("shift_end",)),
])
def test_same_refusals_as_the_command(live, tables, tmp_path, change, words):
    from urbangrid.errors import InputError

    tasks, teams = change(*tables)
    with pytest.raises(InputError) as exc:
        run_cli(tmp_path, tasks, teams)
    r = live.http.post("/dispatch", params={"api_key": live.keys["dispatcher"]}, json={
        "tasks": rows(tasks), "teams": rows(teams)})
    assert_error(r, 400, *words)
    # the command names the file, the service names the table: the rest is the same text
    assert str(exc.value).split(": ", 1)[1] in r.json()[0]["description"]


def test_dispatch_needs_the_dispatcher_role(live, tables):
    tasks, teams = tables
    body = {"tasks": rows(tasks), "teams": rows(teams)}
    assert_error(live.http.post("/dispatch", json=body), 403, "missing")
    assert_error(live.http.post("/dispatch", json=body,
                                params={"api_key": live.keys["intake"]}), 403, "role")
    assert_error(live.http.post("/dispatch", params={"api_key": live.keys["admin"]},
                                json={"tasks": "x", "teams": []}), 400, "tasks")
