"""Reading a table the project ships or a user's replacement for it.

The built-in tables (case categories, departments, services-hall matters, Jing'an's
figures) live in ``data/`` (installed as ``urbangrid.data``); every loader takes either
nothing (the built-in table) or a path, and reports a missing file the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import InputError

__all__ = ["table_text"]


def table_text(path: str | Path | None, builtin: str, what: str) -> tuple[str, str]:
    """``(text, source)`` of the file at ``path``, or of the built-in ``builtin`` (a path
    under ``data/``, e.g. ``"catalogue/categories.csv"``) when ``path`` is None.
    ``source`` names the file in error messages.

    Raises
    ------
    InputError
        ``"{what} not found: PATH"`` when ``path`` is not a file.
    """
    if path is None:
        ref = resources.files("urbangrid.data").joinpath(*builtin.split("/"))
        return ref.read_text(encoding="utf-8"), f"{builtin.rsplit('/', 1)[-1]} (built-in)"
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} not found: {p}", source=str(p))
    return p.read_text(encoding="utf-8-sig"), str(p)
