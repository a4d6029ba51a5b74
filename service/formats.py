"""Open311's formats and HTTP habits around the JSON application: XML, ``HEAD``.

GeoReport v2 names the format by the suffix, ``.xml`` required and ``.json`` optional.
The application implements every call once, in JSON; :class:`Open311Formats` serves the
``.xml`` twin of each Open311 call (``services``, ``services/{code}``, ``requests`` GET and
POST, ``requests/{id}``, ``tokens/{token}``, ``discovery``) by routing it to the ``.json``
call and writing the answer as the specification's XML: a list becomes a root element of
items (``services/service``, ``service_requests/request``, ``errors/error``), an object
one element per field, ``null`` an empty element, booleans ``true``/``false``. So both
formats accept, refuse and answer alike, errors included.

``HEAD`` is answered for every ``GET`` call as the ``GET`` would be, without the body
(RFC 9110; FastAPI routes answer 405 to it otherwise).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

__all__ = ["OPEN311_XML", "Open311Formats", "to_xml"]

#: the Open311 calls that have an ``.xml`` twin, with the root and item element names of
#: their answer (a list) or the root of an object
OPEN311_XML = [
    (re.compile(r"/services\.xml"), "services", "service"),
    (re.compile(r"/services/[^/]+\.xml"), "service_definition", None),
    (re.compile(r"/requests\.xml"), "service_requests", "request"),
    (re.compile(r"/requests/[^/]+\.xml"), "service_requests", "request"),
    (re.compile(r"/tokens/[^/]+\.xml"), "service_requests", "request"),
    (re.compile(r"/discovery\.xml"), "discovery", None),
]
#: element names of the items of a list field
_ITEM = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
         "formats": "format", "errors": "error"}
#: characters XML 1.0 cannot hold (C0 controls but tab, newline, carriage return)
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, v in value.items():
            _fill(ET.SubElement(element, str(key)), v)
    elif isinstance(value, list):
        item = _ITEM.get(element.tag, "item")
        for v in value:
            _fill(ET.SubElement(element, item), v)
    else:
        element.text = _text(value)


def to_xml(value, root: str, item: str | None = None) -> bytes:
    """The XML document of a JSON answer: ``root`` holding one ``item`` per element of a
    list (an error list is always ``errors/error``), or one element per field."""
    if isinstance(value, list) and value and isinstance(value[0], dict) and set(
            value[0]) == {"code", "description"}:
        root, item = "errors", "error"
    element = ET.Element(root)
    if isinstance(value, list):
        for v in value:
            _fill(ET.SubElement(element, item or "item"), v)
    else:
        _fill(element, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


class Open311Formats:
    """ASGI middleware: the ``.xml`` twins of the Open311 calls, and ``HEAD``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        xml = next(((root, item) for pat, root, item in OPEN311_XML
                    if pat.fullmatch(scope["path"])), None)
        if not head and xml is None:
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        if head:
            scope["method"] = "GET"
        if xml is not None:
            path = scope["path"][: -len(".xml")] + ".json"
            scope["path"], scope["raw_path"] = path, path.encode()
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._answer(start, b"".join(chunks), xml, head, send)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _answer(start: dict, body: bytes, xml, head: bool, send) -> None:
        headers = [(k, v) for k, v in start.get("headers", [])
                   if k.lower() not in (b"content-length", b"content-type")]
        ctype = next((v for k, v in start.get("headers", []) if k.lower() == b"content-type"),
                     b"")
        if xml is not None and ctype.startswith(b"application/json"):
            body = to_xml(json.loads(body or b"null"), *xml)
            ctype = b"text/xml; charset=utf-8"
        headers += [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": start.get("status", 500),
                    "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})
