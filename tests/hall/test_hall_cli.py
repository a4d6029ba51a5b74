"""``urbangrid hall simulate``, ``hall staff`` and ``compare`` on hall scenarios."""

from __future__ import annotations

import json

from tests.hall.hall_helpers import toy_toml
from urbangrid.cli import main


def test_simulate_writes_kpis_and_report(tmp_path):
    sc = toy_toml(tmp_path / "toy.toml")
    out = tmp_path / "out"
    assert main(["hall", "simulate", str(sc), "--out", str(out), "--replications", "2",
                 "--quiet"]) == 0
    doc = json.loads((out / "hall_kpis.json").read_text(encoding="utf-8"))
    assert doc["matters"] == 564 and doc["departments"] == 29
    for key in ("requests_per_day", "wait_min_mean", "wait_min_p90",
                "trips_per_matter_mean", "online_share"):
        assert set(doc[key]) == {"mean", "ci95", "n"} and doc[key]["n"] == 2
    assert set(doc["by_channel"]) == {"hall", "subdistrict", "online", "no_application"}
    assert len(doc["by_department"]) == 29
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html and "<script" not in html


def test_same_seed_same_bytes(tmp_path):
    sc = toy_toml(tmp_path / "toy.toml")
    docs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        assert main(["hall", "simulate", str(sc), "--out", str(out), "--seed", "5",
                     "--quiet"]) == 0
        docs.append((out / "hall_kpis.json").read_bytes())
    assert docs[0] == docs[1]


def test_bad_input_exits_2(tmp_path, capsys):
    out = str(tmp_path / "o")
    cases = {
        "skill": toy_toml(tmp_path / "a.toml", skills="[]"),
        "hours": toy_toml(tmp_path / "b.toml", hours="9 to 5"),
        "matter": toy_toml(tmp_path / "c.toml",
                           extra='[hall.levers]\nmake_online = ["no-such-matter"]\n'),
    }
    for what, path in cases.items():
        assert main(["hall", "simulate", str(path), "--out", out, "--quiet"]) == 2, what
        err = capsys.readouterr().err
        assert err.startswith("urbangrid: error:"), (what, err)
        assert str(path) in err or what == "matter"
    assert main(["hall", "simulate", str(tmp_path / "absent.toml"), "--out", out]) == 2


def test_impossible_staffing_target_exits_2_with_the_best_wait(tmp_path, capsys):
    sc = toy_toml(tmp_path / "toy.toml", count=2)
    assert main(["hall", "staff", str(sc), "--target-wait-min", "1", "--out",
                 str(tmp_path / "s"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no counter schedule keeps the p90 wait at or below 1 min" in err
    assert "best achievable" in err


def test_compare_two_hall_scenarios(tmp_path):
    a = toy_toml(tmp_path / "a.toml", name="base")
    b = toy_toml(tmp_path / "b.toml", name="remote",
                 extra="[hall.levers]\nremote_check_share = 1.0\n")
    out = tmp_path / "cmp"
    assert main(["compare", str(a), str(b), "--replications", "2", "--out", str(out),
                 "--quiet"]) == 0
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert doc["kind"] == "hall" and doc["baseline"] == "base"
    d = doc["differences"]["remote"]["all"]["trips_per_matter_mean"]
    assert d["mean"] < 0 and d["n"] == 2
    assert (out / "report.html").exists() and (out / "differences.png").exists()


def test_registering_hall_loads_no_engine_and_the_service_no_hall():
    import subprocess
    import sys

    code = ("import sys; from urbangrid.cli import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'simpy', 'ortools'})); "
            "import urbangrid.service, urbangrid.service.app; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'simpy'}), "
            "[m for m in sys.modules if m.startswith('urbangrid.hall.') "
            "and m != 'urbangrid.hall.commands'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["[]", "[]", "[]"]


def test_compare_does_not_mix_hall_and_grid_scenarios(tmp_path, capsys):
    from tests.shared import SCENARIOS

    a = toy_toml(tmp_path / "a.toml")
    assert main(["compare", str(a), str(SCENARIOS / "jingan_integrated.toml"),
                 "--replications", "2", "--out", str(tmp_path / "c"), "--quiet"]) == 2
    assert "not a hall scenario" in capsys.readouterr().err
