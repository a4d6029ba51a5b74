"""Static map of a district (private).

Drawn through Matplotlib's object API (:class:`matplotlib.figure.Figure`), which renders
PNG without a display and leaves the global back end (``pyplot``) alone.
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np


def draw_district(d, out: Path, dpi: int = 150) -> None:
    """Cells coloured by sub-district, grid borders, points (stations) as triangles."""
    import matplotlib
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    polys = [np.array([(lon, lat) for lat, lon in h3.cell_to_boundary(c)])
             for c in d.cells["h3"]]
    sidx = d.subdistrict_index
    cmap = matplotlib.colormaps["tab20"]
    colours = cmap(np.arange(len(d.subdistricts)) % 20)
    fig = Figure(figsize=(8, 9))
    ax = fig.subplots()
    ax.add_collection(PolyCollection(polys, facecolors=colours[sidx], edgecolors="white",
                                     linewidths=0.15))
    pts = d.points
    if len(pts):
        inside = pts["cell"].to_numpy() >= 0
        ax.scatter(pts["lon"][inside], pts["lat"][inside], marker="^", s=28, c="black",
                   zorder=3, label="station / point (inside)")
        ax.scatter(pts["lon"][~inside], pts["lat"][~inside], marker="^", s=22,
                   facecolors="none", edgecolors="black", zorder=3, label="just outside")
    lat0 = float(d.cells["lat"].mean())
    ax.set_aspect(1 / np.cos(np.radians(lat0)))
    ax.autoscale_view()
    ax.ticklabel_format(useOffset=False)
    ax.set_xlabel("longitude (WGS84)")
    ax.set_ylabel("latitude (WGS84)")
    label = "surrogate network" if d.is_surrogate else "OSM network"
    ax.set_title(f"{d.name}: {d.n_cells:,} H3 res-{d.resolution} cells, "
                 f"{len(d.subdistricts)} sub-districts, {d.n_grids} grids ({label})",
                 fontsize=9)
    names = (d.subdistricts["name_en"] if "name_en" in d.subdistricts
             else d.subdistricts["code"]).astype(str)
    handles = [Patch(color=colours[i], label=n) for i, n in enumerate(names)]
    if len(pts):
        handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
