"""Fixtures of the hall tests (helpers in hall_helpers.py)."""

from __future__ import annotations

import pytest

from tests.hall.hall_helpers import toy_hall


@pytest.fixture
def toy():
    """The toy hall scenario."""
    return toy_hall()
