"""OD matrices from the global stocks, and the contract other sources plug into."""

from __future__ import annotations

import polars as pl
import pytest

from mobtrack.stats import od
from mobtrack.stats.od import ODError, ODQuery, change, net_flows, od_matrix, register_od_source


def test_undesa_top_corridors(loaded):
    m = od_matrix(loaded, "undesa", ODQuery(top=2))
    assert m.columns == ["origin", "destination", "value", "source", "period"]
    assert m.rows() == [("SYR", "TUR", 4100.0, "undesa:2020", "2020"), ("SYR", "DEU", 900.0, "undesa:2020", "2020")]


def test_country_filter_covers_both_directions(loaded):
    m = od_matrix(loaded, "undesa", ODQuery(year=2020, country="deu"))
    assert set(zip(m["origin"], m["destination"], strict=True)) == {("SYR", "DEU"), ("TUR", "DEU"), ("UNK", "DEU"),
                                                                     ("DEU", "TUR")}
    assert m["value"].is_sorted(descending=True)


def test_unhcr_measures_and_worldbank(loaded):
    assert od_matrix(loaded, "unhcr", ODQuery(year=2020, top=1)).rows()[0][:3] == ("SYR", "TUR", 3600.0)
    assert od_matrix(loaded, "unhcr", ODQuery(year=2020, measure="asylum_seekers")).shape[0] == 2
    assert od_matrix(loaded, "worldbank", ODQuery(top=1)).rows()[0][:3] == ("SYR", "TUR", 2500.0)
    with pytest.raises(ODError, match="no measure"):
        od_matrix(loaded, "unhcr", ODQuery(measure="camels"))


def test_wrong_level_and_unknown_source(loaded):
    with pytest.raises(ODError, match="by country only"):
        od_matrix(loaded, "undesa", ODQuery(level="1"))
    with pytest.raises(ODError, match="unknown OD source"):
        od_matrix(loaded, "nope", ODQuery())


def test_no_data_loaded(engine):
    with pytest.raises(ODError, match="no undesa_stock data loaded"):
        od_matrix(engine, "undesa", ODQuery())


def test_plugged_in_sources_must_keep_the_contract(engine, monkeypatch):
    monkeypatch.setattr(od, "OD_SOURCES", dict(od.OD_SOURCES))
    register_od_source("good", lambda conn, q: pl.DataFrame(
        {"origin": ["A"], "destination": ["B"], "value": [1], "source": ["x"], "period": ["2020-01"]}), "test")
    register_od_source("bad", lambda conn, q: pl.DataFrame({"origin": ["A"], "value": [1]}), "test")
    assert od_matrix(engine, "good", ODQuery()).schema["value"] == pl.Float64
    with pytest.raises(ODError, match="destination"):
        od_matrix(engine, "bad", ODQuery())


def test_net_flows_and_change():
    gross = pl.DataFrame({"origin": ["A", "B", "A"], "destination": ["B", "A", "C"], "value": [10.0, 4.0, 3.0]})
    net = net_flows(gross)
    assert net.rows() == [("A", "B", 10.0, 4.0, 6.0), ("A", "C", 3.0, 0.0, 3.0)]
    before = pl.DataFrame({"origin": ["A", "A"], "destination": ["B", "C"], "value": [10.0, 3.0]})
    after = pl.DataFrame({"origin": ["A", "D"], "destination": ["B", "A"], "value": [12.0, 5.0]})
    assert change(before, after).rows() == [("D", "A", 0.0, 5.0, 5.0), ("A", "C", 3.0, 0.0, -3.0),
                                            ("A", "B", 10.0, 12.0, 2.0)]


def test_corridor_series(loaded):
    from mobtrack.stats.od import corridor_series

    assert corridor_series(loaded, "undesa_stock", "syr", "deu").rows() == [(2015, 250.0), (2020, 900.0)]
    assert corridor_series(loaded, "undesa_stock", "FRA", "DEU").is_empty()


def test_a_year_without_data_says_which_years_exist(loaded):
    with pytest.raises(ODError, match=r"no migrant_stock for 1999 \(years loaded: 2015-2020\)"):
        od_matrix(loaded, "undesa", ODQuery(year=1999))
    assert od_matrix(loaded, "undesa", ODQuery(year=2015, country="FRA")).is_empty()  # a real empty answer


def test_with_places_adds_names_and_centroids(loaded):
    from mobtrack.stats.od import with_places

    m = with_places(od_matrix(loaded, "undesa", ODQuery(year=2020, country="DEU")))
    deu = m.filter(pl.col("origin") == "SYR").row(0, named=True)
    assert deu["destination_name"] == "Germany" and 47 < deu["destination_lat"] < 55 and 5 < deu["destination_lon"] < 15
    unk = m.filter(pl.col("origin") == "UNK").row(0, named=True)
    assert unk["origin_name"] == "Unknown" and unk["origin_lat"] is None  # not a place: no arc
    assert m["value"].is_sorted(descending=True)
