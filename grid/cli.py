"""``urbangrid district info|map``: look at a district from the command line."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from urbangrid.errors import InputError

__all__ = ["district_from_args", "register"]

log = logging.getLogger(__name__)


def _add_district_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("district (default: the built-in Jing'an district)")
    g.add_argument("--boundary", metavar="FILE",
                   help="sub-district polygons (GeoJSON, GeoPackage or Shapefile)")
    g.add_argument("--code-column", default="code",
                   help="column with the sub-district code (default: code; code9/adcode/... "
                        "are detected when 'code' is absent)")
    g.add_argument("--name-column", default="name", help="column with the sub-district name")
    g.add_argument("--source-crs", default="wgs84",
                   help="datum of the boundary/points coordinates: wgs84 (EPSG:4326, "
                        "default), gcj02 or bd09")
    g.add_argument("--resolution", type=int, default=10, metavar="N",
                   help="H3 resolution (default 10; the built-in district has 10, 9 and 8)")
    g.add_argument("--network", metavar="GRAPHML",
                   help="OSMnx-style GraphML road network (default: H3 surrogate network)")
    g.add_argument("--weights", metavar="CSV", help="weights keyed by 'code' or 'h3'")
    g.add_argument("--points", metavar="CSV", help="points of interest with lat/lon columns")
    g.add_argument("--grids", type=int, metavar="N", dest="n_grids",
                   help="target number of responsibility grids (default: one per 0.33 km2)")
    g.add_argument("--speed", action="append", default=[], metavar="MODE=KMH",
                   help="speed of a mode in km/h, e.g. --speed ebike=12 (repeatable)")
    g.add_argument("--cache-dir", metavar="DIR",
                   help="travel-time cache folder (default: $URBANGRID_CACHE or "
                        "~/.cache/urbangrid)")


def _speeds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        mode, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--speed expects MODE=KMH, got {item!r}")
        try:
            out[mode.strip()] = float(value)
        except ValueError:
            raise InputError(f"--speed {item!r}: {value!r} is not a number") from None
    return out


def district_from_args(args: argparse.Namespace):
    """Build the :class:`~urbangrid.grid.District` the command-line options describe."""
    from .district import District

    speeds = _speeds(getattr(args, "speed", []) or [])
    common = {"network": args.network, "speeds": speeds, "n_grids": args.n_grids,
              "cache_dir": args.cache_dir}
    if args.boundary is None:
        for opt in ("weights", "points"):
            if getattr(args, opt):
                raise InputError(f"--{opt} needs --boundary (the built-in district has its "
                                 f"own weights and stations)")
        return District.jingan(args.resolution, **common)
    return District.from_files(args.boundary, code_column=args.code_column,
                               name_column=args.name_column, source_crs=args.source_crs,
                               resolution=args.resolution, weights=args.weights,
                               points=args.points, **common)


def _print_summary(s: dict) -> None:
    net = s["network"]
    lines = [
        f"district        {s['district']}",
        f"H3 resolution   {s['resolution']}",
        f"cells           {s['cells']:,}",
        f"sub-districts   {s['subdistricts']}",
        f"area            {s['area_km2']:.2f} km2 (sum of cells)",
        f"grids           {s['grids']} responsibility grids",
        f"metric CRS      {s['metric_crs']}",
        f"weights         {', '.join(s['weights'])}",
        f"points          {s['points']}",
        f"network         {net['label']}",
        f"                {net['vertices']:,} vertices, {net['edges']:,} edges, "
        f"{net['length_km']:,} km; route/straight median {net['route_over_straight_median']}",
    ]
    if net["connector_links"]:
        lines.append(f"                {net['connector_links']} straight-line connector links "
                     f"join disconnected parts (longest {net['connector_max_m']} m x detour "
                     f"{net['detour_factor']})")
    if "snap_median_m" in net:
        lines.append(f"                cell centre to road node: median {net['snap_median_m']} "
                     f"m, max {net['snap_max_m']} m")
    tt = s["travel_time"]
    lines.append(f"travel times    from {tt['origins']} origin cells to all cells, minutes")
    lines.append("                mode     km/h   mean  median    p95    max")
    for mode, m in tt["modes"].items():
        lines.append(f"                {mode:<7}{m['speed_kmh']:>6.1f}{m['mean_min']:>7.1f}"
                     f"{m['median_min']:>8.1f}{m['p95_min']:>7.1f}{m['max_min']:>7.1f}")
    for note in s["notes"]:
        lines.append(f"note            {note}")
    print("\n".join(lines))


def _cmd_info(args: argparse.Namespace) -> int:
    d = district_from_args(args)
    s = d.summary()
    if args.json:
        print(json.dumps(s, ensure_ascii=False, indent=2))
    else:
        _print_summary(s)
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"--out must end in .png, .pdf or .svg, got {out.name!r}")
    d = district_from_args(args)
    from ._plot import draw_district

    out.parent.mkdir(parents=True, exist_ok=True)
    draw_district(d, out, dpi=args.dpi)
    log.info("wrote %s", out)
    return 0


def register(subparsers) -> None:
    """Add ``district info`` and ``district map`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser("district", help="inspect a district: cells, sub-districts, roads")
    sub = p.add_subparsers(dest="district_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    info = sub.add_parser("info", help="print cells, sub-districts, area, network, "
                                       "travel-time summary")
    _add_district_options(info)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=_cmd_info)

    mp = sub.add_parser("map", help="draw the cells coloured by sub-district, with stations")
    _add_district_options(mp)
    mp.add_argument("--out", required=True, metavar="FILE.png", help="image to write")
    mp.add_argument("--dpi", type=int, default=150)
    mp.set_defaults(func=_cmd_map)
