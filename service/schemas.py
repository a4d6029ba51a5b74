"""Request and response bodies (pydantic), also the OpenAPI document's schemas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from urbangrid.optimizer.solver import METHODS

__all__ = [
    "ActionIn", "AssignmentOut", "AuditOut", "DispatchIn", "DispatchOut", "Error", "KeyIn",
    "KeyOut", "RequestCreated", "RequestIn", "RequestOut", "ServiceDefinition", "ServiceOut",
    "StatusIn", "TeamIn", "TeamOut",
]

_NUM = {"allow_inf_nan": False}


class _Body(BaseModel):
    """A request body: no text field may hold a NUL byte (PostgreSQL text cannot store
    one; refused with 400 naming the field instead of failing in the database)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("contains a NUL byte")
        return value


class Error(BaseModel):
    """One Open311 error (the body is a list of them)."""

    code: int
    description: str


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict]


class RequestIn(_Body):
    """POST /requests.json fields (form-encoded as Open311 says, or a JSON object).

    Open311 habits: an optional field sent empty (``email=&media_url=``) is absent; the
    location is ``lat`` + ``long``, or ``address_id`` (here: an H3 cell id of the
    district), or ``address_string`` alone (the request waits until a dispatcher gives it
    a point)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    api_key: str | None = Field(None, max_length=200)
    jurisdiction_id: str | None = Field(None, max_length=64)
    service_code: str = Field(min_length=1, max_length=64)
    lat: float | None = Field(None, ge=-90, le=90, **_NUM)
    long: float | None = Field(None, ge=-180, le=180, **_NUM)
    address_string: str | None = Field(None, max_length=500)
    address_id: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    device_id: str | None = Field(None, max_length=200)
    account_id: str | None = Field(None, max_length=200)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=64, pattern=r"^[0-9+()\-. ]*$")
    description: str | None = Field(None, max_length=4000)
    media_url: str | None = Field(None, max_length=2000, pattern=r"^https?://\S+$")
    idempotency_key: str | None = Field(None, min_length=1, max_length=200)
    #: a service definition's extra fields (JSON); a form sends ``attribute[code]=value``
    attribute: dict[str, str | float | list[str]] | None = Field(None, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, raw):
        if isinstance(raw, dict):
            return {k: v for k, v in raw.items()
                    if not (k != "service_code" and isinstance(v, str) and not v.strip())}
        return raw

    @model_validator(mode="after")
    def _located(self):
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat/long: give both lat and long (or neither, with an address)")
        if self.lat is None and not (self.address_string or self.address_id):
            raise ValueError("lat/long: a location is needed: lat and long, address_id or "
                             "address_string")
        return self


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


class RequestOut(BaseModel):
    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str | None = None
    #: extension: the life cycle behind the two Open311 statuses
    stage: Literal["received", "assigned", "accepted", "arrived", "resolved"] | None = None
    service_name: str | None = None
    service_code: str
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None = None
    #: extension: the category's limit counted on the working-day calendar from the
    #: request's filing (urbangrid.catalogue.due_at)
    deadline_datetime: str | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    #: extension, dispatcher/admin only: the service definition's extra fields
    attributes: dict | None = None


class StatusIn(_Body):
    """A dispatcher's update of a request's Open311 status fields."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["open", "closed"] | None = None
    status_notes: str | None = Field(None, max_length=4000)
    agency_responsible: str | None = Field(None, max_length=200)
    service_notice: str | None = Field(None, max_length=500)
    expected_datetime: str | None = Field(None, max_length=40)
    #: a point for a request located by address only (both or neither)
    lat: float | None = Field(None, ge=-90, le=90, **_NUM)
    long: float | None = Field(None, ge=-180, le=180, **_NUM)

    @model_validator(mode="after")
    def _both(self):
        if (self.lat is None) != (self.long is None):
            raise ValueError("lat/long: give both lat and long")
        return self


class AssignIn(_Body):
    """A dispatcher's assignment of a request to a team by hand."""

    model_config = ConfigDict(extra="forbid")

    team_id: int = Field(ge=0, le=2**31 - 1)
    note: str | None = Field(None, max_length=4000)


class TeamIn(_Body):
    """A team's reported state."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    lat: float = Field(ge=-90, le=90, **_NUM)
    lon: float = Field(ge=-180, le=180, **_NUM)
    skills: list[str] = Field(min_length=1, max_length=62)
    capacity: int = Field(1, ge=0, le=1000)
    shift_start: str = Field(max_length=40)
    shift_end: str = Field(max_length=40)
    state: Literal["free", "busy", "off"] = "free"
    free_at: str | None = Field(None, max_length=40)
    mode: str = Field("ebike", max_length=16)


class TeamOut(BaseModel):
    id: int
    name: str
    lat: float
    lon: float
    skills: list[str]
    capacity: int
    shift_start: str
    shift_end: str
    state: str
    free_at: str | None = None
    mode: str
    updated_datetime: str
    active_assignments: int


class ActionIn(_Body):
    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "arrive", "resolve", "return"]
    service_request_id: str = Field(min_length=1, max_length=20)
    note: str | None = Field(None, max_length=4000)


class AssignmentOut(BaseModel):
    assignment_id: int
    service_request_id: str
    team_id: int
    state: str
    assigned_datetime: str
    eta_datetime: str | None = None
    cost: float | None = None
    updated_datetime: str


class KeyIn(_Body):
    """An admin's new key."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["intake", "dispatcher", "admin"]
    name: str = Field("", max_length=200)


class KeyOut(BaseModel):
    key_id: str
    role: str
    name: str
    created_datetime: str
    revoked_datetime: str | None = None
    #: only in the answer that creates it
    key: str | None = None


class AuditOut(BaseModel):
    id: int
    at: str
    kind: str
    service_request_id: str | None = None
    team_id: int | None = None
    key_id: str | None = None
    role: str | None = None
    note: str | None = None


class DispatchIn(_Body):
    """``POST /dispatch``: the two tables of ``urbangrid dispatch`` as JSON rows."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[dict] = Field(max_length=20_000)
    teams: list[dict] = Field(max_length=5_000)
    now: str | float | None = None
    method: Literal[METHODS] = "mcf"  # the solver's method names
    mode: str = Field("ebike", max_length=16)
    skills: str | None = Field(None, max_length=4000)
    time_limit: float | None = Field(None, gt=0, le=60, **_NUM)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    routes: bool = False


class DispatchRow(BaseModel):
    id: int
    status: Literal["assigned", "deferred"]
    team: int | None
    order: int | None
    eta: str | float | None
    cost: float
    reason: str
    crew_teams: str | None = None


class DispatchOut(BaseModel):
    assignments: list[DispatchRow]
    summary: dict
