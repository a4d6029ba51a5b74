"""Shared fixtures for the district model tests."""

import pytest

from urbangrid.grid import District


@pytest.fixture(scope="session")
def jingan10(tmp_path_factory):
    return District.jingan(10, cache_dir=tmp_path_factory.mktemp("cache10"))


@pytest.fixture(scope="session")
def jingan9(tmp_path_factory):
    return District.jingan(9, cache_dir=tmp_path_factory.mktemp("cache9"))
