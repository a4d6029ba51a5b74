"""Chinese map coordinate systems: WGS84 <-> GCJ-02 <-> BD-09.

GCJ-02 ("Mars coordinates") is the obfuscated datum that Chinese map providers (AutoNavi/Gaode,
Tencent, Google China) must use; BD-09 is Baidu's further offset of GCJ-02. The forward
formulas are the widely published ones (eviltransform, coordtransform, wandergis/coordTransform):
an affine-free polynomial + sine offset applied on the Krasovsky 1940 ellipsoid, and for BD-09
a rotation/scale in polar form. The inverse transforms have no closed form; they are solved here
by fixed-point iteration to better than 1e-7 degrees (about 1 cm), far tighter than the
published "approximate inverse" (errors of 1-2 m).

Outside mainland China the GCJ-02 offset is not applied (the published ``out_of_china``
bounding box), so the forward and inverse transforms are the identity there.

All functions take scalars or array-likes of latitude and longitude in degrees and return
``(lat, lon)`` as float64 numpy arrays (0-d for scalar input).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "canonical_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as in the published GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 constant: pi * 3000 / 180, as in the published Baidu formula.
_X_PI = np.pi * 3000.0 / 180.0
_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30


def out_of_china(lat, lon) -> np.ndarray:
    """True where the point is outside the published mainland-China bounding box."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lat, lon)
    return np.where(outside, 0.0, dlat), np.where(outside, 0.0, dlon)


def _as_arrays(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if lat.shape != lon.shape:
        raise ValueError(f"lat and lon shapes differ: {lat.shape} vs {lon.shape}")
    return lat, lon


def wgs84_to_gcj02(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (published forward formula).

    Parameters
    ----------
    lat, lon
        WGS84 latitude and longitude in degrees, scalars or arrays of equal shape.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lat, lon)``.
    """
    lat, lon = _as_arrays(lat, lon)
    dlat, dlon = _gcj_delta(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by fixed-point iteration of the forward formula.

    The offset field varies slowly (its gradient is ~1e-5 per degree), so
    ``w <- w - (f(w) - g)`` converges geometrically; iterations stop when every point moved
    less than 1e-9 degrees.
    """
    lat, lon = _as_arrays(lat, lon)
    wlat, wlon = lat.copy(), lon.copy()
    for _ in range(_INVERSE_MAX_ITER):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        elat, elon = glat - lat, glon - lon
        wlat = wlat - elat
        wlon = wlon - elon
        if np.all(np.abs(elat) < _INVERSE_TOL_DEG) and np.all(np.abs(elon) < _INVERSE_TOL_DEG):
            break
    return wlat, wlon


def gcj02_to_bd09(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (published Baidu formula)."""
    lat, lon = _as_arrays(lat, lon)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.sin(theta) + 0.006, z * np.cos(theta) + 0.0065


def bd09_to_gcj02(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02, iterating the forward formula to < 1e-9 degrees.

    Starts from the published closed-form approximate inverse.
    """
    lat, lon = _as_arrays(lat, lon)
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glat, glon = z * np.sin(theta), z * np.cos(theta)
    for _ in range(_INVERSE_MAX_ITER):
        blat, blon = gcj02_to_bd09(glat, glon)
        elat, elon = blat - lat, blon - lon
        glat = glat - elat
        glon = glon - elon
        if np.all(np.abs(elat) < _INVERSE_TOL_DEG) and np.all(np.abs(elon) < _INVERSE_TOL_DEG):
            break
    return glat, glon


def wgs84_to_bd09(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


_ALIASES = {
    "wgs84": "wgs84", "epsg4326": "wgs84", "4326": "wgs84", "ogccrs84": "wgs84",
    "crs84": "wgs84",
    "gcj02": "gcj02", "gcj": "gcj02", "mars": "gcj02",
    "bd09": "bd09", "bd09ll": "bd09", "baidu": "bd09",
}


def canonical_crs(source_crs: str) -> str:
    """``"wgs84"``, ``"gcj02"`` or ``"bd09"`` for any accepted spelling.

    Accepted: ``wgs84``/``WGS-84``/``EPSG:4326``/``OGC:CRS84``, ``gcj02``/``GCJ-02``,
    ``bd09``/``BD-09``/``bd09ll`` (case, ``-``, ``_``, ``:`` and spaces ignored).

    Raises
    ------
    ValueError
        Any other name.
    """
    key = "".join(ch for ch in str(source_crs).lower() if ch.isalnum())
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown source_crs {source_crs!r}: use 'wgs84' (EPSG:4326), "
                         f"'gcj02' or 'bd09'") from None


def to_wgs84(lat, lon, source_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert from ``source_crs`` (see :func:`canonical_crs`) to WGS84."""
    key = canonical_crs(source_crs)
    if key == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if key == "bd09":
        return bd09_to_wgs84(lat, lon)
    return _as_arrays(lat, lon)
