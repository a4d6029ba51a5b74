"""Keep Numba's on-disk cache honest across files.

Numba's cache (``cache=True``) checks only the source file of the function it compiled,
not the files of the compiled functions that function calls: after an edit of a callee
in another file, a cached caller keeps running the old callee's machine code
(numba/numba#6845). The engine's compiled loop (``simulation/_core.py``) calls the
optimizer's kernels, and those call the scoring and flow kernels of another file, so an
upgrade in place or an edit in a checkout could silently run stale code.

A module whose compiled code calls into other files calls :func:`forget_if_changed` once
at import, before anything is compiled or loaded: it fingerprints those files and, when
they changed since the fingerprint stored beside the module's cache, deletes the
module's cached machine code, which Numba then compiles afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["fingerprint", "forget_if_changed", "stamp_path"]


def fingerprint(files: Iterable[str]) -> str:
    """SHA-256 over the names and contents of ``files`` (in sorted order)."""
    digest = hashlib.sha256()
    for name in sorted(str(f) for f in files):
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def stamp_path(cache_dir: str | Path, module_file: str) -> Path:
    """Where :func:`forget_if_changed` keeps the fingerprint of ``module_file``'s callees."""
    return Path(cache_dir) / f"{Path(module_file).stem}.callees.sha256"


def forget_if_changed(dispatcher, module_file: str, callee_files: Iterable[str]) -> bool:
    """Drop the cached machine code of ``module_file``'s compiled functions if any of
    ``callee_files`` changed since the last call; True when it dropped anything.

    ``dispatcher`` is one cached function of the module (its cache directory is the
    module's, wherever Numba put it: ``__pycache__`` or the user-wide fallback). Errors
    reading or writing the cache directory are ignored: the worst case is the stale
    behaviour this guards against, never a failed import.
    """
    try:
        cache_dir = Path(dispatcher._cache._cache_path)
    except AttributeError:  # not cached (NUMBA_DISABLE_JIT) or another Numba layout
        return False
    want = fingerprint(callee_files)
    stem = Path(module_file).stem
    stamp = stamp_path(cache_dir, module_file)
    try:
        if stamp.read_text() == want:
            return False
    except OSError:
        pass
    dropped = False
    try:
        for f in cache_dir.glob(f"{stem}.*.nb[ic]"):
            f.unlink(missing_ok=True)
            dropped = True
        cache_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(want)
    except OSError:
        pass
    return dropped
