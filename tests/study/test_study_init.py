"""`urbangrid init` (issue 18): a district the project has never seen goes from a boundary
file to a running, non-saturated simulation with two commands."""

import json
import tomllib

import pytest

from tests.shared import TESTS
from urbangrid import cli
from urbangrid.simulation import load_scenario

GRID_DATA = TESTS / "grid" / "data"
TWO_PARTS = GRID_DATA / "peoples_square_two_parts.geojson"


def test_init_then_simulate_runs_a_steady_unsaturated_district(tmp_path, capsys):
    assert cli.main(["init", "--boundary", str(TWO_PARTS), "--population", "60000",
                     "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "scale 0.06 = 60,000 residents" in printed
    path = tmp_path / "peoples_square_two_parts.toml"
    text = path.read_text(encoding="utf-8")
    assert "# Starter scenario written by `urbangrid init`" in text
    assert "demand.cases_per_day = 390 (Jing'an 6,500 × scale)" in text
    s = load_scenario(path)
    assert s.district.source == "files" and s.demand.cases_per_day == 390
    # the teams keep Jing'an's teams per case (within rounding, at least one per crew)
    teams = sum(c.per_subdistrict * 2 + c.district_wide for c in s.crews)
    assert 0.9 * 532 * 0.06 <= teams <= 532 * 0.06 + len(s.crews)
    out = tmp_path / "run"
    assert cli.main(["simulate", str(path), "--days", "7", "--out", str(out),
                     "--quiet"]) == 0
    doc = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert doc["warnings"] == []  # not censored, not saturated, steady
    assert doc["kpis"]["utilisation_mean"]["mean"] < 0.8
    assert doc["kpis"]["cases_open_end"]["mean"] == 0


def test_without_population_area_stands_for_people(tmp_path, capsys):
    assert cli.main(["init", "--boundary", str(TWO_PARTS), "--out", str(tmp_path)]) == 0
    assert "no --population given: area stands for people" in capsys.readouterr().out
    s = load_scenario(tmp_path / "peoples_square_two_parts.toml")
    # 3.77 km² of Jing'an's 36.9: about a tenth of its 6,500 cases a day
    assert 600 < s.demand.cases_per_day < 720


def test_a_boundary_without_codes_gets_generated_ones(tmp_path, capsys):
    src = GRID_DATA / "no_code_column.geojson"
    assert cli.main(["init", "--boundary", str(src), "--population", "20000",
                     "--out", str(tmp_path)]) == 0
    assert "codes D01" in capsys.readouterr().out
    data = tomllib.loads((tmp_path / "no_code_column.toml").read_text(encoding="utf-8"))
    assert data["district"]["boundary"] == "no_code_column.boundary.geojson"
    s = load_scenario(tmp_path / "no_code_column.toml")
    assert s.district.code_column == "code"


@pytest.mark.parametrize(("argv", "message"), [
    (["--boundary", "nowhere.geojson"], "boundary file not found"),
    (["--boundary", str(TWO_PARTS), "--population", "0"], "--population 0"),
    (["--boundary", str(TWO_PARTS), "--weight", "w_people"], "--weight 'w_people'"),
])
def test_init_bad_input_exits_2(tmp_path, capsys, argv, message):
    assert cli.main(["init", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_init_places_iot_coverage_over_the_whole_district(tmp_path, capsys):
    # Defect 3: with area weights every cell ties, and ties broken by cell index put the
    # cameras in a band (whole sub-districts covered, others bare). The starter says how
    # coverage is placed, and each part of the district gets its share.
    import numpy as np

    from urbangrid.catalogue import load_catalogue
    from urbangrid.simulation.run import _demand_model, build_space, make_calendar

    assert cli.main(["init", "--boundary", str(TWO_PARTS), "--population", "60000",
                     "--out", str(tmp_path)]) == 0
    assert "every cell ties (demand follows area) placed at random" in capsys.readouterr().out
    s = load_scenario(tmp_path / "peoples_square_two_parts.toml")
    space = build_space(s.district)
    dem = _demand_model(s, space, load_catalogue(), make_calendar(s))
    per_part = [dem.iot_covered[space.subdistrict == k].mean()
                for k in range(space.n_subdistricts)]
    assert np.allclose(per_part, s.channels.iot.coverage, atol=0.1), per_part
