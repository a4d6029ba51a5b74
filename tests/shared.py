"""Paths the tests share: the repository, its scenarios, the tiny data files of the test
folders, and the test-only data set beside the repository (``../shared/data``)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SCENARIOS = ROOT / "scenarios"
#: Tiny named input files of the district tests (malformed geometries, weights, stations).
GRID_DATA = TESTS / "grid" / "data"
#: Tiny named input files of the model tests (an empty scenario, the M/M/c catalogue).
SIM_DATA = TESTS / "simulation" / "data"
#: Real data used only by tests (OSM polygons and roads, 311 logs); it sits beside the
#: repository and is never copied into it.
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(rel: str) -> Path:
    """Path of the test-only file ``rel`` under ``../shared/data``; skips the calling test
    (or fixture) with the reason when the file is absent, as on a fresh clone."""
    path = SHARED_DATA / rel
    if not path.exists():
        pytest.skip(f"test-only data ../shared/data/{rel} is absent (it sits beside the "
                    "repository, not in it)")
    return path
