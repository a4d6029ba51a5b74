"""GCJ-02 / BD-09 conversions against published values, and round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from urbangrid.grid import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from urbangrid.grid.coords import to_wgs84


def test_forward_matches_coordtransform_published_results():
    # wandergis/coordtransform test/app.js, input (lng 116.404, lat 39.915)
    lat, lon = wgs84_to_gcj02(39.915, 116.404)
    assert (float(lon), float(lat)) == pytest.approx((116.41024449916938, 39.91640428150164),
                                                     abs=1e-12)
    lat, lon = gcj02_to_bd09(39.915, 116.404)
    assert (float(lon), float(lat)) == pytest.approx((116.41036949371029, 39.92133699351021),
                                                     abs=1e-12)


def test_inverse_close_to_published_approximate_inverses():
    # coordtransform's inverses are one-step approximations (errors up to ~1e-5 deg);
    # ours iterate to convergence, so they agree only to that tolerance.
    lat, lon = gcj02_to_wgs84(39.915, 116.404)
    assert (float(lon), float(lat)) == pytest.approx((116.39775550083061, 39.91359571849836),
                                                     abs=2e-6)
    lat, lon = bd09_to_gcj02(39.915, 116.404)
    assert (float(lon), float(lat)) == pytest.approx((116.39762729119315, 39.90865673957631),
                                                     abs=2e-6)
    # hujiulong/gcoord test/unit/crs/GCJ02.spec.js, (123, 45), 5 decimals
    lat, lon = gcj02_to_wgs84(45, 123)
    assert float(lon) == pytest.approx(122.99395597, abs=5e-6)
    assert float(lat) == pytest.approx(44.99804071, abs=5e-6)
    lat, lon = gcj02_to_bd09(45, 123)
    assert float(lon) == pytest.approx(123.00636499, abs=5e-6)
    assert float(lat) == pytest.approx(45.00636899, abs=5e-6)


def test_offset_size_in_shanghai():
    # GCJ-02 moves Shanghai by roughly 0.002 deg lat and 0.0045 deg lon (about 500 m)
    lat, lon = wgs84_to_gcj02(31.2317, 121.4554)
    assert -0.0025 < float(lat) - 31.2317 < -0.0015
    assert 0.004 < float(lon) - 121.4554 < 0.005


def test_outside_china_is_identity():
    lat, lon = wgs84_to_gcj02([48.85, 40.71], [2.35, -74.0])
    np.testing.assert_array_equal(lat, [48.85, 40.71])
    np.testing.assert_array_equal(lon, [2.35, -74.0])
    lat, lon = gcj02_to_wgs84(48.85, 2.35)
    assert (float(lat), float(lon)) == (48.85, 2.35)


@settings(max_examples=200, deadline=None)
@given(st.floats(18.0, 53.0), st.floats(74.0, 134.0))
def test_round_trips_below_1e_7_degrees(lat, lon):
    glat, glon = wgs84_to_gcj02(lat, lon)
    wlat, wlon = gcj02_to_wgs84(glat, glon)
    assert abs(wlat - lat) < 1e-7 and abs(wlon - lon) < 1e-7
    blat, blon = gcj02_to_bd09(glat, glon)
    g2lat, g2lon = bd09_to_gcj02(blat, blon)
    assert abs(g2lat - glat) < 1e-7 and abs(g2lon - glon) < 1e-7
    b2lat, b2lon = wgs84_to_bd09(lat, lon)
    w2lat, w2lon = bd09_to_wgs84(b2lat, b2lon)
    assert abs(w2lat - lat) < 1e-7 and abs(w2lon - lon) < 1e-7


def test_vectorised_and_to_wgs84_dispatch():
    lat = np.array([31.2, 31.3, 39.9])
    lon = np.array([121.4, 121.5, 116.4])
    glat, glon = wgs84_to_gcj02(lat, lon)
    assert glat.shape == (3,)
    wlat, wlon = to_wgs84(glat, glon, "GCJ-02")
    np.testing.assert_allclose(wlat, lat, atol=1e-8)
    np.testing.assert_allclose(wlon, lon, atol=1e-8)
    with pytest.raises(ValueError, match="source_crs"):
        to_wgs84(lat, lon, "etrs89")
    for alias in ("EPSG:4326", "WGS-84", "ogc:crs84"):
        np.testing.assert_array_equal(to_wgs84(lat, lon, alias)[0], lat)
    np.testing.assert_allclose(to_wgs84(*wgs84_to_bd09(lat, lon), "BD-09")[1], lon, atol=1e-8)
