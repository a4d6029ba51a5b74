"""``urbangrid dispatch``: happy paths in three formats and every bad input of the issue."""

import numpy as np
import pandas as pd
import pytest

from urbangrid.errors import InputError
from urbangrid.optimizer import cli

SKILLS = ["roads", "greenery", "sanitation"]


@pytest.fixture(scope="module")
def district():
    from urbangrid.grid import District
    return District.jingan()


@pytest.fixture
def files(tmp_path, district):
    c = district.cells
    rng = np.random.default_rng(0)
    ti = rng.integers(0, district.n_cells, 24)
    mi = rng.integers(0, district.n_cells, 5)
    start = pd.Timestamp("2026-03-02 08:00")
    tasks = pd.DataFrame({
        "id": np.arange(1, 25), "lat": c.lat.to_numpy()[ti], "lon": c.lon.to_numpy()[ti],
        "skill": rng.choice(SKILLS, 24), "priority": rng.choice([1, 2, 3], 24),
        "deadline": (start + pd.to_timedelta(rng.integers(120, 3000, 24), unit="min"))
        .strftime("%Y-%m-%dT%H:%M:%S"),
        "work_minutes": rng.integers(10, 60, 24),
    })
    teams = pd.DataFrame({
        "id": np.arange(101, 106), "lat": c.lat.to_numpy()[mi], "lon": c.lon.to_numpy()[mi],
        "skills": ["roads;greenery", "sanitation", "roads", "greenery;sanitation",
                   "roads;greenery;sanitation"],
        "capacity": [4, 4, 3, 5, 6],
        "shift_start": "2026-03-02T08:00:00", "shift_end": "2026-03-02T17:00:00",
    })

    def write(t=None, m=None, fmt="csv"):
        t = tasks if t is None else t
        m = teams if m is None else m
        tp, mp = tmp_path / f"tasks.{fmt}", tmp_path / f"teams.{fmt}"
        if fmt == "csv":
            t.to_csv(tp, index=False)
            m.to_csv(mp, index=False)
        elif fmt == "parquet":
            t.to_parquet(tp)
            m.to_parquet(mp)
        else:
            import geopandas as gpd
            for df, path in ((t, tp), (m, mp)):
                g = gpd.GeoDataFrame(df.drop(columns=["lat", "lon"]),
                                     geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)
                g.to_file(path, driver="GeoJSON")
        return tp, mp

    return tasks, teams, write, tmp_path


def run(tp, mp, out, *extra):
    """Parse with this package's own sub-command and run the handler (the ``urbangrid``
    shell adds only the InputError -> exit 2 mapping, tested once below)."""
    import argparse
    parser = argparse.ArgumentParser(prog="urbangrid")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dispatch", "--tasks", str(tp), "--teams", str(mp), "--out",
                              str(out), *extra])
    return args.func(args)


def test_through_the_urbangrid_shell_exit_codes(files, capsys):
    from urbangrid.cli import main
    tasks, teams, write, tmp = files
    tp, mp = write()
    argv = ["dispatch", "--tasks", str(tp), "--teams", str(mp), "--out"]
    assert main([*argv, str(tmp / "ok.csv")]) == 0
    assert main([*argv, str(tmp / "bad.xlsx")]) == 2
    assert capsys.readouterr().err.startswith("urbangrid: error: --out: unsupported")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "geojson"])
