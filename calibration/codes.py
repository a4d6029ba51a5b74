"""Category names and codes shared by the fit, the scenario writer and the validation.

A calibration keeps the most frequent request types as categories and folds the rest
into one bucket per group (大类 / ``service_group``), or into :data:`OTHER_BUCKET`; its
``category_codes`` map each name to an ASCII code (:func:`slug`). The validation maps
another log's requests onto the same codes with :func:`category_of`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["OTHER_BUCKET", "bucket_names", "category_of", "slug"]

#: Category name of the requests whose type is not kept (nor has a group bucket).
OTHER_BUCKET = "(other types)"


def bucket_names(names: pd.Series, groups: pd.Series | str, keep: list[str]) -> pd.Series:
    """Category name per request: kept names as they are, others ``(other GROUP)``."""
    names = names.astype("string")
    if isinstance(groups, str) or not (groups.astype("string").fillna("") != "").any():
        return names.where(names.isin(keep), OTHER_BUCKET)
    g = groups.astype("string").fillna("")
    bucket = ("(other " + g + ")").where(g != "", OTHER_BUCKET)
    return names.where(names.isin(keep), bucket)


def category_of(frame: pd.DataFrame, codes: dict[str, str]) -> np.ndarray:
    """Category codes of a cleaned log's requests under a calibration's ``codes``
    (names not in the calibration go to their group's bucket, else to the other
    bucket, else ``"(unmapped)"``)."""
    kept = [n for n in codes if not (n.startswith("(other") and n.endswith(")"))]
    name = bucket_names(frame["service_name"], frame["group"], kept)
    out = name.map(codes)
    if OTHER_BUCKET in codes:
        out = out.fillna(codes[OTHER_BUCKET])
    return out.fillna("(unmapped)").to_numpy(dtype=object)


def slug(text: str, used: set[str], fallback: str) -> str:
    """An ASCII identifier for ``text`` (``fallback`` when nothing is left), unique among
    ``used`` (a suffix ``_2``, ``_3`` … otherwise), which it is added to."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()[:40] or fallback
    if s[0].isdigit():
        s = "c_" + s
    base, k = s, 2
    while s in used:
        s = f"{base}_{k}"
        k += 1
    used.add(s)
    return s
