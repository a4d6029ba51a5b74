"""Readers for user files: boundaries, weights, points and GraphML road networks (private).

Every problem with a user file raises :class:`~urbangrid.errors.InputError` naming the
file and the field or value at fault; repairs that change data (``make_valid`` on a
self-intersecting polygon, reprojection of a declared CRS, dissolving duplicate codes) are
logged as warnings so they are never silent.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import h3
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from urbangrid.errors import InputError

from . import _network
from .coords import canonical_crs, to_wgs84

log = logging.getLogger("urbangrid.grid")

SOURCE_CRS = ("wgs84", "gcj02", "bd09")
CODE_CANDIDATES = ("code", "code9", "adcode", "code12", "gb", "xzqdm", "id")
NAME_CANDIDATES = ("name", "name_zh", "NAME", "name_en", "xzqmc")
LAT_NAMES = ("lat", "latitude", "y", "wgs84_lat")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "wgs84_lon")
#: A cell centre farther than this from every road node means the network does not cover it.
MAX_SNAP_M = 1000.0
#: Refuse districts with more cells than this (a typo in the resolution, or a country).
MAX_CELLS = 2_000_000
_GEOD = pyproj.Geod(ellps="WGS84")


def _norm_crs(source_crs: str) -> str:
    try:
        return canonical_crs(source_crs)
    except ValueError:
        raise InputError(f"source_crs must be one of {', '.join(SOURCE_CRS)} "
                         f"(or EPSG:4326), got {source_crs!r}") from None


def _check_file(path, what: str) -> Path:
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
    else:
        raise InputError(f"{what} must be a file path, got {type(path).__name__}")
    if not p.exists():
        raise InputError(f"{what} file not found", source=str(p))
    if not p.is_file():
        raise InputError(f"{what} is not a file", source=str(p))
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} file is not readable (permissions)", source=str(p))
    return p


def _pick_column(columns, wanted: str, default: str, candidates, what: str,
                 src: str) -> str:
    if wanted in columns:
        return wanted
    if wanted == default:
        found = [c for c in candidates if c in columns]
        if found:
            log.info("%s: %s column %r not found, using %r", src, what, wanted, found[0])
            return found[0]
    raise InputError(f"no {what} column {wanted!r}; columns are {sorted(map(str, columns))} "
                     f"(choose one with --{what}-column)", source=src)


def _check_degrees(x: np.ndarray, y: np.ndarray, src: str, source_crs: str, what: str):
    """Refuse coordinates that cannot be longitude/latitude degrees."""
    if x.size == 0:
        return
    xmin, xmax, ymin, ymax = x.min(), x.max(), y.min(), y.max()
    if (np.abs([ymin, ymax]) > 90).any() and (np.abs([xmin, xmax]) <= 90).all() \
            and (np.abs([ymin, ymax]) <= 180).all():
        raise InputError(f"{what} coordinates look like latitude/longitude swapped "
                         f"(x in [{xmin:.4f}, {xmax:.4f}], y in [{ymin:.4f}, {ymax:.4f}]; "
                         f"GeoJSON and CSV x must be longitude)", source=src)
    if (np.abs([xmin, xmax]) > 180).any() or (np.abs([ymin, ymax]) > 90).any():
        raise InputError(f"{what} coordinates look like projected metres passed as degrees "
                         f"(x in [{xmin:.1f}, {xmax:.1f}], y in [{ymin:.1f}, {ymax:.1f}]); "
                         f"declare the file's CRS or convert it to WGS84 lon/lat", source=src)
    if source_crs in ("gcj02", "bd09"):
        # The offset datums only exist in China: lon 73..136, lat 18..54.
        in_china = (xmin >= 72 and xmax <= 138 and ymin >= 0.8 and ymax <= 56)
        swapped = (ymin >= 72 and ymax <= 138 and xmin >= 0.8 and xmax <= 56)
        if swapped:
            raise InputError(f"{what} coordinates look like latitude/longitude swapped "
                             f"(x in [{xmin:.4f}, {xmax:.4f}] looks like a latitude)",
                             source=src)
        if not in_china:
            raise InputError(f"{what} coordinates lie outside China but source_crs is "
                             f"{source_crs!r} (a Chinese map datum)", source=src)


def _to_wgs84_geoms(geoms: np.ndarray, source_crs: str) -> np.ndarray:
    if source_crs == "wgs84":
        return geoms

    def conv(xy: np.ndarray) -> np.ndarray:
        lat, lon = to_wgs84(xy[:, 1], xy[:, 0], source_crs)
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, conv)


def read_boundary(boundary, *, code_column: str, name_column: str, source_crs: str):
    """Sub-district polygons in WGS84 as a GeoDataFrame with ``code``, ``name`` columns."""
    import geopandas as gpd

    source_crs = _norm_crs(source_crs)
    p = _check_file(boundary, "boundary")
    src = str(p)
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read as a GeoJSON, GeoPackage or Shapefile: {msg}",
                         source=src) from None
    if len(gdf) == 0:
        raise InputError("boundary file has no features", source=src)
    code_col = _pick_column(gdf.columns, code_column, "code", CODE_CANDIDATES, "code", src)
    name_col = _pick_column(gdf.columns, name_column, "name", NAME_CANDIDATES, "name", src)

    # --- CRS: what the file declares versus what source_crs says
    crs = gdf.crs
    if crs is not None:
        epsg = crs.to_epsg()
        is_wgs84 = epsg == 4326 or crs.equals(pyproj.CRS("OGC:CRS84"))
        if is_wgs84:
            pass
        elif source_crs != "wgs84":
            raise InputError(f"unexpected CRS {crs.to_string()!r} for source_crs "
                             f"{source_crs!r}: GCJ-02/BD-09 files must hold plain lon/lat "
                             f"degrees (no CRS or EPSG:4326)", source=src)
        elif crs.is_projected or crs.is_geographic:
            _check_geoms_present(gdf, code_col, src)
            log.warning("%s: reprojecting boundary from %s to WGS84", src, crs.to_string())
            try:
                gdf = gdf.to_crs("EPSG:4326")
            except Exception as exc:
                raise InputError(f"cannot reproject from CRS {crs.to_string()!r}: {exc}",
                                 source=src) from None
        else:
            raise InputError(f"unexpected CRS {crs.to_string()!r}: expected geographic "
                             f"lon/lat (EPSG:4326) or a projected CRS", source=src)

    _check_geoms_present(gdf, code_col, src)
    geoms = gdf.geometry.to_numpy()
    coords = shapely.get_coordinates(geoms)
    _check_degrees(coords[:, 0], coords[:, 1], src, source_crs, "boundary")
    geoms = _to_wgs84_geoms(geoms, source_crs)

    # --- geometry validity: repair self-intersections, and say so
    codes = gdf[code_col].astype(str).str.strip().to_numpy()
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
        log.warning("%s: repaired invalid geometry of %s with make_valid (%s)", src,
                    ", ".join(codes[invalid][:5]), "; ".join(reasons[:3]))
        fixed = shapely.make_valid(geoms[invalid])
        geoms[invalid] = [_polygonal(g) for g in fixed]
        still = shapely.is_empty(geoms)
        if still.any():
            raise InputError(f"geometry of sub-district {codes[still][0]!r} is invalid and "
                             f"has no area after repair", source=src)

    # Keep only polygon parts (a GeometryCollection may also hold lines or points).
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    no_area = shapely.is_empty(geoms)
    if no_area.any():
        raise InputError(f"sub-district {codes[no_area][0]!r} has no polygon area",
                         source=src)
    names = gdf[name_col].astype(str).to_numpy()
    if pd.isna(gdf[code_col]).any() or (codes == "").any():
        row = int(np.flatnonzero(pd.isna(gdf[code_col]).to_numpy() | (codes == ""))[0])
        raise InputError(f"row {row} has no value in code column {code_col!r}", source=src)
    out = pd.DataFrame({"code": codes, "name": names})
    if "name_en" in gdf.columns and name_col != "name_en":
        out["name_en"] = gdf["name_en"].astype(str).to_numpy()
    out["geometry"] = geoms
    if out["code"].duplicated().any():
        dup = sorted(set(out.loc[out["code"].duplicated(), "code"]))
        log.warning("%s: %d codes appear on several rows (%s...); their polygons are merged",
                    src, len(dup), ", ".join(dup[:3]))
        first = out.drop_duplicates("code").set_index("code")
        merged = out.groupby("code", sort=False)["geometry"].agg(
            lambda s: shapely.union_all(s.to_numpy()))
        first["geometry"] = merged
        out = first.reset_index()
    return out, src


def _check_geoms_present(gdf, code_col: str, src: str) -> None:
    geoms = gdf.geometry.to_numpy()
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"empty or missing geometry for sub-district "
                         f"{gdf[code_col].iloc[row]!r} (row {row})", source=src)
    types = shapely.get_type_id(geoms)
    # 3 = Polygon, 6 = MultiPolygon, 7 = GeometryCollection (may hold polygons)
    bad = ~np.isin(types, (3, 6, 7))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"sub-district {gdf[code_col].iloc[row]!r} has a "
                         f"{geoms[row].geom_type} geometry; polygons are needed", source=src)


def _polygonal(g):
    """The polygon parts of a geometry (make_valid may return lines alongside polygons)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def geodesic_area_km2(geom) -> float:
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def boundary_cells(bnd: pd.DataFrame, resolution: int, src: str):
    """H3 cells whose centre lies in each sub-district (first row wins on overlaps)."""
    if not (isinstance(resolution, (int, np.integer)) and 0 <= resolution <= 15):
        raise InputError(f"H3 resolution must be an integer 0..15, got {resolution!r}")
    total_km2 = sum(geodesic_area_km2(g) for g in bnd["geometry"])
    expected = total_km2 / h3.average_hexagon_area(int(resolution), unit="km^2")
    if expected > MAX_CELLS:
        raise InputError(f"the boundary ({total_km2:,.0f} km2) would give about "
                         f"{expected:,.0f} cells at H3 resolution {resolution}; the limit is "
                         f"{MAX_CELLS:,}: use a coarser resolution", source=src)
    owner: dict[str, str] = {}
    n_overlap = 0
    empty = []
    for code, geom in zip(bnd["code"], bnd["geometry"], strict=True):
        cells = h3.geo_to_cells(geom, int(resolution))
        if not cells:
            empty.append(code)
        for c in cells:
            if c in owner:
                n_overlap += 1
            else:
                owner[c] = code
    if n_overlap:
        log.warning("%s: %d cell centres lie in two overlapping sub-districts; each goes to "
                    "the first one in file order", src, n_overlap)
    if empty:
        log.warning("%s: sub-districts %s contain no H3 cell centre at resolution %d "
                    "(listed with 0 cells)", src, ", ".join(empty), resolution)
    if not owner:
        raise InputError(f"the boundary contains no H3 cell centre at resolution "
                         f"{resolution}: too small, or wrong coordinates", source=src)
    ids = list(owner)
    return ids, np.array([owner[c] for c in ids], dtype=object)


