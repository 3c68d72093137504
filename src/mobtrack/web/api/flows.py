"""Origin-destination matrices and top corridors, over the same service as the flows page.

DTM-based sources (`fm`, `dtm`) are protected for callers who may not read raw figures (`value` null,
`suppressed` true); global statistics are passed through as published.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Connection

from mobtrack.stats.od import ODQuery
from mobtrack.web.api._common import Cursor, Limit, Sort, frame_response
from mobtrack.web.api.models import Corridors, FigurePage, Flow, answers
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.services import audit
from mobtrack.web.services import flows as service
from mobtrack.web.services.flows import month, sources, year
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["flows"])

Source = Query("fm", pattern=f"^({'|'.join(sources())})$",
               description="fm (DTM flow monitoring), dtm (DTM IDP origins), undesa, unhcr, worldbank.")
Year = Query(None, alias="year", description="A calendar year (not with from/to).", pattern=r"^[1-9]\d{3}$")
# A month or a date, exactly (month() checks it; a regular expression alone would let 2024-02-30 through),
# or empty: the flows page's form sends its empty month fields, meaning "not set".
MONTH_OR_DATE = {"anyOf": [{"type": "string", "pattern": r"^[1-9]\d{3}-(0[1-9]|1[0-2])$"},
                           {"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]}
From = Query(None, alias="from", description="First month, YYYY-MM (or a date YYYY-MM-DD).",
             json_schema_extra=MONTH_OR_DATE)
To = Query(None, alias="to", description="Last month, YYYY-MM (or a date YYYY-MM-DD).", json_schema_extra=MONTH_OR_DATE)
Level = Query("country", description="country, 1 or 2 (admin levels: dtm; fm has 1 from surveys).",
              pattern=r"^(country|1|2)$")
Country = Query(None, description="ISO3: flows from or to it (at admin level: the country's places).",
                pattern=r"^[A-Za-z]{3}$")
Measure = Query(None, description="unhcr: refugees, asylum_seekers, oip, returned_refugees, stateless, ooc.")


def _query(year_: str | None, date_from: str | None, date_to: str | None, level: str, country: str | None,
           top: int | None, measure: str | None) -> ODQuery:
    return ODQuery(year=year(year_), date_from=month(date_from), date_to=month(date_to, last=True), level=level,
                   country=country.upper() if country else None, top=top, measure=measure)


def _audit(request: Request, conn: Connection, user: Principal, source: str, found: service.Flows) -> None:
    if found.raw_operations:
        audit.record(conn, user, "read-unprotected", f"od/{source}", client=client_of(request),
                     details={"operations": found.raw_operations}, alone=True)


@router.get("/od", name="od_api", responses=answers(FigurePage[Flow], 400, 403, 404, 503))
def od(request: Request, source: str = Source, year_: str | None = Year, date_from: str | None = From,
       date_to: str | None = To, level: str = Level, country: str | None = Country,
       top: int | None = Query(None, ge=1, le=10_000, description="Only the N largest corridors."),
       measure: str | None = Measure, limit: int = Limit, cursor: str | None = Cursor, sort: str | None = Sort,
       conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Origin-destination matrix: `{origin, destination, value, suppressed, source, period}`, largest first."""
    found = service.od(conn, user, source, _query(year_, date_from, date_to, level, country, top, measure))
    _audit(request, conn, user, source, found)
    return frame_response(request, found.rows, cursor, limit, sort, None, {"protected": found.protected})


@router.get("/od/corridors", name="flows_api", responses=answers(Corridors, 400, 403, 404, 503))
def corridors(request: Request, source: str = Source, year_: str | None = Year, date_from: str | None = From,
              date_to: str | None = To, level: str = Level, country: str | None = Country,
              top: int = Query(15, ge=1, le=1000, description="How many corridors."),
              measure: str | None = Measure,
              compare: str | None = Query(None, description="Year to compare with (default: the year loaded "
                                                            "before, or the same length of time just before).",
                                          pattern=r"^[1-9]\d{3}$"),
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Top corridors with the reverse flow, the net flow and the change since the compared period."""
    q = _query(year_, date_from, date_to, level, country, top, measure)
    other = ODQuery(**{**q.__dict__, "year": year(compare), "date_from": None, "date_to": None}) if compare else None
    if q.year is not None and (q.date_from or q.date_to):
        raise ApiError(400, "give year or from/to, not both")
    found, table, compared = service.corridors(conn, user, source, q, other)
    _audit(request, conn, user, source, found)
    period = None
    if compared is not None:
        period = str(compared.year) if compared.year is not None else \
            f"{compared.date_from.isoformat()}..{compared.date_to.isoformat()}"
    return {"ok": True, "count": table.height, "protected": found.protected, "compared_with": period,
            "data": table.to_dicts()}
