"""Flow aggregates and OD matrices (fm, dtm) on generated rounds."""

from __future__ import annotations

import gzip
import json
from datetime import date

import polars as pl
import pytest

from mobtrack.analytics import flows
from mobtrack.pipeline import import_file
from mobtrack.stats.od import OD_SOURCES, ODError, ODQuery, net_flows, od_matrix

COUNTS = """t,fmp,fmp_country,from,to,n
2024-01-02,Kano,NGA,NER,NGA,50
2024-01-20,Kano,NGA,NGA,NER,20
2024-01-03,Sokoto,NGA,NER,NGA,5
2024-02-02,Kano,NGA,NER,NGA,30
2024-02-03,Kano,NGA,NGA,NER,45
2024-01-05,Rosso,SEN,SEN,MRT,8
"""


@pytest.fixture
def fm_engine(tmp_path, db_url):
    path = tmp_path / "fm.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(COUNTS)
    assert import_file(path, db_url=db_url).status == "imported"
    from mobtrack.store.db import get_engine

    return get_engine(db_url)


def test_sources_are_registered_with_the_stats_od_module():
    assert {"fm", "dtm"} <= set(OD_SOURCES)
    from mobtrack.stats.consistency import CHECKS
    from mobtrack.stats.profiles import IDP_SOURCES

    assert "dtm" in IDP_SOURCES and "dtm_vs_idmc" in CHECKS


def test_aggregates_by_point_period_corridor(fm_engine):
    with fm_engine.connect() as conn:
        records = flows.flow_records(conn)
    assert records["value"].sum() == 158
    assert flows.by_point(records).select("point", "value").rows() == [("Kano", 145), ("Rosso", 8), ("Sokoto", 5)]
    assert flows.by_period(records).rows() == [("2024-01", 83), ("2024-02", 75)]
    assert flows.by_corridor(records).rows()[:2] == [("NER", "NGA", 85), ("NGA", "NER", 65)]
    assert dict(flows.by_direction(records).filter(pl.col("country_iso3") == "NGA")
                .select("direction", "value").rows()) == {"incoming": 85, "outgoing": 65}
    with fm_engine.connect() as conn:
        feb = flows.flow_records(conn, country="NGA", date_from=date(2024, 2, 1))
    assert feb["value"].sum() == 75


def test_fm_od_matrix_filters_top_and_period(fm_engine):
    full = od_matrix(fm_engine, "fm", ODQuery())
    assert full.columns == ["origin", "destination", "value", "source", "period"]
    assert full.rows()[0] == ("NER", "NGA", 85.0, "dtm-flow-monitoring", "2024-01..2024-02")
    assert od_matrix(fm_engine, "fm", ODQuery(country="MRT")).select("origin", "value").rows() == [("SEN", 8.0)]
    assert od_matrix(fm_engine, "fm", ODQuery(top=1)).height == 1
    jan = od_matrix(fm_engine, "fm", ODQuery(date_from=date(2024, 1, 1), date_to=date(2024, 1, 31)))
    assert jan["period"].unique().to_list() == ["2024-01"] and jan["value"].sum() == 83
    net = net_flows(full)
    assert net.filter(pl.col("origin") == "NER").select("destination", "net").rows() == [("NGA", 20.0)]
    with pytest.raises(ODError, match="countries only"):
        od_matrix(fm_engine, "fm", ODQuery(level="1"))
    with pytest.raises(ODError, match="level"):
        od_matrix(fm_engine, "fm", ODQuery(level="2"))


def test_change_between_periods(fm_engine):
    with fm_engine.connect() as conn:
        out = flows.fm_change(conn, (date(2024, 1, 1), date(2024, 1, 31)), (date(2024, 2, 1), date(2024, 2, 29)))
    rows = {(r["origin"], r["destination"]): r["change"] for r in out.iter_rows(named=True)}
    assert rows[("NGA", "NER")] == 25 and rows[("NER", "NGA")] == -25 and rows[("SEN", "MRT")] == -8


def test_od_cli_json(fm_engine, db_url):
    from typer.testing import CliRunner

    from mobtrack.cli import app

    out = CliRunner().invoke(app, ["od", "--source", "fm", "--top", "2", "--json", "--db", db_url])
    assert out.exit_code == 0, out.output
    assert [(r["origin"], r["destination"], r["value"]) for r in json.loads(out.stdout)] == [
        ("NER", "NGA", 85.0), ("NGA", "NER", 65.0)]
    bad = CliRunner().invoke(app, ["od", "--source", "fm", "--level", "2", "--db", db_url])
    assert bad.exit_code == 1


