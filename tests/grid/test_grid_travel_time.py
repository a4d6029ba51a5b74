"""Travel times: rows on demand, full matrix, disk cache, metric properties."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbangrid.errors import InputError
from urbangrid.grid import District


def test_rows_shape_dtype_and_zero_diagonal(jingan10):
    o = np.array([0, 17, 17, 3219])
    r = jingan10.travel_time(o)
    assert r.shape == (4, 3220) and r.dtype == np.float32
    assert np.all(np.isfinite(r)) and np.all(r >= 0)
    assert r[np.arange(4), o].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(r[1], r[2])
    d = jingan10.travel_time(o, [5, 6], mode="walk")
    assert d.shape == (4, 2)


def test_rows_symmetric_and_scaled_by_speed(jingan10):
    o = np.arange(0, 3220, 400)
    e = jingan10.travel_time(o, o, mode="ebike")
    np.testing.assert_allclose(e, e.T, rtol=1e-5, atol=1e-3)
    w = jingan10.travel_time(o, o, mode="walk")
    np.testing.assert_allclose(w, e * 15 / 4.5, rtol=1e-5, atol=1e-3)


def test_rows_equal_full_matrix(jingan9):
    m = jingan9.travel_time_matrix("ebike")
    assert m.shape == (456, 456) and m.dtype == np.float32
    assert np.all(np.diag(m) == 0) and np.all(m >= 0) and np.all(np.isfinite(m))
    fresh = District.jingan(9, cache_dir=jingan9._cache_dir / "other")
    o = np.array([3, 100, 455, 3])
    np.testing.assert_array_equal(fresh.travel_time(o), m[o])


def test_disk_cache_hit_gives_identical_bytes(tmp_path):
    a = District.jingan(9, cache_dir=tmp_path)
    m1 = a.travel_time_matrix("car")
    path = a.travel_time_cache_path("car")
    assert path.exists()
    mtime = path.stat().st_mtime_ns
    b = District.jingan(9, cache_dir=tmp_path)
    m2 = b.travel_time_matrix("car")
    assert path.stat().st_mtime_ns == mtime  # loaded, not rewritten
    assert m1.tobytes() == m2.tobytes()
    # a different speed is a different key
    c = District.jingan(9, cache_dir=tmp_path, speeds={"car": 25})
    assert c.travel_time_cache_path("car") != path


def test_env_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("URBANGRID_CACHE", str(tmp_path / "envcache"))
    d = District.jingan(8)
    d.travel_time_matrix()
    assert list((tmp_path / "envcache").glob("traveltime_ebike_*.npy"))


def test_agrees_with_networkx_dijkstra(jingan9):
    g = jingan9._graph
    w = jingan9._mode_weights("ebike").tocoo()
    G = nx.Graph()
    G.add_weighted_edges_from(zip(w.row.tolist(), w.col.tolist(), w.data.tolist(),
                                  strict=True))
    rng = np.random.default_rng(7)
    pairs = rng.integers(0, jingan9.n_cells, size=(25, 2))
    tt = jingan9.travel_time(pairs[:, 0])
    for k, (a, b) in enumerate(pairs):
        ref = nx.dijkstra_path_length(G, int(g.cell_vertex[a]), int(g.cell_vertex[b]))
        assert tt[k, b] == pytest.approx(ref, rel=1e-5, abs=1e-3)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 455), st.integers(0, 455), st.integers(0, 455))
def test_triangle_inequality_surrogate(a, b, c):
    d = _d9()
    t = d.travel_time([a, b], [b, c])
    tac = d.travel_time([a], [c])[0, 0]
    assert tac <= t[0, 0] + t[1, 1] + 1e-2


_CACHE = {}


def _d9():
    if "d" not in _CACHE:
        _CACHE["d"] = District.jingan(9)
    return _CACHE["d"]


def test_bad_mode_and_indices(jingan9):
    with pytest.raises(InputError, match="mode"):
        jingan9.travel_time([0], mode="helicopter")
    with pytest.raises(IndexError):
        jingan9.travel_time([456])
    with pytest.raises(TypeError):
        jingan9.travel_time([0.5])


def test_row_memo_is_bounded(monkeypatch):
    import urbangrid.grid.district as mod

    d = District.jingan(9)
    monkeypatch.setattr(mod, "ROW_MEMO_BYTES", 4 * d.n_cells * 10)  # room for 10 rows
    first = d.travel_time(np.arange(10))
    d.travel_time(np.arange(10, 40))
    assert len(d._memo["ebike"]) <= 30
    again = d.travel_time(np.arange(10))  # recomputed after eviction: same values
    np.testing.assert_array_equal(first, again)


def test_disconnected_surrogate_is_joined_and_reported(tmp_path):
    # two squares 1.5 km apart: the connection rule adds one straight-line link
    p = tmp_path / "islands.geojson"
    p.write_text('{"type":"FeatureCollection","features":['
                 '{"type":"Feature","properties":{"code":"A","name":"a"},"geometry":'
                 '{"type":"Polygon","coordinates":[[[121.40,31.20],[121.41,31.20],[121.41,31.21],'
                 '[121.40,31.21],[121.40,31.20]]]}},'
                 '{"type":"Feature","properties":{"code":"B","name":"b"},"geometry":'
                 '{"type":"Polygon","coordinates":[[[121.425,31.20],[121.435,31.20],'
                 '[121.435,31.21],[121.425,31.21],[121.425,31.20]]]}}]}')
    d = District.from_files(p, cache_dir=tmp_path / "cache")
    assert len(d.connectors) == 1
    link = d.connectors[0]
    assert 1300 < link.straight_m < 1700
    assert link.length_m == pytest.approx(link.straight_m * 1.31)
    s = d.summary()
    assert s["network"]["connector_links"] == 1
    m = d.travel_time_matrix()
    assert np.all(np.isfinite(m))


def test_to_networkx_matches_rows(jingan9):
    G = jingan9.to_networkx()
    assert G.number_of_nodes() == jingan9.n_cells
    assert G.nodes[5]["cell"] == 5
    v = jingan9.speeds_kmh["car"] / 3.6
    ref = nx.single_source_dijkstra_path_length(G, 12, weight="length")
    row = jingan9.travel_time([12], mode="car")[0]
    got = np.array([ref[i] / v for i in range(jingan9.n_cells)])
    np.testing.assert_allclose(row, got, rtol=1e-5, atol=1e-3)


def test_pickle_round_trip(jingan9):
    import pickle

    jingan9.travel_time([1, 2])
    d = pickle.loads(pickle.dumps(jingan9))
    assert d.n_cells == jingan9.n_cells
    np.testing.assert_array_equal(d.travel_time([1, 2, 3]), jingan9.travel_time([1, 2, 3]))
    assert d.cells.equals(jingan9.cells)
