"""Road graphs as sparse matrices, and shortest-path rows over them (private).

A :class:`RoadGraph` is the common form of both networks a district can have:

- the *surrogate* network: one vertex per H3 cell, an edge between adjacent cells with
  length = great-circle distance x detour factor;
- a real *OSM* network: the road intersections as vertices, plus one extra vertex per cell
  joined to its nearest road node by an access edge of straight-line length, so a cell's
  travel time includes the walk/ride from its centre to the road.

Edges are stored undirected (both directions in a CSR matrix): one-way rules are ignored,
as the issue's calibration figure (route = 1.31 x straight line) does, and because walkers
and e-bikes in Shanghai's old town do not follow them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

import h3
import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres (mean Earth radius, IUGG)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


@dataclasses.dataclass(frozen=True)
class ConnectorLink:
    """A straight-line link added to join two disconnected parts of a network."""

    u: int
    v: int
    straight_m: float
    length_m: float


@dataclasses.dataclass(frozen=True)
class RoadGraph:
    """An undirected road graph with per-edge lengths and optional free-flow times.

    Attributes
    ----------
    lengths
        Symmetric CSR matrix (n_vertices x n_vertices) of edge lengths in metres.
    freeflow_s
        Same pattern, OSM ``travel_time`` seconds per edge, or None.
    cell_vertex
        int64 vertex index of every cell.
    x, y
        Metric coordinates of every vertex.
    kind
        ``"surrogate"`` or ``"osm"``.
    connectors
        Links added by the connection rule (empty when the network was connected).
    snap_m
        Straight-line distance from each cell centre to its road node (zeros for surrogate).
    node_ids
        For an OSM graph, the GraphML node id of road vertex ``i`` (vertices
        ``0..n_road_vertices-1``); cell vertices follow.
    """

    lengths: sp.csr_matrix
    freeflow_s: sp.csr_matrix | None
    cell_vertex: np.ndarray
    x: np.ndarray
    y: np.ndarray
    kind: str
    connectors: tuple[ConnectorLink, ...] = ()
    snap_m: np.ndarray | None = None
    node_ids: tuple | None = None
    n_road_vertices: int = 0

    @property
    def n_vertices(self) -> int:
        return self.lengths.shape[0]

    def weights(self, speed_kmh: float, use_freeflow: bool) -> sp.csr_matrix:
        """Edge travel times in seconds for one mode.

        With OSM free-flow times (``use_freeflow``), each edge keeps its relative speed but
        the whole network is rescaled so that its length-weighted mean speed equals the mode
        speed: ``t_e = travel_time_e * v_ff / v_mode`` with ``v_ff = sum(len) / sum(tt)``.
        Otherwise ``t_e = len_e / v_mode``.
        """
        v = speed_kmh / 3.6
        if use_freeflow and self.freeflow_s is not None:
            v_ff = self.lengths.data.sum() / self.freeflow_s.data.sum()
            w = self.freeflow_s.copy()
            w.data = w.data * (v_ff / v)
            return w
        w = self.lengths.copy()
        w.data = w.data / v
        return w

    def digest(self) -> str:
        """A hash of the graph and the cell-to-vertex map (for on-disk caches)."""
        h = hashlib.sha256()
        for arr in (self.lengths.indptr, self.lengths.indices, self.lengths.data,
                    self.cell_vertex):
            h.update(np.ascontiguousarray(arr).tobytes())
        if self.freeflow_s is not None:
            h.update(np.ascontiguousarray(self.freeflow_s.data).tobytes())
        h.update(self.kind.encode())
        return h.hexdigest()


def _symmetric_csr(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """Undirected CSR keeping the minimum weight of parallel edges."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    data = np.concatenate([w, w])
    # Minimum over duplicates: sort by (row, col, weight) and keep the first of each pair.
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    m = sp.csr_matrix((data[keep], (rows[keep], cols[keep])), shape=(n, n))
    m.sort_indices()
    return m