DTM_V3 = {"result": [
    # IDPs in district SO1101 (region SO11), by origin region: two rounds, the latest is read
    {"operation": "Somalia BA", "admin0Pcode": "SOM", "assessmentType": "BA", "roundNumber": r,
     "reportingDate": f"2024-0{r}-15", "admin1Pcode": "SO11", "admin1Name": "Awdal", "admin2Pcode": "SO1101",
     "admin2Name": "Borama", "displacementReason": "Conflict", "idpOriginAdmin1Pcode": origin,
     "idpOriginAdmin1Name": name, "numPresentIdpInd": value * r}
    for r in (1, 2) for origin, name, value in (("SO12", "Woqooyi Galbeed", 100), ("SO11", "Awdal", 40))
]}


def test_dtm_od_from_idp_origins(tmp_path, db_url):
    path = tmp_path / "dtm_v3.json"
    path.write_text(json.dumps(DTM_V3))
    assert import_file(path, db_url=db_url).status == "imported"
    from mobtrack.store.db import get_engine

    engine = get_engine(db_url)
    adm1 = od_matrix(engine, "dtm", ODQuery(level="1"))
    assert adm1.select("origin", "destination", "value").rows() == [("SO12", "SO11", 200.0), ("SO11", "SO11", 80.0)]
    assert adm1["period"].unique().to_list() == ["2024-02-15"]
    first = od_matrix(engine, "dtm", ODQuery(level="1", date_to=date(2024, 1, 31)))
    assert first["value"].sum() == 140.0
    # origins are admin1: at admin2 they stay as coded, destinations are districts
    adm2 = od_matrix(engine, "dtm", ODQuery(level="2"))
    assert set(adm2["destination"]) == {"SO1101"} and set(adm2["origin"]) == {"SO11", "SO12"}
    assert od_matrix(engine, "dtm", ODQuery()).rows()[0][:3] == ("SOM", "SOM", 280.0)
    with pytest.raises(ODError):
        od_matrix(engine, "dtm", ODQuery(year=2019))
    with engine.connect() as conn:
        fig = flows.dtm_idps(conn, "SOM", None)
        assert (fig["value"], fig["year"], fig["ref"]["round"]) == (280.0, 2024, 2)
        assert flows.dtm_idps(conn, "SOM", 2023) is None and flows.dtm_idps(conn, "SSD", None) is None
        assert flows.dtm_vs_idmc(conn) is None  # no IDMC release loaded: nothing to compare


def test_flows_cli(fm_engine, db_url):
    from typer.testing import CliRunner

    from mobtrack.cli import app

    out = CliRunner().invoke(app, ["flows", "--by", "point", "--country", "NGA", "--json", "--db", db_url])
    assert out.exit_code == 0, out.output
    assert [(r["point"], r["value"]) for r in json.loads(out.stdout)] == [("Kano", 145), ("Sokoto", 5)]
    assert CliRunner().invoke(app, ["flows", "--by", "week", "--db", db_url]).exit_code == 2
    assert CliRunner().invoke(app, ["flows", "--country", "MLI", "--db", db_url]).exit_code == 1


def test_dtm_vs_idmc_check(tmp_path, db_url):
    from mobtrack.stats.consistency import consistency
    from mobtrack.stats.load import load_file
    from mobtrack.store.db import get_engine

    dtm = tmp_path / "dtm_v3.json"
    dtm.write_text(json.dumps(DTM_V3))
    assert import_file(dtm, db_url=db_url).status == "imported"
    engine = get_engine(db_url)
    idmc = tmp_path / "idmc_stocks.csv"
    idmc.write_text("geo,t,cause,sex,age,n\nSOM,2024,conflict,unknown,unknown,300\nSOM,2024,disaster,unknown,"
                    "unknown,20\nSSD,2024,conflict,unknown,unknown,50\n")
    assert load_file(engine, idmc).status == "loaded"
    out = consistency(engine, ["dtm_vs_idmc"])
    # DTM's newest 2024 round (280 IDPs) against IDMC's 320
    assert [(r["country"], r["year"], r["a_value"], r["b_value"], r["gap"]) for r in out["rows"]] == [
        ("SOM", 2024, 280.0, 320.0, -40.0)]
