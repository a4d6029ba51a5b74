"""Districts from user files: the real OSM boundary and road network, and a large district."""

import time

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.shared import GRID_DATA as DATA
from tests.shared import shared_data
from urbangrid.grid import District


def test_osm_boundary_matches_builtin_default(jingan10):
    path = shared_data("geo/jingan_subdistricts_osm.geojson")
    d = District.from_files(path, code_column="code9", name_column="name")
    a = d.cells.set_index("h3")["subdistrict"]
    b = jingan10.cells.set_index("h3")["subdistrict"]
    common = a.index.intersection(b.index)
    assert len(common) >= 0.99 * max(len(a), len(b))
    assert (a.loc[common] == b.loc[common]).mean() >= 0.99
    assert list(d.subdistricts["code"]) == list(jingan10.subdistricts["code"])
    np.testing.assert_allclose(d.subdistricts["area_km2"], jingan10.subdistricts["area_km2"],
                               rtol=0.01)
    assert d.outline.area > 0


def test_code_column_autodetected_on_osm_file():
    path = shared_data("geo/jingan_subdistricts_osm.geojson")
    d = District.from_files(path, resolution=8)
    assert d.subdistricts["code"].str.len().eq(9).all()


@pytest.fixture(scope="module")
def osm_district(tmp_path_factory):
    net = shared_data("geo/peoples_square_osm_drive.graphml")
    return District.from_files(DATA / "peoples_square_two_parts.geojson", network=net,
                               cache_dir=tmp_path_factory.mktemp("osmcache"))


def test_real_graphml_loads(osm_district):
    d = osm_district
    assert d.network_kind == "osm" and not d.is_surrogate
    s = d.summary()
    assert s["network"]["vertices"] == 781
    assert 85 < s["network"]["length_km"] < 100  # README: 90.8 km of directed edges
    assert s["network"]["connector_links"] == len(d.connectors)
    assert "SURROGATE" not in s["network"]["label"]


def test_osm_matrix_properties(osm_district):
    m = osm_district.travel_time_matrix("ebike")
    n = osm_district.n_cells
    assert m.shape == (n, n) and m.dtype == np.float32
    assert np.all(np.diag(m) == 0) and np.all(m >= 0) and np.all(np.isfinite(m))
    # triangle inequality through every intermediate cell, for a sample of (i, k)
    rng = np.random.default_rng(1)
    i = rng.integers(0, n, 40)
    k = rng.integers(0, n, 40)
    via = (m[i][:, :, None] + m[:, k][None, :, :]).min(axis=1)  # (40, 40)
    assert np.all(m[np.ix_(i, k)] <= via + 1e-2)
    rows = osm_district.travel_time(i)
    np.testing.assert_array_equal(rows, m[i])


def test_osm_agrees_with_networkx_on_the_graphml(osm_district):
    """Independent reference: networkx on the GraphML itself plus access and connector edges."""
    d = osm_district
    g = d._graph
    raw = nx.read_graphml(shared_data("geo/peoples_square_osm_drive.graphml"))
    G = nx.Graph()
    for u, v, data in raw.edges(data=True):
        L = max(float(data["length"]), 0.01)
        if u != v and (not G.has_edge(u, v) or G[u][v]["w"] > L):
            G.add_edge(u, v, w=L)
    ids = list(g.node_ids)

    def name(vertex):
        return ids[vertex] if vertex < g.n_road_vertices else f"cell{vertex}"

    for link in d.connectors:
        G.add_edge(name(link.u), name(link.v), w=link.length_m)
    coo = g.lengths.tocoo()
    for a, b, w in zip(coo.row, coo.col, coo.data, strict=True):
        if a >= g.n_road_vertices and a > b:  # access edge of a cell
            G.add_edge(name(a), name(b), w=float(w))
    v = d.speeds_kmh["walk"] / 3.6
    rng = np.random.default_rng(3)
    pairs = rng.integers(0, d.n_cells, size=(30, 2))
    tt = d.travel_time(pairs[:, 0], mode="walk")
    for k, (a, b) in enumerate(pairs):
        ref = nx.dijkstra_path_length(G, name(g.cell_vertex[a]), name(g.cell_vertex[b]),
                                      weight="w") / v
        if a == b:
            ref = 0.0
        assert tt[k, b] == pytest.approx(ref, rel=1e-4, abs=0.05)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_osm_triangle_property(osm_district, data):
    n = osm_district.n_cells
    a, b, c = (data.draw(st.integers(0, n - 1)) for _ in range(3))
    mode = data.draw(st.sampled_from(["walk", "ebike", "car"]))
    t = osm_district.travel_time([a, b, a], [b, c, c], mode=mode)
    assert t[2, 2] <= t[0, 0] + t[1, 1] + 1e-2
    assert t[0, 0] >= 0


def test_travel_time_edge_attribute_used_for_car(tmp_path):
    net = shared_data("geo/peoples_square_osm_drive.graphml")
    raw = nx.read_graphml(net)
    for _u, _v, data in raw.edges(data=True):
        fast = data.get("highway") in ("primary", "secondary", "trunk")
        data["travel_time"] = float(data["length"]) / (15.0 if fast else 5.0)
    p = tmp_path / "with_tt.graphml"
    nx.write_graphml(raw, p)
    d = District.from_files(DATA / "peoples_square_two_parts.geojson", network=p)
    assert d.summary()["network"]["car_uses_osm_travel_time"]
    o = np.arange(0, d.n_cells, 10)
    car = d.travel_time(o, mode="car")
    walk = d.travel_time(o, mode="walk")
    # walking stays length / speed; car follows the faster main roads, so it is not a
    # constant multiple of the walking time
    ratio = car[walk > 0] / walk[walk > 0]
    assert ratio.std() > 0.01


def test_large_district_rows_on_demand(tmp_path):
    """About 10x Jing'an at resolution 10: builds, and gives rows without all-pairs."""
    p = tmp_path / "big.geojson"
    # 0.21 deg lon x 0.18 deg lat near Shanghai: about 20 km x 20 km = 400 km^2
    p.write_text('{"type":"FeatureCollection","features":[{"type":"Feature",'
                 '"properties":{"code":"BIG","name":"big"},"geometry":{"type":"Polygon",'
                 '"coordinates":[[[121.3,31.1],[121.51,31.1],[121.51,31.28],[121.3,31.28],'
                 '[121.3,31.1]]]}}]}')
    t0 = time.perf_counter()
    d = District.from_files(p, cache_dir=tmp_path / "cache")
    build = time.perf_counter() - t0
    assert d.n_cells > 30_000
    assert d.area_km2 > 10 * 36.9  # Jing'an: 36.9 km^2
    assert 1100 < d.n_grids < 1300
    t0 = time.perf_counter()
    o = np.arange(0, d.n_cells, d.n_cells // 20)
    rows = d.travel_time(o)
    rows_s = time.perf_counter() - t0
    assert rows.shape == (o.size, d.n_cells)
    assert np.all(np.isfinite(rows)) and np.all(rows[np.arange(o.size), o] == 0)
    assert not d._full  # no all-pairs matrix was made
    assert build < 20 and rows_s < 10
