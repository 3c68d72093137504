"""`mobtrack forecast backtest|predict`: forecasts with honest intervals from a long CSV.

Both commands write `series_id, cutoff, date, model, point, lo80, hi80, lo95, hi95`.
`predict --country ISO3 --level N` forecasts the store's figures: the frame returned by
`mobtrack.analytics.series(...)` goes to the same engine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mobtrack.cli._common import DbOption, JsonOption, console, fail, print_json

forecast_app = typer.Typer(help="Forecast displacement series, backtested against naive baselines.", no_args_is_help=True)

InputArg = Annotated[Path, typer.Argument(help="Long CSV: series_id, date, value (+ hierarchy columns).")]
FreqOpt = Annotated[str, typer.Option("--freq", help="Grid: W (weekly), M (monthly) or Y (yearly).")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Periods ahead to forecast.", min=1)]
HierOpt = Annotated[
    str | None, typer.Option("--hierarchy", help="Comma-separated hierarchy columns, top first (e.g. country,admin1).")
]
OutputOpt = Annotated[Path, typer.Option("--output", help="Where to write the predictions CSV.")]
KindOpt = Annotated[str, typer.Option("--kind", help="flow (summed per period) or stock (interpolated).")]
ModelsOpt = Annotated[
    str | None,
    typer.Option("--models", help="Comma-separated candidate models (default: all; must include Naive)."),
]


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _parse_cutoffs(text: str) -> list[date]:
    out = []
    for item in _split(text):
        try:
            out.append(date.fromisoformat(item if len(item) > 7 else f"{item}-01"))
        except ValueError:
            fail(f"--cutoffs: {item!r} is not a date (YYYY-MM-DD)", code=2)
    if not out:
        fail("--cutoffs: give at least one date", code=2)
    return out


def _check_options(freq: str, kind: str, models: str | None) -> dict:
    from mobtrack.foresight.candidates import ALL_MODELS

    if freq.upper() not in ("W", "M", "Y"):
        fail(f"--freq must be W, M or Y (got {freq!r})", code=2)
    if kind not in ("flow", "stock"):
        fail(f"--kind must be flow or stock (got {kind!r})", code=2)
    if models is None:
        return {}
    names = tuple(_split(models))
    unknown = [m for m in names if m not in ALL_MODELS]
    if unknown or "Naive" not in names:
        fail(f"--models must include Naive and come from {', '.join(ALL_MODELS)}", code=2)
    return {"models": names}


def _store_series(db: str | None, country: str, level: int, operation: str | None, group: str, unit: str):
    """The stored figures of each place at `level` (mobtrack.foresight.places.store_series)."""
    from mobtrack.analytics import RoundFilter
    from mobtrack.foresight.places import store_series
    from mobtrack.store.db import ensure_schema

    with ensure_schema(db).connect() as conn:
        frame = store_series(conn, RoundFilter(country_iso3=country, operation=operation), level, group, unit)
    if frame.is_empty():
        fail(f"no stored figures for {country.upper()} at level {level}"
             + (f" in operation {operation!r}" if operation else ""))
    return frame


@forecast_app.command("predict")
def predict_cmd(
    freq: FreqOpt,
    horizon: HorizonOpt,
    output: OutputOpt,
    input_csv: Annotated[Path | None, typer.Argument(help="Long CSV: series_id, date, value (+ hierarchy "
                                                      "columns); or use --country/--level to read the store.")] = None,
    hierarchy: HierOpt = None,
    kind: KindOpt = "flow",
    models: ModelsOpt = None,
    country: Annotated[str | None, typer.Option("--country", help="Forecast the store's figures of this country.")]
    = None,
    level: Annotated[int, typer.Option("--level", help="Admin level of the stored figures.")] = 1,
    operation: Annotated[str | None, typer.Option("--operation", help="Only this operation.")] = None,
    group: Annotated[str, typer.Option("--group", help="Population group of the stored figures.")] = "idps",
    unit: Annotated[str, typer.Option("--unit", help="individuals or households.")] = "individuals",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast HORIZON periods past the last observation of every series (and hierarchy level).

    Example: mobtrack forecast predict arrivals.csv --freq M --horizon 3 --output pred.csv
    Example: mobtrack forecast predict --country SOM --level 1 --freq M --horizon 3 --output pred.csv
    """
    from mobtrack.foresight import ForesightInputError, predict, read_long_csv

    if (input_csv is None) == (country is None):
        fail("give either INPUT.csv or --country (with --level) to forecast stored figures", code=2)
    if country is not None:
        from mobtrack.foresight.places import KIND

        kind = KIND  # stored figures are stocks: people present at each round
    extra = _check_options(freq, kind, models)
    hier = _split(hierarchy)
    if country is not None and hier:
        fail("--hierarchy applies to CSV input; stored figures are forecast per place", code=2)
    try:
        data = (read_long_csv(input_csv, hier) if input_csv is not None
                else _store_series(db, country, level, operation, group, unit))
        with console.status("forecasting…"):
            pred = predict(data, freq, horizon, hierarchy=hier, kind=kind, **extra)
    except ForesightInputError as exc:
        fail(str(exc))
    pred.write_csv(output)
    info = {"output": str(output), "series": pred["series_id"].n_unique(), "rows": pred.height}
    if as_json:
        print_json(info)
    else:
        console.print(f"wrote {info['rows']} forecasts for {info['series']} series to {output}")


@forecast_app.command("backtest")
def backtest_cmd(
    input_csv: InputArg,
    freq: FreqOpt,
    horizon: HorizonOpt,
    cutoffs: Annotated[str, typer.Option("--cutoffs", help="Comma-separated cutoff dates (YYYY-MM-DD).")],
    output: OutputOpt,
    hierarchy: HierOpt = None,
    kind: KindOpt = "flow",
    models: ModelsOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Forecast from each cutoff using only data up to it; print accuracy against naive."""
    from mobtrack.foresight import ForesightInputError, backtest, read_long_csv
    from mobtrack.foresight.metrics import attach_actuals, summary

    extra = _check_options(freq, kind, models)
    hier = _split(hierarchy)
    cuts = _parse_cutoffs(cutoffs)
    try:
        data = read_long_csv(input_csv, hier)
        with Progress(
            TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("cutoffs", total=len(cuts))
            pred = backtest(
                data,
                freq,
                horizon,
                cuts,
                hierarchy=hier,
                kind=kind,
                progress=lambda k: bar.update(task, completed=k),
                **extra,
            )
    except ForesightInputError as exc:
        fail(str(exc))
    pred.write_csv(output)
    scored = attach_actuals(pred, data, freq.upper(), kind, hier)
    metrics = summary(scored, ["h"]).to_dicts() if scored.height else []
    if as_json:
        print_json({"output": str(output), "rows": pred.height, "by_horizon": metrics})
        return
    console.print(f"wrote {pred.height} backtest forecasts to {output}")
    if not metrics:
        console.print("no actuals after the cutoffs yet: nothing to score")
    for m in metrics:
        console.print(
            f"h={m['h']}: MAE/naive {m['rel_mae']:.3f}  MASE {m['mase']:.3f}  WAPE {m['wape']:.3f}  "
            f"80% cover {m['cov80']:.1%}  95% cover {m['cov95']:.1%}  (n={m['n']})"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(forecast_app, name="forecast")
