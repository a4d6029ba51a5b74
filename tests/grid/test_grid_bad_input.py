"""Bad user input: each case gives one InputError naming the file and the problem."""

import logging
import shutil

import numpy as np
import pytest

from tests.shared import GRID_DATA as DATA
from tests.shared import shared_data
from urbangrid.cli import main
from urbangrid.errors import InputError
from urbangrid.grid import District

GOOD = DATA / "peoples_square_two_parts.geojson"


@pytest.mark.parametrize(
    ("fixture", "kwargs", "message"),
    [
        ("does_not_exist.geojson", {}, "not found"),
        ("garbage.geojson", {}, "cannot read"),
        ("empty_collection.geojson", {}, "no features"),
        ("null_geometry.geojson", {}, "empty or missing geometry for sub-district 'B'"),
        ("empty_coordinates.geojson", {}, "empty or missing geometry for sub-district 'A'"),
        ("point_geometry.geojson", {}, "polygons are needed"),
        ("no_code_column.geojson", {}, "no code column 'code'"),
        ("peoples_square_two_parts.geojson", {"name_column": "nom"}, "no name column 'nom'"),
        ("swapped_latlon.geojson", {}, "swapped"),
        ("metres_as_degrees.geojson", {}, "projected metres"),
        ("utm51_declared.geojson", {"source_crs": "gcj02"}, "unexpected CRS"),
        ("peoples_square_two_parts.geojson", {"source_crs": "osgb36"}, "source_crs"),
        ("peoples_square_two_parts.geojson", {"resolution": 16}, "resolution"),
        ("peoples_square_two_parts.geojson", {"resolution": 15}, "use a coarser resolution"),
    ],
)
def test_bad_boundary(fixture, kwargs, message):
    with pytest.raises(InputError, match=message) as info:
        District.from_files(DATA / fixture, **kwargs)
    if fixture != "peoples_square_two_parts.geojson" or "name_column" in kwargs:
        assert fixture in str(info.value)  # the message names the file


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(InputError, match="not a file"):
        District.from_files(tmp_path)


def test_geocentric_crs_is_unexpected():
    with pytest.raises(InputError, match="unexpected CRS .EPSG:4978."):
        District.from_files(DATA / "geocentric_declared.geojson")


def test_self_intersection_is_repaired_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="urbangrid.grid"):
        d = District.from_files(DATA / "bowtie_self_intersection.geojson")
    assert "make_valid" in caplog.text and "bowtie_self_intersection" in caplog.text
    assert d.n_cells > 10
    assert d.outline.is_valid


def test_declared_projected_crs_is_reprojected(caplog):
    with caplog.at_level(logging.WARNING, logger="urbangrid.grid"):
        d = District.from_files(DATA / "utm51_declared.geojson")
    assert "reprojecting" in caplog.text
    assert d.cells["lat"].between(31.2, 31.26).all()
    assert d.cells["lon"].between(121.45, 121.50).all()
    assert 2.5 < d.area_km2 < 5.5  # a 2 km x 2 km square


def test_graphml_without_lengths():
    with pytest.raises(InputError, match="have no 'length'") as info:
        District.from_files(GOOD, network=DATA / "no_length.graphml")
    assert "no_length.graphml" in str(info.value)


def test_graphml_unreadable():
    with pytest.raises(InputError, match="cannot read as GraphML"):
        District.from_files(GOOD, network=DATA / "garbage.geojson")


def test_network_not_covering_district():
    net = shared_data("geo/peoples_square_osm_drive.graphml")
    with pytest.raises(InputError, match="does not cover the district"):
        District.jingan(9, network=net)


def test_points_outside_district():
    with pytest.raises(InputError, match="1 of 2 points lie outside") as info:
        District.from_files(GOOD, points=DATA / "stations_one_outside.csv")
    assert "Jing'an Temple" in str(info.value) and "stations_one_outside.csv" in str(info.value)


def test_points_inside_give_weight():
    d = District.from_files(GOOD, points=DATA / "stations_inside.csv")
    assert "w_points" in d.weight_columns
    assert d.cells["w_points"].max() == 2  # cells within 500 m of both stations
    assert (d.points["cell"] >= 0).all()


def test_points_swapped(tmp_path):
    p = tmp_path / "swapped_points.csv"
    p.write_text("name,lat,lon\nx,121.4726,31.2335\n")
    with pytest.raises(InputError, match="swapped"):
        District.from_files(GOOD, points=p)


