"""Cross-source consistency on the synthetic store."""

from __future__ import annotations

import pytest

from mobtrack.stats.consistency import consistency


def test_unhcr_republished_idmc_vs_idmc(loaded):
    out = consistency(loaded, ["unhcr_idmc_vs_idmc"])
    rows = {(r["country"], r["year"]): r for r in out["rows"]}
    assert set(rows) == {("SYR", 2024), ("NGA", 2024)}
    syr, nga = rows["SYR", 2024], rows["NGA", 2024]
    assert (syr["a_value"], syr["b_value"], syr["gap"], syr["gap_pct"]) == (7200, 7100, 100, 1.41)
    assert (nga["gap"], nga["gap_pct"]) == (-300, -9.09)
    assert out["rows"][0]["country"] == "NGA"  # largest gap first
    summary = out["checks"][0]
    # SYR 2023 exists only in UNHCR's table, but IDMC has no 2023 here: not counted as missing
    assert (summary["compared"], summary["agree"], summary["disagree"], summary["only_in_a"]) == (2, 0, 2, 0)


def test_checks_without_their_sources_are_skipped(engine):
    out = consistency(engine)
    assert out["rows"] == [] and "unhcr_idmc_vs_idmc" in out["skipped"]


def test_unknown_check(loaded):
    with pytest.raises(KeyError, match="unknown check"):
        consistency(loaded, ["made_up"])


def test_a_dtm_check_plugs_in(loaded, monkeypatch):
    import polars as pl

    from mobtrack.stats import consistency as module
    from mobtrack.stats.consistency import CheckResult, register_check

    monkeypatch.setattr(module, "CHECKS", dict(module.CHECKS))

    def dtm_vs_idmc(conn):
        dtm = pl.DataFrame({"country": ["SYR"], "year": [2024], "value": [6000.0]})
        idmc = pl.DataFrame({"country": ["SYR"], "year": [2024], "value": [7100.0]})
        return module.compare("dtm_vs_idmc", dtm, idmc, "DTM admin 0", "IDMC", "different dates and coverage")

    register_check("dtm_vs_idmc", dtm_vs_idmc, "DTM latest admin-0 IDPs vs IDMC")
    out = consistency(loaded, ["dtm_vs_idmc"])
    assert isinstance(dtm_vs_idmc(None), CheckResult)
    assert [(r["country"], r["gap"], r["gap_pct"]) for r in out["rows"]] == [("SYR", -1100.0, -15.49)]