def test_dispatch_writes_one_row_per_task(files, fmt, capsys):
    tasks, teams, write, tmp = files
    tp, mp = write(fmt=fmt)
    out = tmp / "plan.csv"
    assert run(tp, mp, out, "--routes") == 0
    plan = pd.read_csv(out)
    assert plan["id"].tolist() == tasks["id"].tolist()
    assert set(plan["status"]) <= {"assigned", "deferred"}
    got = plan[plan.status == "assigned"]
    assert len(got) > 15
    assert set(got["team"].astype(int)) <= set(teams["id"])
    # capacities and skills hold in the written plan
    counts = got["team"].astype(int).value_counts()
    cap = teams.set_index("id")["capacity"]
    assert (counts <= cap[counts.index]).all()
    skills = teams.set_index("id")["skills"].str.split(";")
    for _, row in got.iterrows():
        assert tasks.set_index("id").loc[row["id"], "skill"] in skills[int(row["team"])]
    # routed: each team's orders are 0..k-1, ETAs are ISO times
    for _, grp in got.groupby("team"):
        assert sorted(grp["order"].astype(int)) == list(range(len(grp)))
    assert pd.to_datetime(got["eta"]).min() >= pd.Timestamp("2026-03-02 08:00")
    deferred = plan[plan.status == "deferred"]
    assert deferred["reason"].notna().all()
    text = capsys.readouterr().out
    for word in ("assigned", "deferred", "objective", "lower bound", "solve time"):
        assert word in text


@pytest.mark.parametrize("method", ["greedy", "cpsat"])
def test_other_methods_and_parquet_output(files, method):
    _, _, write, tmp = files
    tp, mp = write()
    out = tmp / "plan.parquet"
    assert run(tp, mp, out, "--method", method, "--time-limit", "5") == 0
    assert len(pd.read_parquet(out)) == 24


def test_task_no_team_can_serve_is_deferred_with_reason(files):
    tasks, teams, write, tmp = files
    t = tasks.copy()
    t.loc[0, "skill"] = "roads;sanitation"  # known skills, but no single team has both ...
    m = teams.copy()
    m.loc[4, "skills"] = "greenery"  # ... once the all-round team loses them
    tp, mp = write(t, m)
    assert run(tp, mp, tmp / "o.csv") == 0
    row = pd.read_csv(tmp / "o.csv").iloc[0]
    assert row["status"] == "deferred" and row["reason"] == "no_qualified_team"


def _mutate(files, which, fn):
    tasks, teams, write, tmp = files
    t, m = tasks.copy(), teams.copy()
    fn(t if which == "tasks" else m)
    return write(t, m)


BAD = [
    ("tasks", lambda d: d.__setitem__("id", [1] * len(d)), r"duplicate task id 1"),
    ("teams", lambda d: d.__setitem__("id", [7, 7, 8, 9, 10]), r"duplicate team id 7"),
    ("tasks", lambda d: d.loc.__setitem__((2, "skill"), "plumbing"),
     r"row 4 \(id 3\), column 'skill': unknown skill 'plumbing'"),
    ("tasks", lambda d: d.loc.__setitem__((1, "lat"), np.nan), r"row 3.*'lat'.*finite"),
    ("tasks", lambda d: d.loc.__setitem__((1, "lat"), 30.0), r"row 3.*outside the district"),
    ("tasks", lambda d: d.loc.__setitem__((5, "work_minutes"), -5),
     r"row 7.*work_minutes must be >= 0"),
    ("tasks", lambda d: d.loc.__setitem__((0, "deadline"), "2026-03-01T12:00:00"),
     r"row 2.*deadline.*before now"),
    ("teams", lambda d: d.loc.__setitem__((1, "shift_end"), "2026-03-02T08:00:00"),
     r"row 3.*needs a shift"),
    ("teams", lambda d: d.loc.__setitem__((1, "shift_start"), np.nan), r"shift_start"),
    ("teams", lambda d: d.loc.__setitem__((3, "capacity"), 0), r"row 5.*capacity.*>= 1"),
    ("tasks", lambda d: d.pop("deadline"), r"missing column 'deadline'"),
    ("tasks", lambda d: d.loc.__setitem__((0, "priority"), 0), r"priority must be > 0"),
]


@pytest.mark.parametrize(("which", "fn", "match"), BAD)
def test_bad_input_raises_input_error_naming_file_row_and_column(files, which, fn, match):
    tp, mp = _mutate(files, which, fn)
    with pytest.raises(InputError, match=match) as err:
        run(tp, mp, files[3] / "o.csv")
    assert f"{which}.csv" in str(err.value)
    assert not (files[3] / "o.csv").exists()


