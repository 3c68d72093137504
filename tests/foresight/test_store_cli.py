"""`mobtrack forecast predict --country ISO3 --level N` forecasts the store's own figures."""

import polars as pl
from typer.testing import CliRunner

from mobtrack.cli import app


def test_predict_from_the_store(tmp_path, db_url):
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--db", db_url]).exit_code == 0
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["forecast", "predict", "--country", "SOM", "--level", "1", "--freq", "M",
                                 "--horizon", "2", "--output", str(out), "--db", db_url])
    assert result.exit_code == 0, result.output
    pred = pl.read_csv(out)
    assert pred.columns == ["series_id", "cutoff", "date", "model", "point", "lo80", "hi80", "lo95", "hi95"]
    assert pred["series_id"].n_unique() == 18  # Somalia's regions
    assert pred.filter(pl.col("lo80") > pl.col("point")).is_empty()
    assert (pred["point"] >= 0).all()


def test_input_and_country_are_exclusive(tmp_path, db_url):
    result = CliRunner().invoke(app, ["forecast", "predict", "--freq", "M", "--horizon", "1", "--output",
                                      str(tmp_path / "p.csv"), "--db", db_url])
    assert result.exit_code == 2
