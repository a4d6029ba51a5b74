"""The district measurement script (python -m benchmarks.measure_district)."""

import pytest

from benchmarks.measure_district import measure


def test_measure_reports_figures():
    from urbangrid.grid import District

    r = measure(8)
    assert r["cells"] == District.jingan(8).n_cells
    assert r["matrix_build_s"] >= 0 and r["cache_identical"]
    assert r["matrix_mib"] == pytest.approx(4 * r["cells"] ** 2 / 2**20, abs=0.05)
