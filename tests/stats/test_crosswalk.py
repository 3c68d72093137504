"""The country crosswalk: one code per country whatever system or spelling a source uses."""

from __future__ import annotations

import polars as pl
import pytest

from mobtrack.stats.crosswalk import Crosswalk, normalise_name, read_table


@pytest.fixture(scope="module")
def cw() -> Crosswalk:
    return Crosswalk.default()


@pytest.mark.parametrize(("raw", "key"), [
    ("Côte d'Ivoire", "cote d ivoire"),
    ("COTE D'IVOIRE", "cote d ivoire"),
    ("Bahamas, The", "bahamas"),
    ("St. Kitts and Nevis", "saint kitts and nevis"),
    ("Trinidad & Tobago", "trinidad and tobago"),
    ("  Viet   Nam ", "viet nam"),
])
def test_normalise_name(raw, key):
    assert normalise_name(raw) == key


@pytest.mark.parametrize(("value", "system", "code"), [
    ("AFG", "iso3", "AFG"),
    ("afg", "iso3", "AFG"),
    ("4", "m49", "AFG"),
    ("004", "m49", "AFG"),
    ("4.0", "m49", "AFG"),
    ("AUS", "unhcr", "AUT"),  # UNHCR's AUS is Austria...
    ("AUL", "unhcr", "AUS"),  # ...and AUL Australia
    ("GFR", "unhcr", "DEU"),
    ("Korea, Dem. Rep.", "name", "PRK"),
    ("South Korea", "name", "KOR"),
    ("Gambia, The", "name", "GMB"),
    ("Curacao", "name", "CUW"),
    ("West Bank and Gaza", "name", "PSE"),
    ("Iran (Islamic Rep. of)", "name", "IRN"),
    ("830", "m49", "XCX"),
    ("OOO", "iso3", "UNK"),
    ("STA", "unhcr", "XXA"),
    ("XKX", "iso3", "XKX"),
    ("AB9", "iso3", "AB9"),
])
def test_resolve(cw, value, system, code):
    assert cw.resolve(value, system).code == code


def test_niger_and_nigeria_are_never_confused(cw):
    assert cw.resolve("Niger", "name").code == "NER"
    assert cw.resolve("Nigeria", "name").code == "NGA"
    r = cw.resolve("Nigerai", "name")  # a typo is not guessed...
    assert r.code is None and "no name entry" in r.reason
    assert any(s.startswith("NGA") for s in r.suggestions)  # ...but the report suggests


def test_non_countries_carry_their_reason(cw):
    for code in ("UNK", "XXA", "TIB"):
        r = cw.resolve(code, "iso3")
        assert r.kind == "special" and r.reason


def test_a_name_two_entries_claim_is_ambiguous():
    table = read_table("code,kind,name,iso2,m49,unhcr_code,other_codes,aliases,note\n"
                       "AAA,country,Alpha,,1,,,Congo,\nBBB,country,Beta,,2,,,Congo,\n")
    r = Crosswalk(table).resolve("Congo", "name")
    assert r.code is None and "ambiguous" in r.reason and "AAA" in r.reason and "BBB" in r.reason


def test_unknown_system_is_a_usage_error(cw):
    with pytest.raises(ValueError, match="unknown code system"):
        cw.resolve("AFG", "fips")


def test_mapping_resolves_distinct_values_once(cw):
    out = cw.mapping(pl.Series(["AFG", "AFG", "ZZZ", None]), "iso3").sort("value")
    assert out.rows() == [("AFG", "AFG", None), ("ZZZ", None, "no iso3 entry in the crosswalk")]


def test_table_integrity(cw):
    t = cw.table
    assert t["code"].is_unique().all()
    current = t.filter(pl.col("kind") != "historical")
    m49 = current.filter(pl.col("m49") != "")["m49"]
    assert m49.is_unique().all(), "an M49 code must point at one current entry"
    unhcr = t.filter(pl.col("unhcr_code") != "")["unhcr_code"]
    assert unhcr.is_unique().all()
    countries = t.filter(pl.col("kind") == "country")
    assert (countries["iso2"] != "").all() and (countries["m49"] != "").all()
    others = t.filter(pl.col("kind") != "country")
    assert (others["note"] != "").all(), "every non-ISO entry says why it exists"
    assert len(countries) >= 249


def test_centroids_for_flow_maps(cw):
    places = cw.places().drop_nulls()
    assert len(places) > 170
    assert places["lat"].is_between(-90, 90).all() and places["lon"].is_between(-180, 180).all()
    lat, lon = cw.point("FRA")
    assert 42 < lat < 51 and -5 < lon < 8  # metropolitan France, not pulled towards French Guiana
    assert cw.point("UNK") == (None, None)
