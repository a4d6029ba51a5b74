"""Media attached to requests: files uploaded with a request (multipart ``media``),
stored behind the :class:`MediaStore` interface and served as the request's
``media_url``.

:class:`FileMediaStore` keeps each file in a folder under its SHA-256 (the same photo
sent twice is stored once), written to a temporary name, flushed to disk and renamed, so
a crash leaves no half file under a real name. Only images are taken (JPEG, PNG, WebP),
checked by their first bytes, not only by the declared type; another store (an object
store) needs only ``put`` and ``get``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

__all__ = ["MEDIA_TYPES", "FileMediaStore", "MediaStore", "sniff_media_type"]

#: accepted media types and the first bytes that prove them
MEDIA_TYPES = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",),
               "image/webp": (b"RIFF",)}
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
MEDIA_ID = re.compile(r"[0-9a-f]{64}\.(?:jpg|png|webp)")


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes are, among :data:`MEDIA_TYPES` (``None``: none)."""
    for mtype, starts in MEDIA_TYPES.items():
        if any(data.startswith(s) for s in starts):
            if mtype == "image/webp" and data[8:12] != b"WEBP":
                continue
            return mtype
    return None


class MediaStore(Protocol):
    """Where uploaded media live."""

    def put(self, data: bytes, media_type: str) -> str:
        """Store the bytes; returns the media id (a file name: hash and suffix)."""

    def get(self, media_id: str) -> tuple[bytes, str] | None:
        """The bytes and media type of a stored id, ``None`` if there is none."""


class FileMediaStore:
    """Media in a folder on disk (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, media_type: str) -> str:
        media_id = hashlib.sha256(data).hexdigest() + _SUFFIX[media_type]
        path = self.root / media_id
        if not path.exists():
            tmp = self.root / f".{media_id}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return media_id

    def get(self, media_id: str) -> tuple[bytes, str] | None:
        if not MEDIA_ID.fullmatch(media_id):
            return None
        path = self.root / media_id
        if not path.exists():
            return None
        suffix = path.suffix
        return path.read_bytes(), next(t for t, s in _SUFFIX.items() if s == suffix)
