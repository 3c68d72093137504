"""Country profiles on the synthetic store: every figure is worked out by hand from conftest's files."""

from __future__ import annotations

import pytest

from mobtrack.stats import profiles
from mobtrack.stats.profiles import profile, register_idp_source


def test_immigrants_emigrants_and_partners(loaded):
    p = profile(loaded, "DEU", 2020)
    f = p["figures"]
    assert p["country"]["code"] == "DEU" and p["country"]["m49"] == "276"
    imm = f["immigrant_stock"]
    assert (imm["value"], imm["year"]) == (1547, 2020)
    assert imm["ref"]["rows"] == "6-10" and imm["ref"]["file"] == "undesa_stocks.csv.gz"
    assert imm["source"] == "UN DESA International Migrant Stock 2020" and imm["definition"]
    assert imm["basis"] == "B+R"
    assert [(s["year"], s["value"]) for s in f["immigrant_stock_trend"]["series"]] == [(2015, 870), (2020, 1547)]
    assert (f["immigrant_stock_trend"]["series"][1]["change"], f["immigrant_stock_trend"]["series"][1]["change_pct"]) == (677, 77.8)
    assert [(i["country"], i["value"]) for i in f["top_origins"]["items"]] == [("SYR", 900), ("TUR", 640), ("UNK", 7)]
    assert f["top_origins"]["items"][0]["ref"]["rows"] == "6-7"
    assert (f["emigrant_stock"]["value"], f["emigrant_stock"]["ref"]["rows"]) == (85, "13-14")
    assert f["refugees_hosted"]["value"] == 740 and f["refugees_hosted"]["ref"]["rows"] == "3-4"
    assert f["asylum_seekers_hosted"]["value"] == 55


def test_each_figure_takes_its_sources_latest_year_not_after_the_request(loaded):
    f = profile(loaded, "SYR")["figures"]
    assert (f["refugees_originating"]["value"], f["refugees_originating"]["year"]) == (3700, 2021)
    f2020 = profile(loaded, "SYR", 2020)["figures"]
    assert (f2020["refugees_originating"]["value"], f2020["refugees_originating"]["ref"]["rows"]) == (4200, "2-3")
    assert profile(loaded, "DEU", 2015)["figures"]["immigrant_stock"]["value"] == 870


def test_idps_side_by_side_and_new_displacements(loaded):
    f = profile(loaded, "SYR")["figures"]
    idmc = f["idps"]["idmc"]
    assert (idmc["value"], idmc["year"]) == (7130, 2024)
    assert {c["cause"]: c["value"] for c in idmc["by_cause"]} == {"conflict": 7100, "disaster": 30}
    assert f["idps"]["dtm"] is None and f["idps"]["note"]
    nd = f["new_displacements"]
    assert (nd["value"], nd["year"]) == (90800, 2023)
    assert [(c["cause"], c["value"]) for c in nd["by_cause"]] == [("earthquake", 90000), ("conflict", 800), ("flood", 0)]


def test_a_dtm_source_plugs_in(loaded, monkeypatch):
    monkeypatch.setattr(profiles, "IDP_SOURCES", dict(profiles.IDP_SOURCES))
    register_idp_source("dtm", lambda conn, iso3, year: {"value": 1.0, "year": 2024, "source": "DTM", "definition": "x",
                                                        "ref": {}} if iso3 == "SYR" else None)
    assert profile(loaded, "SYR")["figures"]["idps"]["dtm"]["value"] == 1.0


def test_missing_data_is_said_not_zeroed(loaded):
    p = profile(loaded, "FRA")
    assert p["figures"]["immigrant_stock"] is None and "immigrant_stock" in p["missing"]


def test_names_resolve_and_nonsense_does_not(loaded):
    assert profile(loaded, "Germany")["country"]["code"] == "DEU"
    with pytest.raises(KeyError, match="not a country"):
        profile(loaded, "Atlantis")


def test_total_rows_replace_their_own_sexes_only(engine, tmp_path):
    from mobtrack.stats.load import load_file
    from tests.stats.conftest import write

    text = ("geo,t,cause,sex,age,n\n"
            "SYR,2024,conflict,total,all,1000\nSYR,2024,conflict,female,all,400\nSYR,2024,conflict,male,all,600\n"
            "SYR,2024,disaster,female,all,7\nSYR,2024,disaster,male,all,8\n")
    load_file(engine, write(tmp_path / "idmc_stocks.csv", text))
    idps = profile(engine, "SYR")["figures"]["idps"]["idmc"]
    assert idps["value"] == 1015 and idps["ref"]["rows"] == "2,5-6"