def _sanitize(col: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", str(col)).strip("_").lower()
    return name if name.startswith("w_") else f"w_{name}"


def read_weights(path, sub_codes: list[str], code_column: str):
    """A weight builder from a CSV keyed by sub-district code or H3 cell."""
    p = _check_file(path, "weights")
    src = str(p)
    try:
        df = pd.read_csv(p, dtype=str)
    except Exception as exc:
        raise InputError(f"cannot read weights CSV: {exc}", source=src) from None
    key = next((k for k in ("h3", "code", code_column) if k in df.columns), None)
    if key is None:
        raise InputError(f"weights CSV needs a 'code' (sub-district) or 'h3' (cell) key "
                         f"column; columns are {list(df.columns)}", source=src)
    values = {}
    for col in df.columns:
        if col == key:
            continue
        num = pd.to_numeric(df[col], errors="coerce")
        if num.isna().all() and df[col].notna().any():
            log.info("%s: column %r is not numeric; not used as a weight", src, col)
            continue
        bad = num.isna() | (num < 0) | ~np.isfinite(num.fillna(0))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"column {col!r} row {row + 2}: value {df[col].iloc[row]!r} is "
                             f"not a non-negative number", source=src)
        wname = _sanitize(col)
        if wname in ("w_area", "w_points") or wname in values:
            raise InputError(f"column {col!r} would be weight {wname!r}, which is reserved or "
                             f"already used; rename it", source=src)
        values[wname] = num.to_numpy(dtype=np.float64)
    if not values:
        raise InputError("weights CSV has no numeric weight column", source=src)
    keys = df[key].astype(str).str.strip().to_numpy()
    if pd.Series(keys).duplicated().any():
        raise InputError(f"key column {key!r} has duplicate value "
                         f"{keys[pd.Series(keys).duplicated().to_numpy()][0]!r}", source=src)

    def build(d) -> dict[str, np.ndarray]:
        out = {}
        if key == "h3":
            pos = {c: i for i, c in enumerate(d.cells["h3"])}
            idx = np.array([pos.get(k, -1) for k in keys])
            if (idx < 0).any():
                k = keys[idx < 0][0]
                why = ("is not a valid H3 cell" if not h3.is_valid_cell(k) else
                       f"has resolution {h3.get_resolution(k)}, district uses {d.resolution}"
                       if h3.get_resolution(k) != d.resolution else "is outside the district")
                raise InputError(f"{(idx < 0).sum()} cells in column 'h3' are not district "
                                 f"cells: {k!r} {why}", source=src)
            for col, v in values.items():
                w = np.zeros(d.n_cells)
                w[idx] = v
                out[col] = w
            return out
        codes = list(d.subdistricts["code"])
        unknown = sorted(set(keys) - set(codes))
        if unknown:
            raise InputError(f"codes {unknown[:5]} in column {key!r} are not sub-districts of "
                             f"the boundary", source=src)
        missing = sorted(set(codes) - set(keys))
        if missing:
            raise InputError(f"no weights for sub-districts {missing[:5]}", source=src)
        row_of = {k: i for i, k in enumerate(keys)}
        order = np.array([row_of[c] for c in codes])
        sidx = d.subdistrict_index
        area = d.cells["area_km2"].to_numpy()
        sub_area = np.bincount(sidx, weights=area, minlength=len(codes))
        for col, v in values.items():
            per_sub = v[order]
            # Extensive quantities (people, jobs) are spread over cells by area share.
            with np.errstate(invalid="ignore", divide="ignore"):
                out[col] = np.where(sub_area[sidx] > 0,
                                    per_sub[sidx] * area / sub_area[sidx], 0.0)
        return out

    return build


