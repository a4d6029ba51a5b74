"""Fixtures for the study tests."""

import pytest

from tests.toys import toy_scenario


@pytest.fixture
def toy():
    """The toy over one day with three replications: the study tests compare and sweep
    replications, so each run stays short."""
    return toy_scenario(**{"run.days": 1, "run.replications": 3})
