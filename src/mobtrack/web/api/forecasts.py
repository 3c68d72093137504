"""Forecasts of an operation's places with their uncertainty and backtest skill, and early warnings.

Computed from the figures the caller may see (published, small-cell suppressed for the public), by
mobtrack.web.services.forecasts; see docs/foresight.md for how, and docs/api.md for the fields.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from mobtrack.web.api.figures import Group, Level, Protected, Purpose, Unit, view_for
from mobtrack.web.auth import connection, current_user
from mobtrack.web.errors import ApiError, ErrorBody
from mobtrack.web.services import catalogue
from mobtrack.web.services import forecasts as service
from mobtrack.web.services.principal import Principal

router = APIRouter(tags=["forecasts"])

Freq = Query("M", pattern="^[WMY]$", description="Forecast grid: W (weeks), M (months) or Y (years).")
Horizon = Query(3, ge=1, le=12, description="Periods ahead to forecast.")
AssessmentType = Query(None, description="Default: the type of the latest visible round.")
PCodes = Query(None, description="Only these p-codes (comma-separated).")


ERRORS = {304: {"description": "Not modified: If-None-Match matched the ETag (published rounds only)"},
          400: {"model": ErrorBody, "description": "Invalid parameters"},
          403: {"model": ErrorBody, "description": "Raw figures asked for without the right"},
          404: {"model": ErrorBody, "description": "Operation not found (or nothing visible)"},
          503: {"model": ErrorBody, "description": "The figures cannot be published safely"}}


class Period(BaseModel):
    date: dt.date = Field(description="First day of the forecast period.")
    point: float | None
    lo80: float | None = Field(description="Lower bound of the 80% interval.")
    hi80: float | None = Field(description="Upper bound of the 80% interval; null: open (too few backtest errors).")
    lo95: float | None
    hi95: float | None = Field(description="Upper bound of the 95% interval; null: open (too few backtest errors).")


class Observed(BaseModel):
    date: dt.date = Field(description="Reporting date of the round.")
    value: float


class Skill(BaseModel):
    scored: int = Field(description="Backtest forecasts scored against a reported figure.")
    mae: float | None = Field(description="Mean absolute error of this series' forecasts in the backtests.")
    mae_naive: float | None = Field(description="The same for 'no change from the latest figure'.")
    relative_mae: float | None = Field(description="mae / mae_naive: below 1 beats naive; null if naive was exact.")
    coverage80: float | None = Field(description="Share of scored figures inside the 80% interval.")
    coverage95: float | None


class PlaceForecast(BaseModel):
    pcode: str
    name: str | None
    model: str = Field(description="Model chosen for this series by backtest.")
    latest: float = Field(description="Latest visible figure (the forecast's starting point).")
    latest_date: dt.date
    history: list[Observed] = Field(description="The visible figures the forecast was made from.")
    forecasts: list[Period]
    skill: Skill | None = Field(description="Backtest skill of this series; null when nothing could be scored.")


class Skipped(BaseModel):
    pcode: str
    name: str | None
    reason: str


class ForecastMeta(BaseModel):
    ok: bool = True
    count: int
    protected: bool = Field(description="Made from small-cell suppressed figures.")
    operation: str
    assessment_type: str | None
    level: int
    freq: str
    horizon: int
    cutoff: dt.date | None = Field(description="Last reporting date the forecasts start from.")
    backtest_cutoffs: list[dt.date] = Field(description="Earlier cutoffs the skill and Brier scores come from.")
    rounds: list[int] = Field(description="Rounds the series were read from.")
    note: str | None = Field(description="Why there are no forecasts, when there are none.")


class ForecastsResponse(ForecastMeta):
    models: list[str] = Field(description="Candidate models (each series keeps the one its backtest chose).")
    skipped: list[Skipped] = Field(description="Places not forecast, with the reason.")
    data: list[PlaceForecast]


class EarlyWarning(BaseModel):
    pcode: str
    name: str | None
    latest: float
    threshold: float | None
    k: int
    probability: float | None = Field(description="P(a reported figure exceeds threshold within k periods).")
    brier: float | None = Field(description="Brier score of this place's warnings in the backtests.")
    scored: int = Field(description="Backtest warnings behind `brier`.")


class WarningsResponse(ForecastMeta):
    k: int
    rise: float
    threshold: float | None
    brier: float | None = Field(description="Brier score over every scored backtest warning (lower is better).")
    brier_reference: float | None = Field(description="Brier score of always forecasting the observed event rate.")
    brier_scored: int
    data: list[EarlyWarning]


def _compute(request: Request, conn: Connection, user: Principal, operation: str, protected, purpose, what: str,
             **options) -> tuple[service.Forecasts, str | None]:
    view = view_for(request, conn, user, operation, protected, purpose, what)
    result = service.forecasts(conn, view, **options)
    rounds = catalogue.rounds(conn, view, result.assessment_type) if result.assessment_type else None
    tag = catalogue.etag(rounds, what, view.unprotected, sorted(options.items())) if rounds is not None else None
    return result, tag


def _meta(result: service.Forecasts, count: int) -> dict:
    return dict(count=count, protected=result.protected, operation=result.operation,
                assessment_type=result.assessment_type, level=result.level, freq=result.freq, horizon=result.horizon,
                cutoff=result.cutoff, backtest_cutoffs=result.backtest_cutoffs, rounds=result.rounds,
                note=result.note)


def _respond(request: Request, model: BaseModel, tag: str | None) -> Response:
    if tag and request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    headers = {"ETag": tag, "Cache-Control": "public, max-age=0, must-revalidate"} if tag else {}
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)


def _only(rows: list[dict], pcode: str | None) -> list[dict]:
    if not pcode:
        return rows
    wanted = {p.strip() for p in pcode.split(",") if p.strip()}
    return [r for r in rows if r["pcode"] in wanted]


@router.get("/operations/{operation}/forecasts", response_model=ForecastsResponse, responses=ERRORS)
def forecasts(request: Request, operation: str, level: int = Level, group: str = Group, unit: str = Unit,
              assessment_type: str | None = AssessmentType, freq: str = Freq, horizon: int = Horizon,
              pcode: str | None = PCodes, protected: bool | None = Protected, purpose: str | None = Purpose,
              conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Each place's figure forecast `horizon` periods ahead: point, 80% and 95% intervals, the model its
    backtest chose and its backtest skill against 'no change'. Places largest first."""
    result, tag = _compute(request, conn, user, operation, protected, purpose, "forecasts", level=level,
                           group=group, unit=unit, assessment_type=assessment_type, freq=freq, horizon=horizon)
    rows = _only(result.places, pcode)
    model = ForecastsResponse(**_meta(result, len(rows)), models=list(service.MODELS),
                              skipped=_only(result.skipped, pcode), data=rows)
    return _respond(request, model, tag)


