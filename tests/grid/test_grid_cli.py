"""``urbangrid district info|map``."""

import json

import pytest

from tests.shared import GRID_DATA as DATA
from tests.shared import shared_data
from urbangrid.cli import main


def test_info_default(capsys, tmp_path):
    assert main(["district", "info", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3,220" in out and "SURROGATE" in out and "sub-districts   14" in out
    assert "ebike" in out


def test_info_json_resolution_9(capsys):
    assert main(["district", "info", "--resolution", "9", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["cells"] == 456 and s["network"]["kind"] == "surrogate"
    assert set(s["travel_time"]["modes"]) == {"walk", "ebike", "car"}


def test_info_osm_boundary(capsys):
    path = shared_data("geo/jingan_subdistricts_osm.geojson")
    assert main(["district", "info", "--boundary", str(path), "--code-column", "code9",
                 "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["cells"] == 3220 and s["subdistricts"] == 14


def test_info_with_network_and_points(capsys):
    net = shared_data("geo/peoples_square_osm_drive.graphml")
    assert main(["district", "info", "--boundary", str(DATA / "peoples_square_two_parts.geojson"),
                 "--network", str(net), "--points", str(DATA / "stations_inside.csv"),
                 "--speed", "car=25"]) == 0
    out = capsys.readouterr().out
    assert "OpenStreetMap road network" in out and "connector links" in out
    assert "w_points" in out and "25.0" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--speed", "car"], "MODE=KMH"),
    (["--speed", "car=fast"], "not a number"),
    (["--weights", "w.csv"], "needs --boundary"),
    (["--resolution", "12"], "resolution"),
])
def test_info_bad_options_exit_2(capsys, argv, message):
    assert main(["district", "info", *argv]) == 2
    assert message in capsys.readouterr().err


def test_map_writes_png(tmp_path):
    out = tmp_path / "maps" / "jingan.png"
    assert main(["district", "map", "--out", str(out), "--resolution", "9", "--dpi", "60"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_map_bad_extension(capsys, tmp_path):
    assert main(["district", "map", "--out", str(tmp_path / "x.txt")]) == 2
    assert ".png" in capsys.readouterr().err


def test_district_without_subcommand_prints_help(capsys):
    assert main(["district"]) == 2
    assert "info" in capsys.readouterr().out
