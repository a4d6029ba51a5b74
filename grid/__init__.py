"""The district as data: boundary, H3 cells, sub-districts, roads and travel times.

Entry point: :class:`District` (``District.jingan()`` built in, ``District.from_files``
for any district). The names load on first use, so that the command line registers
``urbangrid district`` without loading geopandas, H3 or SciPy.
"""

from urbangrid._lazy import attach

_WHERE = {
    "DEFAULT_SPEEDS_KMH": "district", "DETOUR_FACTOR": "district", "District": "district",
    "bd09_to_gcj02": "coords", "bd09_to_wgs84": "coords", "canonical_crs": "coords",
    "gcj02_to_bd09": "coords", "gcj02_to_wgs84": "coords", "wgs84_to_bd09": "coords",
    "wgs84_to_gcj02": "coords",
    "cell_adjacency": "_grids",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