@router.get("/operations/{operation}/warnings", response_model=WarningsResponse, responses=ERRORS)
def warnings(request: Request, operation: str, level: int = Level, group: str = Group, unit: str = Unit,
             assessment_type: str | None = AssessmentType, freq: str = Freq, horizon: int = Horizon,
             k: int | None = Query(None, ge=1, le=12, description="Within this many periods (default: horizon)."),
             rise: float = Query(0.25, ge=0, le=100, description="Threshold = latest figure x (1 + rise)."),
             threshold: float | None = Query(None, ge=0, description="One threshold for every place instead."),
             min_probability: float = Query(0.0, ge=0, le=1, description="Only warnings at least this likely."),
             pcode: str | None = PCodes, protected: bool | None = Protected, purpose: str | None = Purpose,
             conn: Connection = Depends(connection), user: Principal = Depends(current_user)):
    """Early warnings: the probability that each place's reported figure exceeds its threshold within k
    periods, most likely first, with the Brier score of the same warnings in backtests."""
    if k is not None and k > horizon:
        raise ApiError(400, f"k ({k}) cannot be more than the horizon ({horizon})")
    result, tag = _compute(request, conn, user, operation, protected, purpose, "warnings", level=level, group=group,
                           unit=unit, assessment_type=assessment_type, freq=freq, horizon=horizon, k=k, rise=rise,
                           threshold=threshold)
    rows = [w for w in _only(result.warnings, pcode) if (w["probability"] or 0.0) >= min_probability]
    model = WarningsResponse(**_meta(result, len(rows)), k=result.k, rise=result.rise, threshold=result.threshold,
                             brier=result.brier, brier_reference=result.brier_reference,
                             brier_scored=result.brier_scored, data=rows)
    return _respond(request, model, tag)
