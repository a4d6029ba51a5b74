"""The benchmarks package is not installed (it lives beside the sources, not in
``urbangrid``): put the repository root on the path so ``import benchmarks`` works under
a bare ``pytest`` as well as ``python -m pytest``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