def surrogate_graph(h3_ids: list[str], lat: np.ndarray, lon: np.ndarray, x: np.ndarray,
                    y: np.ndarray, detour_factor: float) -> RoadGraph:
    """The H3-adjacency surrogate network (one vertex per cell)."""
    index = {c: i for i, c in enumerate(h3_ids)}
    us, vs, ring = [], [], []
    for i, c in enumerate(h3_ids):
        for k in (1, 2):
            for nb in h3.grid_ring(c, k):
                j = index.get(nb)
                if j is not None and j > i:
                    us.append(i)
                    vs.append(j)
                    ring.append(k)
    u = np.asarray(us, dtype=np.int64)
    v = np.asarray(vs, dtype=np.int64)
    ring = np.asarray(ring, dtype=np.int8)
    straight = haversine_m(lat[u], lon[u], lat[v], lon[v])
    # Keep the 6 neighbours (distance s) and the 6 "diagonal" ring-2 cells (distance
    # sqrt(3) s), dropping the aligned ring-2 cells (2 s, always two neighbour steps). With
    # 12 directions a path over cell centres is at most 1/cos(15 deg) = 1.035 x the straight
    # line (6 directions alone would give up to 2/sqrt(3) = 1.155), so the detour factor
    # keeps its measured meaning: route length / straight-line length.
    spacing = np.median(straight[ring == 1]) if np.any(ring == 1) else 1.0
    keep = (ring == 1) | (straight < 1.9 * spacing)
    u, v, straight = u[keep], v[keep], straight[keep]
    length = straight * detour_factor
    n = len(h3_ids)
    lengths = _symmetric_csr(n, u, v, length)
    g = RoadGraph(lengths=lengths, freeflow_s=None, cell_vertex=np.arange(n, dtype=np.int64),
                  x=np.asarray(x, dtype=np.float64), y=np.asarray(y, dtype=np.float64),
                  kind="surrogate", snap_m=np.zeros(n))
    return connect_components(g, detour_factor)


def connect_components(g: RoadGraph, detour_factor: float) -> RoadGraph:
    """Join the parts of ``g`` that hold cells with straight-line x detour links.

    The connection rule: while the cells lie in more than one connected component, take the
    component with the fewest vertices, find its vertex nearest (straight line) to any vertex
    of another cell-holding component, and add an edge of length ``straight x detour``.
    Components without any cell are left alone (they are never reached from a cell).
    Every added link is returned in ``RoadGraph.connectors`` and reported in summaries.
    """
    lengths = g.lengths
    ff = g.freeflow_s
    links: list[ConnectorLink] = []
    pts = np.column_stack([g.x, g.y])
    while True:
        n_comp, labels = csgraph.connected_components(lengths, directed=False)
        cell_comps = np.unique(labels[g.cell_vertex])
        if cell_comps.size <= 1:
            break
        sizes = np.bincount(labels, minlength=n_comp)
        small = cell_comps[np.argmin(sizes[cell_comps])]
        in_small = labels == small
        others = np.isin(labels, cell_comps) & ~in_small
        other_idx = np.flatnonzero(others)
        tree = cKDTree(pts[other_idx])
        small_idx = np.flatnonzero(in_small)
        dist, nn = tree.query(pts[small_idx])
        k = int(np.argmin(dist))
        u, v, d = int(small_idx[k]), int(other_idx[nn[k]]), float(dist[k])
        d = max(d, 1.0)  # coincident vertices: a 1 m link keeps the graph weight positive
        link = ConnectorLink(u=u, v=v, straight_m=d, length_m=d * detour_factor)
        links.append(link)
        add = sp.csr_matrix(([link.length_m] * 2, ([u, v], [v, u])), shape=lengths.shape)
        lengths = (lengths + add).tocsr()
        if ff is not None:
            # A connector has no OSM speed: give it the network's mean free-flow speed.
            v_ff = g.lengths.data.sum() / g.freeflow_s.data.sum()
            ff = (ff + sp.csr_matrix(([link.length_m / v_ff] * 2, ([u, v], [v, u])),
                                     shape=lengths.shape)).tocsr()
    if links:
        log.warning("%s network: %d disconnected parts joined by straight-line links "
                    "(longest %.0f m)", g.kind, len(links), max(k.straight_m for k in links))
    return dataclasses.replace(g, lengths=lengths, freeflow_s=ff,
                               connectors=g.connectors + tuple(links))


_CHUNK_BYTES = 64 * 2**20


def shortest_rows(weights: sp.csr_matrix, sources: np.ndarray, targets: np.ndarray,
                  chunk: int | None = None) -> np.ndarray:
    """float32 seconds from each source vertex to each target vertex.

    Runs :func:`scipy.sparse.csgraph.dijkstra` on ``chunk`` sources at a time so the
    float64 intermediate (chunk x n_vertices) stays within about 64 MiB.
    """
    if chunk is None:
        chunk = int(max(1, min(512, _CHUNK_BYTES // (8 * weights.shape[0]))))
    out = np.empty((sources.size, targets.size), dtype=np.float32)
    for start in range(0, sources.size, chunk):
        src = sources[start:start + chunk]
        d = csgraph.dijkstra(weights, directed=True, indices=src)
        out[start:start + chunk] = d[:, targets]
    if not np.all(np.isfinite(out)):
        # connect_components guarantees connectivity; this guards against a broken graph.
        raise RuntimeError("unreachable cells in a network that should be connected")
    return out
