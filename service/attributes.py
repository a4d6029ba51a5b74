"""Service attributes: the extra fields some request types need (Open311 service
definitions, ``metadata: true``), read from ``attributes.toml`` and checked on intake.

A client sends them as ``attribute[code]=value`` (``attribute[code][]=value`` once per
chosen value of a ``multivaluelist``) in a form, or as ``"attribute": {code: value}`` in
JSON. :func:`check_attributes` refuses, naming the attribute, a missing required one, an
unknown one, and a value that does not fit its datatype (a list key not among the
values, a number that is not finite, a date-time without a time zone, a string off its
pattern or too long).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from urbangrid.errors import InputError

__all__ = ["Attribute", "check_attributes", "form_attributes", "load_attributes"]

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
_MAX = {"string": 500, "text": 4000}
_FORM_KEY = re.compile(r"attribute\[([^\[\]]{1,64})\](\[\])?")


@dataclass(frozen=True)
class Attribute:
    """One extra field of a request type."""

    code: str
    datatype: str
    required: bool
    order: int
    description: str
    values: tuple[tuple[str, str], ...] = ()
    pattern: str | None = None

    def open311(self) -> dict:
        """The Open311 ``attribute`` record of the service definition."""
        return {"variable": True, "code": self.code, "datatype": self.datatype,
                "required": self.required, "datatype_description": self.pattern or "",
                "order": self.order, "description": self.description,
                "values": [{"key": k, "name": n} for k, n in self.values]}


def load_attributes(codes, path=None) -> dict[str, tuple[Attribute, ...]]:
    """Attributes by service code from ``attributes.toml`` (default: the built-in file);
    a service not in ``codes``, an unknown datatype or a list without values raises
    :class:`InputError` naming the entry."""
    text = (resources.files("urbangrid.service") / "attributes.toml").read_text("utf-8") \
        if path is None else open(path, encoding="utf-8").read()
    out = {}
    for service, entries in tomllib.loads(text).items():
        where = f"attributes: [[{service}]]"
        if service not in codes:
            raise InputError(f"{where}: no such service code")
        attrs = []
        for e in entries:
            if e.get("datatype") not in DATATYPES:
                raise InputError(f"{where} {e.get('code')!r}: datatype must be one of "
                                 f"{', '.join(DATATYPES)}")
            values = tuple((str(v["key"]), str(v["name"])) for v in e.get("values", []))
            if e["datatype"].endswith("list") and not values:
                raise InputError(f"{where} {e['code']!r}: a list needs values")
            attrs.append(Attribute(str(e["code"]), e["datatype"], bool(e.get("required")),
                                   int(e.get("order", len(attrs) + 1)),
                                   str(e.get("description", "")), values, e.get("pattern")))
        out[service] = tuple(sorted(attrs, key=lambda a: a.order))
    return out


def form_attributes(raw: dict) -> dict:
    """The ``attribute[code]`` fields of a form (multivaluelists as lists); JSON gives
    them as an object under ``attribute``."""
    if isinstance(raw.get("attribute"), dict):
        return dict(raw["attribute"])
    found = {}
    for key, value in raw.items():
        m = _FORM_KEY.fullmatch(key)
        if m:
            found[m[1]] = value
    return found


def check_attributes(service: str, attrs: tuple[Attribute, ...], given: dict) -> dict:
    """The checked attribute values of a request of ``service`` (``{code: value}``;
    numbers as floats, lists as lists); :class:`InputError` naming the attribute."""
    known = {a.code: a for a in attrs}
    for code in given:
        if code not in known:
            raise InputError(f"attribute[{code}]: not an attribute of {service} (see "
                             f"/services/{service}.json)")
    out = {}
    for a in attrs:
        name = f"attribute[{a.code}]"
        v = given.get(a.code)
        if v is None or v == "" or v == []:
            if a.required:
                raise InputError(f"{name}: required for {service} ({a.description})")
            continue
        out[a.code] = _checked(a, name, v)
    return out


def _checked(a: Attribute, name: str, v):
    keys = [k for k, _ in a.values]
    if a.datatype == "multivaluelist":
        chosen = v if isinstance(v, list) else [v]
        bad = [x for x in chosen if x not in keys]
        if bad:
            raise InputError(f"{name}: {bad[0]!r} is not one of {', '.join(keys)}")
        return list(dict.fromkeys(chosen))
    if isinstance(v, list):
        raise InputError(f"{name}: one value, not a list")
    if a.datatype == "singlevaluelist":
        if v not in keys:
            raise InputError(f"{name}: {v!r} is not one of {', '.join(keys)}")
        return v
    if a.datatype == "number":
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{name}: {v!r} is not a number") from None
        if not math.isfinite(x):
            raise InputError(f"{name}: {v!r} is not a finite number")
        return x
    if not isinstance(v, str):
        raise InputError(f"{name}: a text value")
    if a.datatype == "datetime":
        try:
            t = dt.datetime.fromisoformat(v)
        except ValueError:
            raise InputError(f"{name}: {v!r} is not an ISO 8601 date-time") from None
        if t.tzinfo is None:
            raise InputError(f"{name}: {v!r} needs a time zone")
        return v
    if len(v) > _MAX[a.datatype]:
        raise InputError(f"{name}: at most {_MAX[a.datatype]} characters")
    if "\x00" in v:
        raise InputError(f"{name}: contains a NUL byte")
    if a.pattern and not re.fullmatch(a.pattern, v):
        raise InputError(f"{name}: {v!r} does not look right ({a.description})")
    return v