@pytest.mark.parametrize(("extra", "match"), [
    ((), "unsupported file type '.xlsx'"),
    (("--district", "nowhere.geojson"), "no such file"),
    (("--now", "yesterday"), "not a date-time"),
    (("--time-limit", "0"), "time-limit"),
])
def test_bad_options(files, extra, match):
    _, _, write, tmp = files
    tp, mp = write()
    out = tmp / ("o.xlsx" if not extra else "o.csv")
    with pytest.raises(InputError, match=match):
        run(tp, mp, out, *extra)


def test_missing_file(files):
    _, _, write, tmp = files
    _, mp = write()
    with pytest.raises(InputError, match="file not found"):
        run(tmp / "missing.csv", mp, tmp / "o.csv")


def test_same_input_same_output_bytes(files):
    _, _, write, tmp = files
    tp, mp = write()
    assert run(tp, mp, tmp / "a.csv", "--routes") == 0
    assert run(tp, mp, tmp / "b.csv", "--routes") == 0
    assert (tmp / "a.csv").read_bytes() == (tmp / "b.csv").read_bytes()


def test_registering_the_command_loads_no_solver():
    # `urbangrid --help` must not pay for Numba or OR-Tools: the handler imports them
    import subprocess
    import sys

    code = ("import sys; from urbangrid.cli import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'ortools'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_now_with_an_offset_is_the_same_instant_as_the_files(files):
    """Issue 19, defect 1 on the command line: 09:00+08:00 and 01:00Z are one instant; the
    shift 08:00-17:00+08:00 is on, so both assign the same plan."""
    tasks, teams, write, tmp = files
    t = tasks.assign(deadline=tasks["deadline"] + "+08:00")
    m = teams.assign(shift_start="2026-03-02T08:00:00+08:00",
                     shift_end="2026-03-02T17:00:00+08:00")
    tp, mp = write(t, m)
    outs = []
    for k, now in enumerate(("2026-03-02T09:00:00+08:00", "2026-03-02T01:00:00Z")):
        out = tmp / f"plan{k}.csv"
        assert run(tp, mp, out, "--now", now) == 0
        outs.append(pd.read_csv(out))
    assert outs[0].equals(outs[1])
    assigned = outs[0][outs[0]["status"] == "assigned"]
    assert len(assigned) > 0  # on shift (the old reading deferred every task: off_shift)
    assert assigned["eta"].str.endswith("+00:00").all()  # the ETA says which instant
    with pytest.raises(InputError, match="lacks a UTC offset"):
        run(tp, mp, tmp / "x.csv", "--now", "2026-03-02T09:00:00")


def test_ids_beyond_64_bits_numeric_now_and_unstaffed_crews_are_refused(files):
    """Issue 19, defect 6 on the command line: an id of 2**70 was wrapped to a negative
    one, a numeric --now against ISO files deferred everything, and crews: 3 was
    ignored by the default method."""
    tasks, teams, write, tmp = files
    big = tasks.astype({"id": object})
    big.loc[0, "id"] = str(2**70)
    tp, mp = write(big, None)
    with pytest.raises(InputError, match=r"id '?1180591620717411303424'? does not fit in 64 bits"):
        run(tp, mp, tmp / "x.csv")
    exact = tasks.astype({"id": object})
    exact.loc[0, "id"] = str(2**62 + 1)  # above 2**53: a float reading would round it
    tp, mp = write(exact, None)
    assert run(tp, mp, tmp / "exact.csv") == 0
    assert str(2**62 + 1) in set(pd.read_csv(tmp / "exact.csv", dtype=str)["id"])
    tp, mp = write()
    with pytest.raises(InputError, match="number of seconds but the files use ISO"):
        run(tp, mp, tmp / "x.csv", "--now", "12345")
    tp, mp = write(tasks.assign(crews=[3] + [1] * (len(tasks) - 1)), None)
    with pytest.raises(InputError, match="needs 3 crews at once: only --method cpsat"):
        run(tp, mp, tmp / "x.csv")
