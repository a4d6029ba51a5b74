"""The district as data: boundary, H3 cells, sub-districts, roads and travel times."""

from .errors import InputError

__all__ = ["InputError"]
