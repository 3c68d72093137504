"""DTM API v3 compatibility: `/v3/displacement/...` with IOM's parameters, fields and envelope.

Existing DTM clients (e.g. `dtmapi` on PyPI) work unchanged against a mobtrack server: point them
at it and pass a mobtrack API token as the subscription key (`Ocp-Apim-Subscription-Key`); without
a key they get the public, protected figures of published rounds.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from mobtrack.web.api._common import MAX_INT, cached
from mobtrack.web.api.models import V3Envelope, answers
from mobtrack.web.auth import client_of, connection, current_user
from mobtrack.web.errors import ApiError
from mobtrack.web.services import audit, dtm_v3
from mobtrack.web.services.principal import Principal

router = APIRouter(prefix="/v3/displacement", tags=["DTM API v3 compatibility"], responses=answers(None, 401, v3=True))


def envelope(result: list[dict]) -> dict:
    return {"result": result, "statusCode": 200, "isSuccess": True, "errorMessages": [],
            "totalRecordsCount": len(result)}


def _date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError as exc:
        raise ApiError(400, f"{name} must be a date as YYYY-MM-DD, got {value!r}") from exc


def _params(Operation, CountryName, Admin0Pcode, FromReportingDate, ToReportingDate, FromRoundNumber,
            ToRoundNumber, **admin) -> dict:
    if not (Operation or CountryName or Admin0Pcode):
        raise ApiError(400, "at least one of Operation, CountryName or Admin0Pcode is required")
    return {"Operation": Operation, "CountryName": CountryName, "Admin0Pcode": Admin0Pcode,
            "FromReportingDate": _date(FromReportingDate, "FromReportingDate"),
            "ToReportingDate": _date(ToReportingDate, "ToReportingDate"),
            "FromRoundNumber": FromRoundNumber, "ToRoundNumber": ToRoundNumber, **admin}


FILTERS = {0: (), 1: ("Admin1Name", "Admin1Pcode"), 2: ("Admin1Name", "Admin1Pcode", "Admin2Name", "Admin2Pcode")}
COMMON = ("Operation", "CountryName", "Admin0Pcode", "FromReportingDate", "ToReportingDate", "FromRoundNumber",
          "ToRoundNumber")


def answer(request: Request, conn: Connection, user: Principal, level: int, given: dict):
    """/admin`level`'s answer to parameters already validated (by FastAPI, or by web.fast_path).
    `given`: the parameters by name (an endpoint passes its locals(); other names are ignored, those
    not given are None)."""
    params = _params(**{name: given.get(name) for name in (*COMMON, *FILTERS[level])})
    if not user.anonymous:  # every read by a known caller is recorded, served from the cache or not
        audit.record(conn, user, "read", f"v3/admin{level}", purpose=request.headers.get("x-purpose"),
                     client=client_of(request), details={k: v for k, v in params.items() if v is not None},
                     alone=True)
    # json.dumps straight away: FastAPI's generic encoder costs more than the query for big answers
    return cached(request, conn, user, lambda: JSONResponse(envelope(dtm_v3.rows(conn, user, level, params))))


Op = Query(None, description="Name of the DTM operation.")
Country = Query(None, description="Country name as IOM writes it (ISO 3166 short name).")
Adm0 = Query(None, description="ISO 3166-1 alpha-3 code.")
# Declared as dates (what IOM documents); the server also takes a date-time and reads its date.
FromDate = Query(None, description="YYYY-MM-DD", json_schema_extra={"format": "date"})
ToDate = Query(None, description="YYYY-MM-DD", json_schema_extra={"format": "date"})
FromRound = Query(None, ge=0, le=MAX_INT)
ToRound = Query(None, ge=0, le=MAX_INT)


@router.get("/admin0", responses=answers(V3Envelope[dict], 400, v3=True))
def admin0(request: Request, Operation: str | None = Op, CountryName: str | None = Country,
           Admin0Pcode: str | None = Adm0, FromReportingDate: str | None = FromDate,
           ToReportingDate: str | None = ToDate, FromRoundNumber: int | None = FromRound,
           ToRoundNumber: int | None = ToRound, conn: Connection = Depends(connection),
           user: Principal = Depends(current_user)):
    return answer(request, conn, user, 0, locals())


@router.get("/admin1", responses=answers(V3Envelope[dict], 400, v3=True))
def admin1(request: Request, Operation: str | None = Op, CountryName: str | None = Country,
           Admin0Pcode: str | None = Adm0, Admin1Name: str | None = None, Admin1Pcode: str | None = None,
           FromReportingDate: str | None = FromDate, ToReportingDate: str | None = ToDate,
           FromRoundNumber: int | None = FromRound, ToRoundNumber: int | None = ToRound,
           conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    return answer(request, conn, user, 1, locals())


@router.get("/admin2", responses=answers(V3Envelope[dict], 400, v3=True))
def admin2(request: Request, Operation: str | None = Op, CountryName: str | None = Country,
           Admin0Pcode: str | None = Adm0, Admin1Name: str | None = None, Admin1Pcode: str | None = None,
           Admin2Name: str | None = None, Admin2Pcode: str | None = None,
           FromReportingDate: str | None = FromDate, ToReportingDate: str | None = ToDate,
           FromRoundNumber: int | None = FromRound, ToRoundNumber: int | None = ToRound,
           conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    return answer(request, conn, user, 2, locals())


@router.get("/country-list", responses=answers(V3Envelope[dict]))
def country_list(conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    return envelope(dtm_v3.countries(conn, user))


@router.get("/operation-list", responses=answers(V3Envelope[dict]))
def operation_list(conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    return envelope(dtm_v3.operations(conn, user))