def read_points(path, source_crs: str) -> tuple[pd.DataFrame, str]:
    """Points CSV -> DataFrame with ``name``, ``lat``, ``lon`` in WGS84."""
    p = _check_file(path, "points")
    src = str(p)
    try:
        df = pd.read_csv(p)
    except Exception as exc:
        raise InputError(f"cannot read points CSV: {exc}", source=src) from None
    cols = {c.lower(): c for c in df.columns}
    lat_c = next((cols[c] for c in LAT_NAMES if c in cols), None)
    lon_c = next((cols[c] for c in LON_NAMES if c in cols), None)
    if lat_c is None or lon_c is None:
        raise InputError(f"points CSV needs 'lat' and 'lon' columns; columns are "
                         f"{list(df.columns)}", source=src)
    lat = pd.to_numeric(df[lat_c], errors="coerce").to_numpy(dtype=np.float64)
    lon = pd.to_numeric(df[lon_c], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(lat) & np.isfinite(lon))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"row {row + 2}: lat/lon {df[lat_c].iloc[row]!r}, "
                         f"{df[lon_c].iloc[row]!r} is not a pair of numbers", source=src)
    _check_degrees(lon, lat, src, source_crs, "points")
    lat, lon = to_wgs84(lat, lon, source_crs)
    name_c = next((cols[c] for c in ("name", "name_zh", "name_en") if c in cols), None)
    names = df[name_c].astype(str) if name_c else pd.Series([f"point {i}" for i in
                                                              range(len(df))])
    out = pd.DataFrame({"name": names.to_numpy(), "lat": lat, "lon": lon})
    out["row"] = np.arange(len(df)) + 2  # line number in the file, for messages
    return out, src


