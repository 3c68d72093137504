"""What the API answers, for the OpenAPI document: bodies per status code, declared on every route.

The endpoints build their JSON themselves (Polars writes rows straight to JSON, see _common.py), so
these models are declared with `responses=` rather than `response_model=`: FastAPI documents them
without re-validating every row on the hot path. tests/web/api/test_openapi_fuzz.py (schemathesis)
checks that real answers match what is declared here, status code by status code.

Rows allow extra fields (a disaggregation adds its column, e.g. `sex`); the fields listed are
always present.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mobtrack.web.errors import ErrorBody, V3ErrorBody

T = TypeVar("T")


class Row(BaseModel):
    model_config = ConfigDict(extra="allow")


class Page(BaseModel, Generic[T]):
    ok: Literal[True]
    count: int = Field(description="Rows in the whole result (all pages).")
    next: str | None = Field(description="Cursor of the next page (`cursor=`), null on the last page.")
    data: list[T]


class Item(BaseModel, Generic[T]):
    ok: Literal[True]
    data: T


class FigurePage(Page[T], Generic[T]):
    protected: bool = Field(description="true when small counts are suppressed in these rows.")


class Operation(Row):
    id: int
    name: str
    country_iso3: str
    status: str | None


class OperationSummary(Operation):
    rounds: int
    published_rounds: int
    latest_reporting_date: str | None


class Round(Row):
    operation: str
    country_iso3: str
    assessment_type: str
    round: int
    status: str
    version: int | None
    reporting_date: str | None
    source_file: str | None
    period_start: str | None
    period_end: str | None
    published_at: str | None


class RoundDetail(Round):
    quality: dict[str, Any] | None = Field(None, description="Issue counts (callers who may read quality only).")


class Figure(Row):
    pcode: str | None
    name: str | None
    level: int
    value: int | float | None = Field(description="null when suppressed or not reported.")
    suppressed: bool
    population_group: str
    unit: str
    operation: str
    assessment_type: str
    round: int
    round_version: int | None
    reporting_date: str | None
    source_file: str | None


class Change(Figure):
    previous_round: int | None
    previous_value: int | float | None
    change: int | float | None
    change_pct: float | None


class Issue(Row):
    id: int
    severity: str
    rule: str
    message: str
    round: int
    assessment_type: str


class QualityRound(Row):
    assessment_type: str
    round: int
    status: str
    error: int
    warning: int
    info: int
    blocking: int


class Review(Row):
    id: int
    status: str
    country_iso3: str | None


class Me(Row):
    username: str | None
    role: str | None
    organisation: str | None
    operations: list[str]
    countries: list[str]
    via: Literal["anonymous", "session", "token"]


class NewTokenAnswer(Row):
    token: str = Field(description="Shown once: store it now.")
    name: str


class Token(Row):
    id: int
    name: str
    prefix: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class Revoked(Row):
    revoked: int


class User(Row):
    id: int
    username: str
    organisation: str | None
    role: str
    active: bool
    two_factor: bool
    scopes: list[str]


class Upload(Row):
    upload: str = Field(description="Upload id: confirm with POST /imports/{upload}/confirm.")
    status: str
    report: dict[str, Any] | None


class Imported(Upload):
    published: list[dict[str, Any]]


class Published(Row):
    operation: str
    round: int
    status: str


class DecisionOutcome(Row):
    pass


class Flow(Row):
    origin: str
    destination: str
    value: float | None = Field(description="null when suppressed.")
    suppressed: bool
    source: str
    period: str | None


class Corridors(BaseModel):
    ok: Literal[True]
    count: int
    protected: bool
    compared_with: str | None = Field(description="The period the changes are measured against.")
    data: list[dict[str, Any]]


class Profile(Row):
    country: dict[str, Any] = Field(description="Code, name and region of the country.")
    requested_year: int | None
    figures: dict[str, Any] = Field(description="Each figure with value, year, source, definition and source rows.")
    missing: dict[str, str] = Field(description="Why each missing figure is missing.")
    links: dict[str, str] = Field(description="The country's flows pages.")


class FeatureCollection(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


class V3Envelope(BaseModel, Generic[T]):
    result: list[T]
    statusCode: int  # noqa: N815 - IOM's field names
    isSuccess: Literal[True]  # noqa: N815
    errorMessages: list[str]  # noqa: N815
    totalRecordsCount: int  # noqa: N815


ERROR_MEANINGS = {
    400: "Invalid parameters or body (`errors` names the fields).",
    401: "Not logged in, or the API token is invalid, expired or revoked.",
    403: "Logged in, but your role or scope does not allow this (or the CSRF token is missing).",
    404: "No such object, or not one you may see.",
    409: "The object is not in a state that allows this.",
    413: "The file is too large.",
    503: "These figures cannot be protected, so they are not served (fail closed).",
}


def answers(ok: Any, *errors: int, media: str | dict = "application/json", not_modified: bool = False,
            v3: bool = False, status: int = 200) -> dict[int | str, dict]:
    """The `responses=` of a route: its success body and the error statuses it can answer with.

    `media` is a media type, or {media type: JSON schema} for files in several formats.
    """
    out: dict[int | str, dict] = {}
    if isinstance(media, dict):
        out[status] = {"content": {m: {"schema": schema} for m, schema in media.items()}}
    elif media == "application/json":
        out[status] = {"model": ok}
    else:  # FastAPI's "model" is JSON only: give the schema itself
        out[status] = {"content": {media: {"schema": ok.model_json_schema()}}}
    if not_modified:
        out[304] = {"description": "Not modified: the `If-None-Match` ETag still matches (no body)."}
    for status in errors:
        out[status] = {"model": V3ErrorBody if v3 else ErrorBody, "description": ERROR_MEANINGS[status]}
    return out
