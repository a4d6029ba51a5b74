"""The built-in Jing'an district."""

import h3
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csgraph

from urbangrid.errors import InputError
from urbangrid.grid import District, cell_adjacency


def test_res10_cells_and_columns(jingan10):
    d = jingan10
    assert d.n_cells == 3220
    assert d.resolution == 10
    assert d.metric_crs == "EPSG:32651"
    c = d.cells
    for col in ("h3", "lat", "lon", "x", "y", "area_km2", "subdistrict", "grid_id"):
        assert col in c.columns
    assert list(c["h3"]) == sorted(c["h3"])
    assert c["grid_id"].dtype == np.int32
    assert c["lat"].between(31.18, 31.36).all() and c["lon"].between(121.38, 121.50).all()
    # res-10 hexagons near Shanghai are about 0.0114 km^2
    assert c["area_km2"].between(0.0105, 0.0125).all()
    assert 36.0 < d.area_km2 < 37.5  # OSM polygons: 36.74 km^2


def test_weights_are_named_non_negative_and_add_up(jingan10):
    d = jingan10
    assert d.weight_columns == ("w_area", "w_employment", "w_metro")
    for w in d.weight_columns:
        assert (d.cells[w] >= 0).all()
    # employment is spread within each sub-district and sums back to the published total
    emp = d.cells.groupby("subdistrict")["w_employment"].sum()
    pub = d.subdistricts.set_index("code")["employment_2023"]
    np.testing.assert_allclose(emp.loc[pub.index].to_numpy(), pub.to_numpy(), rtol=1e-9)
    # the 20 stations inside Jing'an each count in the cells within 500 m of them
    assert d.cells["w_metro"].max() >= 1
    assert (d.points["cell"] >= 0).sum() >= 18


def test_subdistricts_table(jingan10):
    s = jingan10.subdistricts
    assert len(s) == 14
    assert s["n_cells"].sum() == 3220
    assert (s["n_cells"] > 0).all()
    assert {"code", "name", "name_en", "area_km2", "n_cells"} <= set(s.columns)
    idx = jingan10.subdistrict_index
    assert idx.dtype == np.int32
    assert (s["code"].to_numpy()[idx] == jingan10.cells["subdistrict"].to_numpy()).all()
    # cell area per sub-district is close to the polygon area (same OSM boundaries)
    np.testing.assert_allclose(s["cells_area_km2"], s["area_km2"], rtol=0.12)


def test_res9_derived_from_res10_matches_published_res9_list(jingan9):
    from importlib import resources

    with resources.as_file(resources.files("urbangrid.data") / "geo" /
                           "jingan_h3_cells.csv") as p:
        csv = pd.read_csv(p, dtype={"h3_cell": str, "subdistrict_code": str})
    r9 = csv[csv["resolution"] == 9].set_index("h3_cell")["subdistrict_code"]
    got = jingan9.cells.set_index("h3")["subdistrict"]
    assert set(got.index) == set(r9.index)
    assert (got.loc[r9.index] == r9).mean() >= 0.99


def test_res8_and_bad_resolution():
    d8 = District.jingan(8)
    assert 40 < d8.n_cells < 90
    assert all(h3.get_resolution(c) == 8 for c in d8.cells["h3"])
    with pytest.raises(InputError, match="resolution"):
        District.jingan(11)


def test_grids_count_contiguous_within_subdistricts(jingan10):
    d = jingan10
    assert 105 <= d.n_grids <= 115
    g = d.cells["grid_id"].to_numpy()
    assert set(np.unique(g)) == set(range(d.n_grids))
    # never cross a sub-district border
    assert (d.cells.groupby("grid_id")["subdistrict"].nunique() == 1).all()
    adj = cell_adjacency(list(d.cells["h3"]))
    n_fragmented = 0
    for gid in range(d.n_grids):
        m = np.flatnonzero(g == gid)
        n_comp, _ = csgraph.connected_components(adj[m][:, m], directed=False)
        n_fragmented += n_comp > 1
    assert n_fragmented == 0
    sizes = np.bincount(g)
    assert sizes.min() >= 10 and sizes.max() <= 3 * sizes.min()


def test_grids_are_stable_and_target_configurable():
    a = District.jingan(10)
    b = District.jingan(10)
    np.testing.assert_array_equal(a.cells["grid_id"], b.cells["grid_id"])
    c = District.jingan(10, n_grids=40)
    assert 38 <= c.n_grids <= 42


def test_surrogate_network_is_labelled(jingan10):
    assert jingan10.network_kind == "surrogate" and jingan10.is_surrogate
    s = jingan10.summary()
    assert "SURROGATE" in s["network"]["label"]
    assert s["cells"] == 3220 and s["subdistricts"] == 14
    # the surrogate keeps its calibrated meaning within a few per cent
    assert 1.31 <= s["network"]["route_over_straight_median"] < 1.42


def test_cell_of_roundtrip_and_outside(jingan10):
    c = jingan10.cells
    idx = np.arange(0, jingan10.n_cells, 7)
    got = jingan10.cell_of(c["lat"].to_numpy()[idx], c["lon"].to_numpy()[idx])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, idx)
    out = jingan10.cell_of([31.0, np.nan, 31.2], [121.0, 121.4, 121.9])
    np.testing.assert_array_equal(out, [-1, -1, -1])


def test_outline_is_union_of_cells(jingan10):
    o = jingan10.outline
    assert o.is_valid
    # outline area in degrees^2 converted roughly: compare with cell count
    assert o.contains(__import__("shapely").geometry.Point(121.4554, 31.2317))  # 南京西路


def test_speeds_are_parameters():
    d = District.jingan(9, speeds={"ebike": 30})
    assert d.speeds_kmh == {"walk": 4.5, "ebike": 30.0, "car": 20.0}
    d15 = District.jingan(9)
    o = [0, 10]
    np.testing.assert_allclose(d.travel_time(o), d15.travel_time(o) / 2, rtol=1e-5)
    with pytest.raises(InputError, match="speed"):
        District.jingan(9, speeds={"walk": -1})


def test_district_cannot_be_changed_through_its_attributes():
    d = District.jingan(9)
    c = d.cells
    c["lat"] = 0.0
    c["extra"] = 1
    s = d.subdistricts
    s.loc[0, "name"] = "changed"
    assert d.cells["lat"].between(31, 32).all() and "extra" not in d.cells
    assert d.subdistricts.loc[0, "name"] != "changed"
    with pytest.raises(AttributeError):
        d.n_cells = 3
    with pytest.raises(ValueError):
        d.subdistrict_index[0] = 5


@pytest.mark.parametrize(("target", "expected"), [(1, 14), (14, 14), (5000, 456)])
def test_grid_count_bounds(target, expected):
    d = District.jingan(9, n_grids=target)
    assert d.n_grids == expected
    assert (d.cells.groupby("grid_id")["subdistrict"].nunique() == 1).all()
