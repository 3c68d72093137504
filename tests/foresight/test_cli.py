import json

import polars as pl
from typer.testing import CliRunner

from mobtrack.cli import app
from mobtrack.foresight import OUTPUT_COLUMNS

from .conftest import make_panel

runner = CliRunner()


def test_predict_and_backtest_write_the_same_columns(tmp_path):
    src = tmp_path / "in.csv"
    make_panel(n_leaves=2, months=30).write_csv(src)
    out = tmp_path / "pred.csv"
    res = runner.invoke(
        app, ["forecast", "predict", str(src), "--freq", "M", "--horizon", "2", "--hierarchy", "country,admin1", "--output", str(out), "--json", "--models", "Naive,WindowMedian,ARIMA"]
    )
    assert res.exit_code == 0, res.output
    pred = pl.read_csv(out)
    assert pred.columns == OUTPUT_COLUMNS
    assert "XYZ/North" in pred["series_id"].to_list()

    bt = tmp_path / "bt.csv"
    res = runner.invoke(
        app,
        ["forecast", "backtest", str(src), "--freq", "M", "--horizon", "1", "--cutoffs", "2017-09-01,2017-12-01", "--output", str(bt), "--json", "--models", "Naive,WindowMedian"],
    )
    assert res.exit_code == 0, res.output
    assert pl.read_csv(bt).columns == OUTPUT_COLUMNS
    report = json.loads(res.stdout)
    assert report["by_horizon"][0]["n"] == 4  # 2 series x 2 cutoffs, h=1


def test_usage_and_input_errors_exit_codes(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("series_id,date,value\nA,2020-01-01,oops\n")
    out = tmp_path / "p.csv"
    res = runner.invoke(app, ["forecast", "predict", str(src), "--freq", "M", "--horizon", "1", "--output", str(out)])
    assert res.exit_code == 1 and "not a number" in res.output
    res = runner.invoke(app, ["forecast", "predict", str(src), "--freq", "D", "--horizon", "1", "--output", str(out)])
    assert res.exit_code == 2
    res = runner.invoke(
        app, ["forecast", "backtest", str(src), "--freq", "M", "--horizon", "1", "--cutoffs", "soon", "--output", str(out)]
    )
    assert res.exit_code == 2
    res = runner.invoke(app, ["forecast", "predict", str(src), "--freq", "M", "--horizon", "1", "--output", str(out), "--models", "ETS"])
    assert res.exit_code == 2
