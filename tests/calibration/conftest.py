"""Fixtures for the calibration tests: the real 311 logs beside the project, split by run."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "incidents"
LA = DATA / "la311_2017_2018.parquet"
STL = DATA / "stlouis_csb_2018w1.parquet"


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real 311 data not present at {path} (../shared/data is test-only "
                    "data beside the project, absent on a fresh clone)")


@pytest.fixture(scope="session")
def la_runs(tmp_path_factory) -> tuple[Path, Path]:
    """The LA log split into its 2017-12-27 – 2018-01-04 run and its 2018-12-27 – 31 run."""
    _need(LA)
    df = pd.read_parquet(LA)
    d = tmp_path_factory.mktemp("la")
    late = df["requested_datetime"] >= pd.Timestamp("2018-06-01")
    fit, val = d / "la_2017_2018.parquet", d / "la_2018_12.parquet"
    df[~late].to_parquet(fit)
    df[late].to_parquet(val)
    return fit, val


@pytest.fixture(scope="session")
def stl_log() -> Path:
    _need(STL)
    return STL
