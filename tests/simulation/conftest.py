"""Fixtures for the simulation tests."""

import pytest
from sim_helpers import toy_scenario


@pytest.fixture
def toy():
    return toy_scenario()
