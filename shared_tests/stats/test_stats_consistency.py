"""UNHCR's republished IDMC figures against IDMC's own, recomputed from the raw files."""

from __future__ import annotations

import polars as pl
import pytest

from mobtrack.stats.consistency import consistency


def test_unhcr_idmc_vs_idmc_gaps_match_raw(stats_store, shared_data):
    engine, _ = stats_store
    out = consistency(engine, ["unhcr_idmc_vs_idmc"])
    s = shared_data / "stats"
    unhcr = (pl.read_csv(s / "unhcr/idmc.csv").group_by("coa_iso", "year").agg(pl.col("total").sum())
             .rename({"coa_iso": "country"}))
    idmc = (pl.read_csv(s / "idmc/idmc_stocks.csv").filter(pl.col("cause") == "conflict")
            .group_by("geo", "t").agg(pl.col("n").sum()).rename({"geo": "country", "t": "year"}))
    both = unhcr.join(idmc, on=["country", "year"])
    assert len(out["rows"]) == len(both) > 20
    expected = {(r["country"], r["year"]): r["total"] - r["n"] for r in both.iter_rows(named=True)}
    got = {(r["country"], r["year"]): r["gap"] for r in out["rows"]}
    assert got == pytest.approx(expected)
    gaps = [abs(r["gap"]) for r in out["rows"]]
    assert gaps == sorted(gaps, reverse=True)
