from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

import mobtrack.protect.tables  # noqa: F401
from mobtrack.protect import agreements, auditlog, microdata
from mobtrack.protect.gate import export_microdata


def records(n_groups=6, size=6):
    rows = []
    for g in range(n_groups):
        for i in range(size):
            rows.append({"district": f"D{g}", "sex": "f" if i % 2 else "m", "age": 20 + i,
                         "need": ["food", "shelter", "health"][i % 3], "full_name": f"person {g}-{i}",
                         "phone_number": "+000"})
    return pl.DataFrame(rows)


def test_k_and_l_on_known_groups():
    df = pl.DataFrame({"a": ["x", "x", "x", "y", "y"], "s": ["p", "q", "p", "p", "p"]})
    assert microdata.k_anonymity(df, ["a"]) == 2
    assert microdata.l_diversity(df, ["a"], "s") == 1


def test_individual_risk_matches_sdcmicro_formulas():
    # one record standing for a population of 4 (p = 1/4): p/(1-p) ln(1/p)
    df = pl.DataFrame({"a": ["x", "y", "y"], "w": [4.0, 5.0, 5.0]})
    risk = microdata.individual_risk(df, ["a"], weight="w").to_list()
    p = 0.25
    assert risk[0] == pytest.approx(p / (1 - p) * math.log(1 / p))
    p2 = 0.2
    assert risk[1] == pytest.approx(p2 / (1 - p2) - (p2 / (1 - p2)) ** 2 * math.log(1 / p2))
    # no weights (a census): risk is 1/f
    assert microdata.individual_risk(df, ["a"]).to_list() == [1.0, 0.5, 0.5]
    assert microdata.global_risk(df, ["a"]) == pytest.approx(2 / 3)


def test_recoding_and_local_suppression_reach_k():
    df = records().with_columns(pl.col("age").cast(pl.Int64))
    assert microdata.k_anonymity(df, ["district", "sex", "age"]) == 1
    banded = microdata.recode_bands(df, "age", [18, 60], ["0-17", "18-59", "60+"])
    assert banded["age"].unique().to_list() == ["18-59"]
    assert microdata.k_anonymity(banded, ["district", "sex", "age"]) == 3
    out, done = microdata.local_suppression(banded.head(32), ["district", "sex", "age"], k=3,
                                            importance=["district", "sex", "age"])
    assert microdata.k_anonymity(out, ["district", "sex", "age"]) >= 3 and done["values_blanked"] > 0
    assert out.height + done["records_removed"] == 32
    assert microdata.recode_bands(pl.DataFrame({"a": [3, 18, 70, None]}), "a", [18, 60])["a"].to_list() == [
        "<18", "18-60", "60+", None]
    capped = microdata.top_code(pl.DataFrame({"hh": [3, 25]}), "hh", 12)
    assert capped["hh"].to_list() == [3, 12]
    merged = microdata.recode_categories(pl.DataFrame({"r": ["flood", "storm", "conflict"]}), "r",
                                         {"flood": "climate", "storm": "climate"})
    assert merged["r"].to_list() == ["climate", "climate", "conflict"]


def test_export_gate(engine):
    df = records(n_groups=40, size=10)
    banded = microdata.recode_bands(df, "age", [18, 60])
    # passes the thresholds: k=5 per (district, sex), l=3, risk 1/5 ... too high -> refused
    with pytest.raises(agreements.AccessDenied, match="global re-identification risk"):
        export_microdata(engine, banded, dataset="op:1/reg", quasi_identifiers=["district", "sex"],
                         sensitive="need", actor="bo", organisation="NGO", purpose="cash targeting")
    # with sampling weights (1 record stands for 100 people) the risk is low: exported, names gone
    weighted = banded.with_columns(pl.lit(100.0).alias("w"))
    out, decision = export_microdata(engine, weighted, dataset="op:1/reg", quasi_identifiers=["district", "sex"],
                                     sensitive="need", weight="w", actor="bo", organisation="NGO",
                                     purpose="cash targeting")
    assert decision.allowed and decision.basis == "risk_thresholds"
    assert "full_name" not in out.columns and "phone_number" not in out.columns
    # under an agreement even a risky file may go, and the basis is recorded
    aid = agreements.create_agreement(engine, partner_org="NGO", purpose="cash targeting", datasets=["op:1/reg"],
                                      max_sensitivity="sensitive", expires_on=date.today() + timedelta(days=9))
    _, decision = export_microdata(engine, df, dataset="op:1/reg", quasi_identifiers=["district", "sex", "age"],
                                   actor="bo", organisation="NGO", purpose="cash targeting")
    assert decision.basis == f"agreement:{aid}" and decision.risk.k == 1
    actions = [e["action"] for e in auditlog.entries(engine)]
    assert actions.count("microdata.export") == 2 and actions.count("microdata.export.denied") == 1
