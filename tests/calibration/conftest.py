"""Fixtures for the calibration tests: the real 311 logs of the test-only data set, the
LA log split by run."""

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def la_runs(tmp_path_factory, shared_data) -> tuple[Path, Path]:
    """The LA log split into its 2017-12-27 – 2018-01-04 run and its 2018-12-27 – 31 run."""
    df = pd.read_parquet(shared_data("incidents/la311_2017_2018.parquet"))
    d = tmp_path_factory.mktemp("la")
    late = df["requested_datetime"] >= pd.Timestamp("2018-06-01")
    fit, val = d / "la_2017_2018.parquet", d / "la_2018_12.parquet"
    df[~late].to_parquet(fit)
    df[late].to_parquet(val)
    return fit, val


@pytest.fixture(scope="session")
def stl_log(shared_data) -> Path:
    return shared_data("incidents/stlouis_csb_2018w1.parquet")
