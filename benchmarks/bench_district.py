"""District benchmarks: build time and peak memory of the travel-time matrix.

Each figure comes from a fresh interpreter (peak RSS is per process); times exclude the
import. The reference is the wall time of importing the package in a fresh interpreter,
measured in the same run, so the ratio is machine-neutral.
"""

from __future__ import annotations

from .harness import Measurement, peak_rss_mb_of

_IMPORT = "import tempfile, time\nfrom urbangrid.grid import District\n_t = time.perf_counter()\n"

_BUILD = _IMPORT + """
with tempfile.TemporaryDirectory() as cache:
    d = District.jingan(resolution={res}, cache_dir=cache)
    m = d.travel_time_matrix("ebike")
    print("cells", d.n_cells, "matrix_mb", m.nbytes / 2**20, "build_s", time.perf_counter() - _t)
"""

# A synthetic district ten times Jing'an's area: a 19 x 19.5 km rectangle at res 10 (~32k
# cells); only rows on demand (600 team origins), since all-pairs would need 4 GB.
_LARGE = _IMPORT + """
import json, pathlib
import numpy as np
box = {{"type": "FeatureCollection", "features": [{{"type": "Feature",
  "properties": {{"code": "X1", "name": "synthetic"}},
  "geometry": {{"type": "Polygon", "coordinates": [[[121.30, 31.15], [121.50, 31.15],
     [121.50, 31.325], [121.30, 31.325], [121.30, 31.15]]]}}}}]}}
with tempfile.TemporaryDirectory() as cache:
    path = pathlib.Path(cache) / "box.geojson"
    path.write_text(json.dumps(box))
    d = District.from_files(path, resolution=10, cache_dir=cache)
    origins = np.random.default_rng(0).choice(d.n_cells, size={origins}, replace=False)
    rows = d.travel_time(origins, mode="ebike")
    print("cells", d.n_cells, "rows_mb", rows.nbytes / 2**20, "build_s", time.perf_counter() - _t)
"""


def _parse(stdout: str) -> dict:
    parts = stdout.split()
    return {parts[i]: float(parts[i + 1]) for i in range(0, len(parts) - 1, 2)}


def run(quick: bool) -> list[Measurement]:
    base_mb, base_s, _ = peak_rss_mb_of(_IMPORT)
    out = []
    for res in (9, 10):
        mb, s, stdout = peak_rss_mb_of(_BUILD.format(res=res))
        info = _parse(stdout)
        out.append(Measurement(
            name=f"district_jingan_res{res}_build", seconds=info["build_s"],
            reference="import only",
            reference_seconds=base_s,
            extra={"cells": int(info["cells"]), "peak_mb": round(mb, 1),
                   "import_peak_mb": round(base_mb, 1),
                   "matrix_mb": round(info["matrix_mb"], 1)},
        ))
    mb, s, stdout = peak_rss_mb_of(_LARGE.format(origins=100 if quick else 600))
    info = _parse(stdout)
    out.append(Measurement(
        name="district_synthetic_10x_rows", seconds=info["build_s"], reference="import only",
        reference_seconds=base_s,
        extra={"cells": int(info["cells"]), "origins": 100 if quick else 600,
               "peak_mb": round(mb, 1)},
    ))
    return out
