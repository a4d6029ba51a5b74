"""The :class:`District`: cells, sub-districts, responsibility grids, roads, travel times."""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import triu as sp_triu
from scipy.spatial import cKDTree

from urbangrid.errors import InputError

from . import _grids, _network

__all__ = ["DEFAULT_SPEEDS_KMH", "DETOUR_FACTOR", "District", "metric_crs_for"]

log = logging.getLogger(__name__)

#: Assumed speeds per mode in km/h (walk, e-bike, car); parameters, not measurements.
DEFAULT_SPEEDS_KMH: Mapping[str, float] = {"walk": 4.5, "ebike": 15.0, "car": 20.0}
#: Median route / straight-line distance on the real People's Square OSM network.
DETOUR_FACTOR = 1.31
#: Cells per responsibility grid: one grid per about 0.33 km^2 (about 110 for Jing'an).
KM2_PER_GRID = 0.33
#: Radius within which a point (e.g. a metro station) counts towards a cell's weight.
POINT_RADIUS_M = 500.0
#: Memory budget of the per-origin travel-time row memo, per district.
ROW_MEMO_BYTES = 256 * 2**20
_CACHE_FORMAT = "urbangrid-traveltime-v1"
_SUMMARY_ORIGINS = 200


def metric_crs_for(lon: float, lat: float) -> str:
    """EPSG code of the WGS84 UTM zone containing ``(lat, lon)``."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def default_cache_dir() -> Path:
    """``$URBANGRID_CACHE`` if set, else ``~/.cache/urbangrid``."""
    env = os.environ.get("URBANGRID_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "urbangrid"


def _check_speeds(speeds: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(DEFAULT_SPEEDS_KMH)
    for mode, v in (speeds or {}).items():
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise InputError(f"speed for mode {mode!r} is not a number: {v!r}") from None
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"speed for mode {mode!r} must be a positive number of km/h, "
                             f"got {v!r}")
        out[str(mode)] = v
    return out


class District:
    """An urban district divided into H3 cells, with roads and travel times.

    Build one with :meth:`District.jingan` (the built-in default) or
    :meth:`District.from_files` (any district). A district is immutable: its attributes are
    read-only properties, and the DataFrames they return are copies (cheap under pandas
    copy-on-write), so editing them never changes the district.

    Attributes
    ----------
    cells : pandas.DataFrame
        Row ``i`` is cell ``i`` (rows sorted by H3 id). Columns ``h3``, ``lat``, ``lon``
        (WGS84 centroid), ``x``, ``y`` (metres in :attr:`metric_crs`), ``area_km2``,
        ``subdistrict`` (code), ``grid_id`` (responsibility grid, int32), and every column in
        :attr:`weight_columns`.
    weight_columns : tuple of str
        Names of the non-negative weight columns of :attr:`cells`.
    subdistricts : pandas.DataFrame
        ``code``, ``name``, ``name_en`` (when known), ``area_km2`` (polygon area when known,
        else cell area), ``cells_area_km2``, ``n_cells``; stable row order.
    points : pandas.DataFrame
        Points of interest (metro stations for the default): ``name``, ``lat``, ``lon``,
        ``cell`` (cell index or -1 when just outside).
    network_kind : str
        ``"osm"`` or ``"surrogate"``.
    speeds_kmh : dict
        Speed per mode in km/h.

    Notes
    -----
    Travel-time model. The time between two cells is the shortest path over the road graph,
    each edge taking ``length / speed(mode)``:

    - *surrogate network* (no road file): vertices are the cells; each cell is joined to its
      6 neighbours and its 6 "diagonal" ring-2 cells by an edge of great-circle length x
      ``detour_factor`` (1.31, the median route / straight-line ratio measured on the real
      People's Square network). ``summary()`` reports the resulting median ratio (about
      1.35 for Jing'an: the hexagon lattice and the district's concave edges add ~3 %).
    - *OSM network* (GraphML): road nodes and edges with their ``length``; every cell is an
      extra vertex joined to its nearest road node by an access edge of straight-line length
      x ``detour_factor``. Edges are used in both directions (one-way rules ignored).
      When every edge has an OSMnx ``travel_time``, the ``car`` mode keeps those relative
      road speeds but is rescaled so the network's length-weighted mean speed equals the car
      speed parameter (free-flow speed limits overstate urban speeds); walk and e-bike
      always use length / speed.
    - *disconnected networks* are joined, never left with infinite times: while the cells
      lie in several connected parts, the smallest part is linked to its nearest vertex in
      another part by a straight line x ``detour_factor``. Each link is logged as a warning
      and listed in :attr:`connectors` and ``summary()["network"]``.

    A cell to itself takes 0 s.
    """

    def __init__(self, *, name: str, h3_ids: list[str], sub_codes: np.ndarray,
                 subdistricts: pd.DataFrame, resolution: int,
                 weights: Mapping[str, np.ndarray] | None = None,
                 weight_builder=None, points: pd.DataFrame | None = None,
                 network=None, speeds: Mapping[str, float] | None = None,
                 detour_factor: float = DETOUR_FACTOR, n_grids: int | None = None,
                 cache_dir: str | os.PathLike | None = None, outline=None,
                 notes: tuple[str, ...] = ()) -> None:
        # Private constructor: use District.jingan or District.from_files.
        if not h3_ids:
            raise InputError(f"district {name!r} has no H3 cells at resolution {resolution}")
        if not (np.isfinite(detour_factor) and detour_factor >= 1.0):
            raise InputError(f"detour_factor must be >= 1, got {detour_factor!r}")
        order = np.argsort(np.asarray(h3_ids))
        h3_ids = [h3_ids[i] for i in order]
        sub_codes = np.asarray(sub_codes, dtype=object)[order]
        self._name = name
        self._resolution = int(resolution)
        self._speeds = _check_speeds(speeds)
        self._detour = float(detour_factor)
        self._notes = tuple(notes)

        latlng = np.array([h3.cell_to_latlng(c) for c in h3_ids], dtype=np.float64)
        lat, lon = latlng[:, 0], latlng[:, 1]
        self._metric_crs = metric_crs_for(float(lon.mean()), float(lat.mean()))
        tr = pyproj.Transformer.from_crs("EPSG:4326", self._metric_crs, always_xy=True)
        x, y = tr.transform(lon, lat)
        area = np.array([h3.cell_area(c, unit="km^2") for c in h3_ids], dtype=np.float64)

        subdistricts = subdistricts.reset_index(drop=True).copy()
        codes = subdistricts["code"].astype(str).to_numpy()
        code_pos = {c: i for i, c in enumerate(codes)}
        sub_idx = np.array([code_pos.get(str(c), -1) for c in sub_codes], dtype=np.int32)
        if np.any(sub_idx < 0):
            bad = sorted({str(c) for c, i in zip(sub_codes, sub_idx, strict=True) if i < 0})
            raise InputError(f"cells carry sub-district codes not in the sub-district table: "
                             f"{bad[:5]}")
        n_cells_sub = np.bincount(sub_idx, minlength=len(codes))
        cells_area_sub = np.bincount(sub_idx, weights=area, minlength=len(codes))
        subdistricts["n_cells"] = n_cells_sub.astype(np.int64)
        subdistricts["cells_area_km2"] = cells_area_sub
        if "area_km2" not in subdistricts or subdistricts["area_km2"].isna().any():
            subdistricts["area_km2"] = cells_area_sub
        keep_cols = [c for c in ("code", "name", "name_en", "area_km2", "cells_area_km2",
                                 "n_cells") if c in subdistricts]
        extra = [c for c in subdistricts.columns if c not in keep_cols]
        subdistricts = subdistricts[keep_cols + extra]
        subdistricts["code"] = subdistricts["code"].astype(str)

        total_area = float(area.sum())
        if n_grids is None:
            n_grids = max(1, int(round(total_area / KM2_PER_GRID)))
        n_grids = int(n_grids)
        if n_grids < 1:
            raise InputError(f"n_grids must be >= 1, got {n_grids}")
        grid_id = _grids.responsibility_grids(
            h3_ids, x, y, sub_idx,
            subdistricts["cells_area_km2"].to_numpy(dtype=np.float64), n_grids)

        cells = pd.DataFrame({
            "h3": pd.Series(h3_ids, dtype=str),
            "lat": lat, "lon": lon,
            "x": np.asarray(x, dtype=np.float64), "y": np.asarray(y, dtype=np.float64),
            "area_km2": area,
            "subdistrict": pd.Series(codes[sub_idx], dtype=str),
            "grid_id": grid_id.astype(np.int32),
        })
        self._cells = cells
        self._h3_int = np.array([h3.str_to_int(c) for c in h3_ids], dtype=np.uint64)
        self._sub_idx = sub_idx
        self._subdistricts = subdistricts
        self._n_grids = int(grid_id.max()) + 1
        self._outline = outline

        self._points = self._place_points(points)
        wcols = dict(weights or {})
        if weight_builder is not None:
            wcols.update(weight_builder(self))
        wcols.setdefault("w_area", area.copy())
        ordered = {"w_area": wcols.pop("w_area")}
        ordered.update(wcols)
        for col, vals in ordered.items():
            vals = np.asarray(vals, dtype=np.float64)
            if vals.shape != (len(h3_ids),):
                raise ValueError(f"weight {col} has shape {vals.shape}, expected "
                                 f"({len(h3_ids)},)")
            if not np.all(np.isfinite(vals)) or np.any(vals < 0):
                raise InputError(f"weight {col!r} has negative or missing values")
            cells[col] = vals
        self._weight_columns = tuple(ordered)

        if network is None:
            self._graph = _network.surrogate_graph(h3_ids, lat, lon, cells["x"].to_numpy(),
                                                   cells["y"].to_numpy(), self._detour)
        else:
            from ._readers import osm_graph  # local: only needed with a real network

            self._graph = osm_graph(network, cells, self._metric_crs, self._detour)

        self._cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._lock = threading.Lock()
        self._weights: dict[str, Any] = {}
        self._memo: dict[str, collections.OrderedDict[int, np.ndarray]] = {}
        self._full: dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict:
        # Picklable for process pools: drop the lock and the per-origin row memo (workers
        # recompute rows or load full matrices from the disk cache); keep full matrices.
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_memo"] = {}
        state["_weights"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ builders
    @classmethod
    def jingan(cls, resolution: int = 10, *, network=None,
               speeds: Mapping[str, float] | None = None, n_grids: int | None = None,
               cache_dir: str | os.PathLike | None = None) -> District:
        """The built-in Jing'an district (Shanghai) from ``urbangrid.data/geo``.

        Parameters
        ----------
        resolution
            H3 resolution 10 (3,220 cells, the stored list), 9 or 8. Coarser cells are the
            H3 parents whose centre child is in the res-10 list, i.e. whose centre lies in
            Jing'an (the same rule that made the list); each takes the sub-district of its
            centre.
        network
            Optional OSMnx-style GraphML road network (path or networkx graph); default is
            the H3 surrogate network.
        speeds
            km/h per mode, overriding :data:`DEFAULT_SPEEDS_KMH`.
        n_grids
            Target number of responsibility grids; default one per 0.33 km^2 (112). Grids
            never cross a sub-district border, so there is at least one per sub-district
            with cells and at most one per cell; :attr:`n_grids` gives the actual count.
        cache_dir
            Folder for travel-time matrices; default :func:`default_cache_dir`.

        Notes
        -----
        Weights: ``w_area`` (cell km^2), ``w_employment`` (2023 workplace employment of the
        sub-district spread over its cells by area) and ``w_metro`` (metro stations within
        500 m of the cell centre). Residents per sub-district are not published in usable form.
        """
        if resolution not in (8, 9, 10):
            raise InputError(f"the built-in Jing'an district supports H3 resolutions 8, 9 "
                             f"and 10, got {resolution!r}")
        geo = resources.files("urbangrid.data") / "geo"
        with resources.as_file(geo / "jingan_h3_cells.csv") as p:
            cells_csv = pd.read_csv(p, dtype={"h3_cell": str, "subdistrict_code": str})
        with resources.as_file(geo / "jingan_subdistricts.csv") as p:
            subs = pd.read_csv(p, dtype={"code": str})
        with resources.as_file(geo / "jingan_metro_stations.csv") as p:
            stations = pd.read_csv(p)
        r10 = cells_csv[cells_csv["resolution"] == 10]
        label = dict(zip(r10["h3_cell"], r10["subdistrict_code"], strict=True))
        if resolution == 10:
            ids = list(label)
            codes = [label[c] for c in ids]
        else:
            parents = sorted({h3.cell_to_parent(c, resolution) for c in label})
            ids, codes = [], []
            for p in parents:
                centre = h3.cell_to_center_child(p, 10)
                if centre in label:
                    ids.append(p)
                    codes.append(label[centre])
        subdistricts = pd.DataFrame({
            "code": subs["code"], "name": subs["name_zh"], "name_en": subs["name_en"],
            "area_km2": subs["area_km2"].astype(float),
            "unit_type": subs["unit_type"],
            "employment_2023": subs["employment_2023"].astype(float),
        })
        points = pd.DataFrame({
            "name": stations["name_zh"], "name_en": stations["name_pinyin"],
            "lines": stations["lines"], "lat": stations["lat"].astype(float),
            "lon": stations["lon"].astype(float),
        })

        def weights(d: District) -> dict[str, np.ndarray]:
            area = d.cells["area_km2"].to_numpy()
            sub_area = np.bincount(d.subdistrict_index, weights=area)
            emp = d.subdistricts["employment_2023"].to_numpy()
            w_emp = emp[d.subdistrict_index] * area / sub_area[d.subdistrict_index]
            return {"w_employment": w_emp, "w_metro": d._point_counts(POINT_RADIUS_M)}

        return cls(name="Jing'an", h3_ids=ids, sub_codes=np.array(codes, dtype=object),
                   subdistricts=subdistricts, resolution=resolution, weight_builder=weights,
                   points=points, network=network, speeds=speeds, n_grids=n_grids,
                   cache_dir=cache_dir,
                   notes=("weights: w_area = cell area, w_employment = 2023 workplace "
                          "employment by area share, w_metro = metro stations within 500 m",))

    @classmethod
    def from_files(cls, boundary, *, code_column: str = "code", name_column: str = "name",
                   source_crs: str = "wgs84", resolution: int = 10, weights=None,
                   points=None, network=None, speeds: Mapping[str, float] | None = None,
                   detour_factor: float = DETOUR_FACTOR, n_grids: int | None = None,
                   cache_dir: str | os.PathLike | None = None,
                   points_radius_m: float = POINT_RADIUS_M) -> District:
        """A district from a boundary file (GeoJSON, GeoPackage or Shapefile).

        Parameters
        ----------
        boundary
            Path of a polygon file with one row per sub-district.
        code_column, name_column
            Columns holding each sub-district's code and name. When the default ``"code"``
            is absent, a single obvious candidate (``code9``, ``adcode``, ``code12``, ...)
            is used and logged.
        source_crs
            ``"wgs84"``, ``"gcj02"`` or ``"bd09"``: the datum of the coordinates in the
            boundary and points files; converted to WGS84 on load. A file that declares a
            projected CRS is reprojected to WGS84 (only with ``"wgs84"``).
        resolution
            H3 resolution of the cells (0-15); a cell belongs to the district when its
            centre lies in a sub-district polygon.
        weights
            Optional CSV keyed by ``code`` (sub-district; values are spread over its cells by
            area share) or ``h3`` (cell); every other numeric column ``c`` becomes weight
            ``w_c``.
        points
            Optional CSV of points of interest with ``lat``/``lon`` columns (and optional
            ``name``), in ``source_crs``; adds weight ``w_points`` (points within
            ``points_radius_m`` of the cell centre). Points farther than that from every cell
            are an error.
        network
            Optional OSMnx-style GraphML file (or networkx graph); default surrogate network.
        speeds, detour_factor, n_grids, cache_dir
            As for :meth:`jingan`; ``detour_factor`` scales straight lines in the surrogate
            network and in connector links.
        """
        from ._readers import load_district_parts

        parts = load_district_parts(boundary, code_column=code_column,
                                    name_column=name_column, source_crs=source_crs,
                                    resolution=resolution, weights=weights, points=points,
                                    points_radius_m=points_radius_m)
        return cls(resolution=resolution, network=network, speeds=speeds,
                   detour_factor=detour_factor, n_grids=n_grids, cache_dir=cache_dir,
                   **parts)

    # ------------------------------------------------------------------ attributes
    @property
    def name(self) -> str:
        return self._name

    @property
    def cells(self) -> pd.DataFrame:
        # A shallow copy: free under pandas copy-on-write, and edits by a caller never
        # reach the district.
        return self._cells.copy(deep=False)

    @property
    def weight_columns(self) -> tuple[str, ...]:
        return self._weight_columns

    @property
    def subdistricts(self) -> pd.DataFrame:
        # A shallow copy: free under pandas copy-on-write, and edits by a caller never
        # reach the district.
        return self._subdistricts.copy(deep=False)

    @property
    def subdistrict_index(self) -> np.ndarray:
        """int32 row of :attr:`subdistricts` for every cell (a read-only array)."""
        v = self._sub_idx.view()
        v.flags.writeable = False
        return v

    @property
    def points(self) -> pd.DataFrame:
        # A shallow copy: free under pandas copy-on-write, and edits by a caller never
        # reach the district.
        return self._points.copy(deep=False)

    @property
    def n_cells(self) -> int:
        return len(self._cells)

    @property
    def n_grids(self) -> int:
        return self._n_grids

    @property
    def resolution(self) -> int:
        return self._resolution

    @property
    def metric_crs(self) -> str:
        return self._metric_crs

    @property
    def network_kind(self) -> str:
        return self._graph.kind

    @property
    def is_surrogate(self) -> bool:
        return self._graph.kind == "surrogate"

    @property
    def speeds_kmh(self) -> dict[str, float]:
        return dict(self._speeds)

    @property
    def detour_factor(self) -> float:
        return self._detour

    @property
    def area_km2(self) -> float:
        """Total area of the cells."""
        return float(self._cells["area_km2"].sum())

    @property
    def outline(self):
        """Shapely (Multi)Polygon in WGS84: the boundary union, or the union of the cells."""
        if self._outline is None:
            import shapely.geometry

            geo = h3.cells_to_geo(list(self._cells["h3"]))
            self._outline = shapely.geometry.shape(geo)
        return self._outline

    @property
    def connectors(self) -> tuple:
        """Straight-line links the connection rule added to the road graph (may be empty)."""
        return self._graph.connectors

    def to_networkx(self):
        """The road graph as an undirected :class:`networkx.Graph` (a copy).

        Nodes are vertex indices with ``x``, ``y`` (metres in :attr:`metric_crs`) and, for
        cell vertices, ``cell`` (the cell index); edges carry ``length`` in metres. For the
        surrogate network vertex ``i`` is cell ``i``; for an OSM network road nodes come
        first (``osmid`` attribute) and the cell vertices follow, each joined to its
        nearest road node by an access edge.
        """
        import networkx as nx

        g = self._graph
        G = nx.Graph(kind=g.kind, crs=self._metric_crs)
        cell_of_vertex = {int(v): i for i, v in enumerate(g.cell_vertex)}
        for vtx in range(g.n_vertices):
            attrs = {"x": float(g.x[vtx]), "y": float(g.y[vtx])}
            if vtx in cell_of_vertex:
                attrs["cell"] = cell_of_vertex[vtx]
            elif g.node_ids is not None:
                attrs["osmid"] = g.node_ids[vtx]
            G.add_node(vtx, **attrs)
        coo = sp_triu(g.lengths)
        G.add_edges_from((int(a), int(b), {"length": float(w)})
                         for a, b, w in zip(coo.row, coo.col, coo.data, strict=True))
        return G

    # ------------------------------------------------------------------ lookups
    def cell_of(self, lat, lon) -> np.ndarray:
        """int32 cell index of each WGS84 point, -1 where the point is in no cell."""
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        if lat.shape != lon.shape:
            raise ValueError(f"lat and lon shapes differ: {lat.shape} vs {lon.shape}")
        flat_lat, flat_lon = lat.ravel(), lon.ravel()
        ok = np.isfinite(flat_lat) & np.isfinite(flat_lon) & (np.abs(flat_lat) <= 90)
        ids = np.zeros(flat_lat.size, dtype=np.uint64)
        res = self._resolution
        ids[ok] = [h3i.latlng_to_cell(a, b, res)
                   for a, b in zip(flat_lat[ok], flat_lon[ok], strict=True)]
        pos = np.searchsorted(self._h3_int, ids)
        pos = np.minimum(pos, self._h3_int.size - 1)
        hit = ok & (self._h3_int[pos] == ids)
        return np.where(hit, pos, -1).astype(np.int32).reshape(lat.shape)

    def _place_points(self, points: pd.DataFrame | None) -> pd.DataFrame:
        if points is None:
            return pd.DataFrame({"name": pd.Series(dtype=str), "lat": pd.Series(dtype=float),
                                 "lon": pd.Series(dtype=float),
                                 "cell": pd.Series(dtype=np.int32)})
        points = points.reset_index(drop=True).copy()
        points["cell"] = self.cell_of(points["lat"].to_numpy(), points["lon"].to_numpy())
        return points

    def _points_xy(self) -> np.ndarray:
        tr = pyproj.Transformer.from_crs("EPSG:4326", self._metric_crs, always_xy=True)
        px, py = tr.transform(self._points["lon"].to_numpy(), self._points["lat"].to_numpy())
        return np.column_stack([px, py])

    def _point_counts(self, radius_m: float) -> np.ndarray:
        """Number of points within ``radius_m`` of each cell centre."""
        n = self.n_cells
        if len(self._points) == 0:
            return np.zeros(n)
        tree = cKDTree(self._points_xy())
        cxy = np.column_stack([self._cells["x"].to_numpy(), self._cells["y"].to_numpy()])
        hits = tree.query_ball_point(cxy, r=radius_m, return_length=True)
        return np.asarray(hits, dtype=np.float64)

    # ------------------------------------------------------------------ travel times
    def _mode_weights(self, mode: str):
        if mode not in self._speeds:
            raise InputError(f"unknown travel mode {mode!r}; known: {sorted(self._speeds)}")
        w = self._weights.get(mode)
        if w is None:
            w = self._graph.weights(self._speeds[mode], use_freeflow=(mode == "car"))
            self._weights[mode] = w
        return w

    def _check_index(self, idx, what: str) -> np.ndarray:
        a = np.atleast_1d(np.asarray(idx))
        if a.ndim != 1:
            raise ValueError(f"{what} must be a 1-d array of cell indices")
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{what} must be integer cell indices, got dtype {a.dtype}")
        a = a.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() >= self.n_cells):
            raise IndexError(f"{what} holds cell indices outside 0..{self.n_cells - 1}")
        return a

    def travel_time(self, origins, destinations=None, mode: str = "ebike") -> np.ndarray:
        """Travel times in seconds from each origin cell to each destination cell.

        Rows are computed on demand (Dijkstra from the unique origins only) and memoised per
        ``(mode, origin)`` within a memory budget, so repeated calls are cheap and a large
        district never needs the all-pairs matrix.

        Parameters
        ----------
        origins
            Cell indices (1-d integer array-like).
        destinations
            Cell indices, or None for all cells.
        mode
            A key of :attr:`speeds_kmh`.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(len(origins), len(destinations) or n_cells)``.
        """
        weights = self._mode_weights(mode)
        o = self._check_index(origins, "origins")
        d = None if destinations is None else self._check_index(destinations, "destinations")
        ncol = self.n_cells if d is None else d.size
        if o.size == 0:
            return np.empty((0, ncol), dtype=np.float32)
        full = self._full.get(mode)
        if full is not None:
            return full[o] if d is None else full[np.ix_(o, d)]
        with self._lock:
            memo = self._memo.setdefault(mode, collections.OrderedDict())
            uniq = np.unique(o)
            missing = np.array([u for u in uniq if int(u) not in memo], dtype=np.int64)
            if missing.size:
                gv = self._graph.cell_vertex
                block = _network.shortest_rows(weights, gv[missing], gv)
                for k, u in enumerate(missing):
                    row = block[k].copy()
                    row[u] = 0.0  # a cell to itself: no travel
                    row.flags.writeable = False
                    memo[int(u)] = row
            rows = []
            for u in o:
                r = memo[int(u)]
                memo.move_to_end(int(u))
                rows.append(r if d is None else r[d])
            out = np.stack(rows)
            max_rows = max(uniq.size, ROW_MEMO_BYTES // (4 * self.n_cells))
            while len(memo) > max_rows:
                memo.popitem(last=False)
        return out

    def cache_key(self, mode: str = "ebike") -> str:
        """Hash of everything a travel-time matrix depends on."""
        self._mode_weights(mode)
        h = hashlib.sha256()
        h.update(_CACHE_FORMAT.encode())
        h.update(self._h3_int.tobytes())
        h.update(self._graph.digest().encode())
        h.update(f"{mode}:{self._speeds[mode]!r}:{self._detour!r}".encode())
        return h.hexdigest()

    def travel_time_matrix(self, mode: str = "ebike") -> np.ndarray:
        """The all-pairs ``(n_cells, n_cells)`` float32 matrix of seconds (read-only).

        Cached on disk as ``<cache_dir>/traveltime_<mode>_<hash>.npy``, keyed by a hash of the
        cells, the road graph, the mode speed and the detour factor; a later call (in any
        process) with the same inputs loads the file. Needs ``4 * n_cells**2`` bytes: for
        large districts use :meth:`travel_time` rows instead.
        """
        weights = self._mode_weights(mode)
        full = self._full.get(mode)
        if full is not None:
            return full
        key = self.cache_key(mode)
        path = self._cache_dir / f"traveltime_{mode}_{key[:24]}.npy"
        m = None
        if path.exists():
            try:
                m = np.load(path, allow_pickle=False)
                if m.shape != (self.n_cells, self.n_cells) or m.dtype != np.float32:
                    log.warning("ignoring travel-time cache %s: wrong shape", path)
                    m = None
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable travel-time cache %s: %s", path, exc)
                m = None
        if m is None:
            gv = self._graph.cell_vertex
            m = _network.shortest_rows(weights, gv, gv)
            np.fill_diagonal(m, 0.0)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, m)
                os.replace(tmp, path)
            except OSError as exc:  # a read-only cache folder must not stop the run
                log.warning("could not write travel-time cache %s: %s", path, exc)
        m.flags.writeable = False
        self._full[mode] = m
        return m

    def travel_time_cache_path(self, mode: str = "ebike") -> Path:
        """Where :meth:`travel_time_matrix` stores (or finds) its file."""
        return self._cache_dir / f"traveltime_{mode}_{self.cache_key(mode)[:24]}.npy"

    # ------------------------------------------------------------------ summary
    def summary(self) -> dict[str, Any]:
        """Plain-data description used by ``urbangrid district info``.

        Travel-time statistics come from up to 200 evenly spaced origin cells to all cells
        (exact for small districts, a sample otherwise; ``origins`` says which).
        """
        g = self._graph
        n = self.n_cells
        origins = np.unique(np.linspace(0, n - 1, min(n, _SUMMARY_ORIGINS)).astype(np.int64))
        tt = {}
        for mode in self._speeds:
            rows = self.travel_time(origins, mode=mode)
            off = rows[rows > 0]
            if off.size == 0:
                off = np.zeros(1, dtype=np.float32)
            tt[mode] = {
                "speed_kmh": self._speeds[mode],
                "mean_min": round(float(off.mean()) / 60, 2),
                "median_min": round(float(np.median(off)) / 60, 2),
                "p95_min": round(float(np.percentile(off, 95)) / 60, 2),
                "max_min": round(float(off.max()) / 60, 2),
            }
        # Measured shape of the network: route / straight-line distance over the sampled
        # pairs more than 1 km apart (the detour factor was calibrated the same way).
        c = self._cells
        dx = c["x"].to_numpy()[origins][:, None] - c["x"].to_numpy()[None, :]
        dy = c["y"].to_numpy()[origins][:, None] - c["y"].to_numpy()[None, :]
        straight = np.hypot(dx, dy)
        far = straight > 1000.0
        walk = self.travel_time(origins, mode="walk") * (self._speeds["walk"] / 3.6)
        ratio = float(np.median(walk[far] / straight[far])) if far.any() else None
        coo = g.lengths.tocoo()
        n_road = g.n_road_vertices or g.n_vertices
        road = (coo.row < n_road) & (coo.col < n_road)
        network = {
            "kind": g.kind,
            "label": ("SURROGATE (H3 adjacency x detour factor, not a real road network)"
                      if g.kind == "surrogate" else "OpenStreetMap road network"),
            "vertices": int(n_road),
            "edges": int(road.sum() // 2),
            "length_km": round(float(coo.data[road].sum()) / 2 / 1000, 1),
            "route_over_straight_median": None if ratio is None else round(ratio, 3),
            "one_way_rules": "ignored (edges used in both directions)",
            "detour_factor": self._detour,
            "connector_links": len(g.connectors),
            "connector_max_m": round(max((c.straight_m for c in g.connectors), default=0.0),
                                     1),
        }
        if g.kind == "osm" and g.snap_m is not None:
            network["snap_median_m"] = round(float(np.median(g.snap_m)), 1)
            network["snap_max_m"] = round(float(np.max(g.snap_m)), 1)
            network["car_uses_osm_travel_time"] = g.freeflow_s is not None
        return {
            "district": self._name,
            "resolution": self._resolution,
            "cells": n,
            "subdistricts": len(self._subdistricts),
            "area_km2": round(self.area_km2, 3),
            "grids": self._n_grids,
            "metric_crs": self._metric_crs,
            "weights": list(self._weight_columns),
            "points": len(self._points),
            "network": network,
            "travel_time": {"origins": int(origins.size), "modes": tt},
            "notes": list(self._notes),
        }

    def __repr__(self) -> str:
        return (f"District({self._name!r}, resolution={self._resolution}, cells={self.n_cells}, "
                f"subdistricts={len(self._subdistricts)}, grids={self._n_grids}, "
                f"network={self.network_kind!r})")
