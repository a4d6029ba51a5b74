"""The one error type for user mistakes, shared by every urbangrid package.

The command line catches :class:`InputError`, prints its message (which names the
file, field and value at fault) and exits with status 2, without a traceback.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad user input: a file, field or value that cannot be used.

    Parameters
    ----------
    message
        What is wrong, in one sentence a user can act on.
    source
        The file (or configuration path) the problem was found in, if any.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)
