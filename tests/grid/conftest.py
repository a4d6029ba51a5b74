"""Shared fixtures for the district model tests."""

from pathlib import Path

import pytest
from urbangrid.grid import District

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DATA = Path(__file__).resolve().parent / "data"


def shared_file(rel: str) -> Path:
    """Path of a test-only file in ../shared/data, or skip the test when it is absent."""
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"test-only data ../shared/data/{rel} is absent (not shipped with the repo)")
    return p


@pytest.fixture(scope="session")
def jingan10(tmp_path_factory):
    return District.jingan(10, cache_dir=tmp_path_factory.mktemp("cache10"))


@pytest.fixture(scope="session")
def jingan9(tmp_path_factory):
    return District.jingan(9, cache_dir=tmp_path_factory.mktemp("cache9"))