def test_weights_by_code_are_spread_by_area():
    d = District.from_files(GOOD, weights=DATA / "weights_by_code.csv")
    assert "w_population" in d.weight_columns and "w_note" not in d.weight_columns
    per_sub = d.cells.groupby("subdistrict")["w_population"].sum()
    assert per_sub["W"] == pytest.approx(1000) and per_sub["E"] == pytest.approx(3000)


@pytest.mark.parametrize(("fixture", "message"), [
    ("weights_unknown_code.csv", r"codes \['Z'\]"),
    ("weights_negative.csv", "not a non-negative number"),
])
def test_bad_weights(fixture, message):
    with pytest.raises(InputError, match=message):
        District.from_files(GOOD, weights=DATA / fixture)


def test_weights_by_cell(tmp_path):
    d0 = District.from_files(GOOD)
    cell = d0.cells["h3"].iloc[5]
    p = tmp_path / "w.csv"
    p.write_text(f"h3,pop\n{cell},42\n")
    d = District.from_files(GOOD, weights=p)
    assert d.cells["w_pop"].sum() == 42 and d.cells["w_pop"].iloc[5] == 42
    p.write_text("h3,pop\n8a2a1072b59ffff,42\n")  # New York
    with pytest.raises(InputError, match="outside the district"):
        District.from_files(GOOD, weights=p)


def test_gcj02_boundary_gives_wgs84_cells(tmp_path):
    """A boundary shifted into GCJ-02 and loaded with source_crs='gcj02' matches WGS84."""
    import geopandas as gpd
    import shapely

    from urbangrid.grid import wgs84_to_gcj02

    gdf = gpd.read_file(GOOD)

    def fwd(xy):
        lat, lon = wgs84_to_gcj02(xy[:, 1], xy[:, 0])
        return np.column_stack([lon, lat])

    gdf["geometry"] = shapely.transform(gdf.geometry.to_numpy(), fwd)
    p = tmp_path / "gcj.geojson"
    gdf.to_file(p)
    a = District.from_files(GOOD)
    b = District.from_files(p, source_crs="gcj02")
    assert list(a.cells["h3"]) == list(b.cells["h3"])
    # read as if it were WGS84, the ~500 m offset moves cells
    c = District.from_files(p)
    assert list(a.cells["h3"]) != list(c.cells["h3"])


def test_cli_bad_file_exit_code_2(capsys, tmp_path):
    code = main(["district", "info", "--boundary", str(DATA / "swapped_latlon.geojson")])
    assert code == 2
    err = capsys.readouterr().err
    assert "swapped_latlon.geojson" in err and "swapped" in err
    assert "Traceback" not in err


def test_unreadable_permissions(tmp_path):
    import os

    p = tmp_path / "locked.geojson"
    shutil.copy(GOOD, p)
    p.chmod(0)
    if os.access(p, os.R_OK):  # root ignores permissions
        pytest.skip("running as a user that can read any file (root)")
    with pytest.raises(InputError, match="not readable"):
        District.from_files(p)


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_geopackage_and_shapefile(tmp_path, driver, suffix):
    import geopandas as gpd

    gdf = gpd.read_file(GOOD)
    p = tmp_path / f"two_parts{suffix}"
    gdf.to_file(p, driver=driver)
    a = District.from_files(GOOD)
    b = District.from_files(p)
    assert list(a.cells["h3"]) == list(b.cells["h3"])
    assert list(a.cells["subdistrict"]) == list(b.cells["subdistrict"])


def test_duplicate_codes_are_merged_and_logged(tmp_path, caplog):
    import geopandas as gpd

    gdf = gpd.read_file(GOOD)
    gdf["code"] = ["SAME", "SAME"]
    p = tmp_path / "dup.geojson"
    gdf.to_file(p)
    with caplog.at_level(logging.WARNING, logger="urbangrid.grid"):
        d = District.from_files(p)
    assert "merged" in caplog.text
    assert len(d.subdistricts) == 1
    assert d.n_cells == District.from_files(GOOD).n_cells


def test_geometry_collection_keeps_polygon_parts():
    d = District.from_files(DATA / "collection_with_line.geojson")
    w = District.from_files(GOOD)
    assert set(d.cells["h3"]) == set(w.cells.loc[w.cells["subdistrict"] == "W", "h3"])


def test_weight_name_reserved(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("code,area\nW,1\nE,2\n")
    with pytest.raises(InputError, match="reserved"):
        District.from_files(GOOD, weights=p)
