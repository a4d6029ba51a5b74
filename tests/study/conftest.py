"""Fixtures for the study tests."""

import pytest
from study_helpers import toy_scenario


@pytest.fixture
def toy():
    return toy_scenario()
