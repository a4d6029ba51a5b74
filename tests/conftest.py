"""Fixtures every test folder can use: the toy scenario and the test-only data path."""

from __future__ import annotations

import pytest

from tests.shared import shared_data as _shared_data
from tests.toys import toy_scenario


@pytest.fixture
def toy():
    """The toy scenario (:data:`tests.toys.TOY`); a folder whose tests run it with other
    values overrides this fixture in its own conftest with those values spelled out."""
    return toy_scenario()


@pytest.fixture(scope="session")
def shared_data():
    """:func:`tests.shared.shared_data`: ``shared_data("incidents/x.parquet")`` is the
    path, or the test is skipped when ``../shared/data`` lacks it."""
    return _shared_data