def points_builder(src: str, radius_m: float):
    """Weight ``w_points``; refuses points farther than ``radius_m`` from every cell."""

    def build(d) -> dict[str, np.ndarray]:
        pts = d.points
        cxy = np.column_stack([d.cells["x"].to_numpy(), d.cells["y"].to_numpy()])
        dist, _ = cKDTree(cxy).query(d._points_xy())
        far = dist > radius_m
        if far.any():
            k = int(np.flatnonzero(far)[0])
            raise InputError(f"{int(far.sum())} of {len(pts)} points lie outside the district "
                             f"(more than {radius_m:.0f} m from every cell), e.g. row "
                             f"{int(pts['row'].iloc[k])} {pts['name'].iloc[k]!r} at "
                             f"{pts['lat'].iloc[k]:.5f}, {pts['lon'].iloc[k]:.5f}; "
                             f"remove them or check source_crs", source=src)
        return {"w_points": d._point_counts(radius_m)}

    return build


def load_district_parts(boundary, *, code_column: str, name_column: str, source_crs: str,
                        resolution: int, weights, points, points_radius_m: float) -> dict:
    """Everything :class:`District` needs from user files, checked."""
    source_crs = _norm_crs(source_crs)
    bnd, src = read_boundary(boundary, code_column=code_column, name_column=name_column,
                             source_crs=source_crs)
    ids, codes = boundary_cells(bnd, resolution, src)
    subs = bnd.drop(columns="geometry").copy()
    subs["area_km2"] = [geodesic_area_km2(g) for g in bnd["geometry"]]
    builders = []
    pts = None
    notes = [f"boundary: {src} (source_crs {source_crs}); cells whose centre lies in a "
             f"sub-district polygon"]
    if weights is not None:
        builders.append(read_weights(weights, list(subs["code"]), code_column))
        notes.append(f"weights from {weights}")
    if points is not None:
        pts, psrc = read_points(points, source_crs)
        builders.append(points_builder(psrc, points_radius_m))
        notes.append(f"w_points = points of {psrc} within {points_radius_m:.0f} m")

    def build_all(d) -> dict[str, np.ndarray]:
        out = {}
        for b in builders:
            out.update(b(d))
        return out

    return {
        "name": Path(src).stem,
        "h3_ids": ids,
        "sub_codes": codes,
        "subdistricts": subs,
        "weight_builder": build_all,
        "points": pts,
        "outline": shapely.union_all(bnd["geometry"].to_numpy()),
        "notes": tuple(notes),
    }


