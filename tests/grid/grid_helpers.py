"""Paths of the district tests' data: tiny fixtures here, test-only data in ../shared."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
DATA = Path(__file__).resolve().parent / "data"


def shared_file(rel: str) -> Path:
    """Path of a test-only file in ../shared/data, or skip the test when it is absent."""
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"test-only data ../shared/data/{rel} is absent (not shipped with the repo)")
    return p
