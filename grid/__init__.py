"""The district as data: boundary, H3 cells, sub-districts, roads and travel times."""

from .coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    canonical_crs,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from .district import DEFAULT_SPEEDS_KMH, DETOUR_FACTOR, District
from .errors import InputError

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "DETOUR_FACTOR",
    "District",
    "InputError",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "canonical_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]