# ---------------------------------------------------------------------- road networks
def _graph_from(network) -> tuple[nx.Graph, str]:
    if isinstance(network, nx.Graph):
        return network, "<networkx graph>"
    p = _check_file(network, "network")
    try:
        g = nx.read_graphml(p)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read as GraphML: {msg}", source=str(p)) from None
    return g, str(p)


def _float_attr(value, what: str, src: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} {value!r} is not a number", source=src) from None
    if not np.isfinite(v):
        raise InputError(f"{what} {value!r} is not finite", source=src)
    return v


def osm_graph(network, cells: pd.DataFrame, metric_crs: str, detour_factor: float,
              max_snap_m: float = MAX_SNAP_M) -> _network.RoadGraph:
    """A :class:`RoadGraph` from an OSMnx-style GraphML road network, with cells snapped.

    Nodes need ``x`` (longitude) and ``y`` (latitude) attributes, or projected ``x``/``y``
    with a graph ``crs`` attribute; every edge needs a ``length`` in metres. When every
    edge also has ``travel_time`` (OSMnx ``add_edge_travel_times``), car times keep its
    relative road speeds (see :meth:`RoadGraph.weights`).
    """
    g, src = _graph_from(network)
    if g.number_of_nodes() == 0 or g.number_of_edges() == 0:
        raise InputError("road network has no nodes or no edges", source=src)
    nodes = list(g.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    try:
        nx_ = np.array([_float_attr(g.nodes[n]["x"], f"node {n} x", src) for n in nodes])
        ny_ = np.array([_float_attr(g.nodes[n]["y"], f"node {n} y", src) for n in nodes])
    except KeyError:
        raise InputError("road network nodes need 'x' and 'y' coordinate attributes",
                         source=src) from None
    gcrs = g.graph.get("crs")
    if gcrs and not pyproj.CRS(gcrs).is_geographic:
        tr = pyproj.Transformer.from_crs(gcrs, "EPSG:4326", always_xy=True)
        nx_, ny_ = tr.transform(nx_, ny_)
    _check_degrees(nx_, ny_, src, "wgs84", "road network")

    us, vs, lens, tts = [], [], [], []
    n_missing = 0
    example = None
    for u, v, data in g.edges(data=True):
        if u == v:
            continue
        if "length" not in data:
            n_missing += 1
            example = example or (u, v)
            continue
        L = _float_attr(data["length"], f"edge {u}->{v} length", src)
        if L < 0:
            raise InputError(f"edge {u}->{v} has negative length {L}", source=src)
        us.append(pos[u])
        vs.append(pos[v])
        lens.append(max(L, 0.01))  # zero-length OSM edges: keep them as edges for csgraph
        tts.append(data.get("travel_time"))
    if n_missing:
        raise InputError(f"{n_missing} of {g.number_of_edges()} road edges have no 'length' "
                         f"attribute (e.g. edge {example[0]}->{example[1]}); export the graph "
                         f"with OSMnx, which stores lengths in metres", source=src)
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    length = np.asarray(lens, dtype=np.float64)
    has_tt = all(t is not None for t in tts)
    tt = (np.array([_float_attr(t, "edge travel_time", src) for t in tts]) if has_tt
          else None)
    if tt is not None and np.any(tt <= 0):
        tt = np.maximum(tt, 0.01)

    tr = pyproj.Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    vx, vy = tr.transform(nx_, ny_)
    vx, vy = np.asarray(vx), np.asarray(vy)
    cxy = np.column_stack([cells["x"].to_numpy(), cells["y"].to_numpy()])
    dist, nearest = cKDTree(np.column_stack([vx, vy])).query(cxy)
    far = dist > max_snap_m
    if far.any():
        k = int(np.argmax(dist))
        raise InputError(f"the road network does not cover the district: {int(far.sum())} of "
                         f"{len(cells)} cells are more than {max_snap_m:.0f} m from any road "
                         f"node (worst {dist[k]:.0f} m at cell {cells['h3'].iloc[k]})",
                         source=src)
    n_nodes = len(nodes)
    n_cells = len(cells)
    cell_vertex = n_nodes + np.arange(n_cells, dtype=np.int64)
    # Access edge: straight line from the cell centre to its nearest road node, times the
    # detour factor like every other straight-line link (at least 1 m so it is an edge).
    access = np.maximum(dist * detour_factor, 1.0)
    all_u = np.concatenate([u, cell_vertex])
    all_v = np.concatenate([v, nearest.astype(np.int64)])
    all_len = np.concatenate([length, access])
    n = n_nodes + n_cells
    lengths = _network._symmetric_csr(n, all_u, all_v, all_len)
    ff = None
    if tt is not None:
        v_ff = length.sum() / tt.sum()
        ff = _network._symmetric_csr(n, all_u, all_v, np.concatenate([tt, access / v_ff]))
        if ff.nnz != lengths.nnz:  # parallel edges chose different minima: align patterns
            ff = None
            log.warning("%s: travel_time attributes ignored (parallel edges)", src)
    rg = _network.RoadGraph(lengths=lengths, freeflow_s=ff, cell_vertex=cell_vertex,
                            x=np.concatenate([vx, cxy[:, 0]]), y=np.concatenate([vy, cxy[:, 1]]),
                            kind="osm", snap_m=dist, node_ids=tuple(nodes),
                            n_road_vertices=n_nodes)
    return _network.connect_components(rg, detour_factor)
