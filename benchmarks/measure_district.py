"""Measure the build time and memory of a district's travel-time matrix.

Run ``python -m benchmarks.measure_district`` (both resolutions 9 and 10, each in a fresh
process so imports and earlier runs do not pollute the figures), or
``python -m benchmarks.measure_district --resolution 10 --mode car --json``. Figures:

- ``district_build_s``: ``District.jingan(resolution)`` (cells, grids, weights, surrogate graph);
- ``matrix_build_s``: ``travel_time_matrix(mode)`` with an empty cache (Dijkstra from every
  cell, float32 result written to the cache);
- ``matrix_load_s``: the same call in a new District object, hitting the disk cache;
- ``matrix_peak_traced_mib``: peak Python/numpy memory traced by :mod:`tracemalloc`
  during the matrix build (numpy reports its buffers to tracemalloc);
- ``matrix_mib``: the size of the result itself;
- ``process_peak_rss_mib``: peak resident memory of the whole process (imports included),
  before the ``--big`` part;
- with ``--big``: a synthetic district about 10x Jing'an (400 km^2 rectangle at res 10):
  build time and the time for 100 on-demand rows (no all-pairs matrix).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from urbangrid.grid import District

__all__ = ["measure", "main"]

_BIG = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"code":"BIG","name":"big"},"geometry":{"type":"Polygon","coordinates":'
        '[[[121.3,31.1],[121.51,31.1],[121.51,31.28],[121.3,31.28],[121.3,31.1]]]}}]}')


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(resolution: int = 10, mode: str = "ebike", big: bool = False) -> dict:
    """Figures for one resolution of the built-in district (see the module docstring)."""
    out: dict = {"resolution": resolution, "mode": mode}
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        d = District.jingan(resolution, cache_dir=cache)
        out["district_build_s"] = round(time.perf_counter() - t0, 3)
        out["cells"] = d.n_cells
        out["network"] = d.network_kind
        tracemalloc.start()
        t0 = time.perf_counter()
        m = d.travel_time_matrix(mode)
        out["matrix_build_s"] = round(time.perf_counter() - t0, 3)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["matrix_peak_traced_mib"] = round(peak / 2**20, 1)
        out["matrix_mib"] = round(m.nbytes / 2**20, 1)
        again = District.jingan(resolution, cache_dir=cache)
        t0 = time.perf_counter()
        m2 = again.travel_time_matrix(mode)
        out["matrix_load_s"] = round(time.perf_counter() - t0, 3)
        out["cache_identical"] = bool(np.array_equal(m.view(np.uint32), m2.view(np.uint32)))
        out["process_peak_rss_mib"] = round(_peak_rss_mib(), 1)
        if big:
            p = Path(cache) / "big.geojson"
            p.write_text(_BIG)
            t0 = time.perf_counter()
            b = District.from_files(p, cache_dir=cache)
            out["big_cells"] = b.n_cells
            out["big_area_km2"] = round(b.area_km2, 1)
            out["big_build_s"] = round(time.perf_counter() - t0, 3)
            rng = np.random.default_rng(0)
            o = rng.choice(b.n_cells, size=100, replace=False)
            t0 = time.perf_counter()
            b.travel_time(o, mode=mode)
            out["big_100_rows_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            b.travel_time(o, mode=mode)
            out["big_100_rows_memoised_s"] = round(time.perf_counter() - t0, 4)
            out["big_all_pairs_would_need_gib"] = round(4 * b.n_cells**2 / 2**30, 1)
            out["big_process_peak_rss_mib"] = round(_peak_rss_mib(), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.measure_district",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, choices=(8, 9, 10),
                    help="one resolution in this process (default: 9 and 10, each in a fresh "
                         "process)")
    ap.add_argument("--mode", default="ebike")
    ap.add_argument("--big", action="store_true", help="also the 10x Jing'an district")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.resolution is not None:
        res = [measure(args.resolution, args.mode, args.big)]
    else:
        res = []
        for r in (9, 10):
            cmd = [sys.executable, "-m", "urbangrid.grid.measure", "--resolution", str(r),
                   "--mode", args.mode, "--json"] + (["--big"] if args.big and r == 10 else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res.extend(json.loads(proc.stdout))
    if args.json:
        print(json.dumps(res))
    else:
        for r in res:
            print(" ".join(f"{k}={v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
