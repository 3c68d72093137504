"""The flows page and /api/v1/od: the figures drawn are the OD functions' figures, and what anonymous
visitors see of DTM counts went through small-count suppression (no arc, band or cell for a hidden one)."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient

from mobtrack.pipeline import import_file
from mobtrack.stats.od import ODQuery, od_matrix
from mobtrack.web.services import flows as service
from mobtrack.web.services.principal import ANONYMOUS, Principal

# Made-up flow-monitoring tallies: NGA points in Jan-Mar 2024 (March stays unpublished), one SEN point.
COUNTS = """t,fmp,fmp_country,from,to,n
2024-01-02,Kano,NGA,NER,NGA,50
2024-01-20,Kano,NGA,NGA,NER,20
2024-01-03,Sokoto,NGA,NER,NGA,35
2024-01-09,Kano,NGA,TCD,NGA,4
2024-02-02,Kano,NGA,NER,NGA,30
2024-02-03,Kano,NGA,NGA,NER,45
2024-02-07,Kano,NGA,TCD,NGA,60
2024-03-02,Kano,NGA,NER,NGA,900
2024-01-05,Rosso,SEN,SEN,MRT,300
2024-02-05,Rosso,SEN,SEN,MRT,280
2024-02-05,Rosso,SEN,MLI,MRT,7
"""
ADMIN = Principal(user_id=1, username="root", role="admin", operations=frozenset({"*"}))
SMALL = ("TCD", "NGA")  # 4 in January: hidden from the public in January, and so in any sum with it
DTM_V3 = {"result": [
    {"operation": "Somalia BA", "admin0Pcode": "SOM", "assessmentType": "BA", "roundNumber": 1,
     "reportingDate": "2024-01-15", "admin1Pcode": "SO11", "admin1Name": "Awdal", "admin2Pcode": pcode,
     "admin2Name": name, "displacementReason": "Conflict", "idpOriginAdmin1Pcode": origin,
     "idpOriginAdmin1Name": origin_name, "numPresentIdpInd": value}
    for pcode, name, origin, origin_name, value in (
        ("SO1101", "Borama", "SO12", "Woqooyi Galbeed", 400), ("SO1101", "Borama", "SO11", "Awdal", 150),
        ("SO1102", "Baki", "SO12", "Woqooyi Galbeed", 220), ("SO1102", "Baki", "SO13", "Togdheer", 3))
]}


@pytest.fixture(scope="module")
def flow_store(module_db_url, tmp_path_factory):
    from sqlalchemy import select

    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import publish
    from mobtrack.store.schema import operation, round_
    from mobtrack.web.services import accounts

    folder = tmp_path_factory.mktemp("flows")
    upgrade(module_db_url)
    path = folder / "fm.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(COUNTS)
    assert import_file(path, db_url=module_db_url).status == "imported"
    v3 = folder / "dtm_v3.json"
    v3.write_text(json.dumps(DTM_V3))
    assert import_file(v3, db_url=module_db_url).status == "imported"
    engine = get_engine(module_db_url)
    with engine.begin() as conn:
        for name, number in conn.execute(select(operation.c.name, round_.c.number)
                                         .join(round_, round_.c.operation_id == operation.c.id)).all():
            if number != 202403:
                publish(conn, name, number)
        made = accounts.add_user(conn, "flow-admin", "plum orchard velvet 77 ladder", "admin", "Test org")
        token = accounts.create_token(conn, made.id, "tests")
    from mobtrack.web.app import create_app

    app = create_app(module_db_url, secure_cookies=False, upload_dir=tmp_path_factory.mktemp("uploads"))
    return {"engine": engine, "app": app, "admin_token": token}


@pytest.fixture
def client(flow_store):
    with TestClient(flow_store["app"]) as c:
        yield c


def admin_headers(flow_store):
    return {"Authorization": f"Bearer {flow_store['admin_token']}"}


def drawn(html: str, kind: str) -> dict[tuple[str, str], float]:
    """(origin, destination) -> value of every arc (`kind="arcs"`) or Sankey band (`"bands"`) in the page."""
    group = re.search(rf'<g class="{kind}">(.*?)</g>', html, re.S)
    out = {}
    for key, value in re.findall(r'data-key="([^"]+)"[^>]*?data-value="([^"]*)"', group.group(1) if group else ""):
        origin, destination = key.replace("&gt;", ">").split(">")
        out[(origin, destination)] = float(value)
    return out


def test_raw_view_equals_the_od_function(flow_store):
    engine = flow_store["engine"]
    for q in (ODQuery(), ODQuery(year=2024), ODQuery(date_from=date(2024, 2, 1), date_to=date(2024, 3, 31)),
              ODQuery(country="MRT"), ODQuery(top=2)):
        expected = od_matrix(engine, "fm", q).select("origin", "destination", "value", "period")
        with engine.connect() as conn:
            got = service.od(conn, ADMIN, "fm", q).rows
        assert got.select("origin", "destination", "value", "period").equals(expected), q
        assert not got["suppressed"].any()


def test_page_draws_the_od_function_values(flow_store, client):
    expected = {(r["origin"], r["destination"]): r["value"]
                for r in od_matrix(flow_store["engine"], "fm", ODQuery(top=15)).iter_rows(named=True)}
    html = client.get("/flows?source=fm", headers=admin_headers(flow_store)).text
    arcs, bands = drawn(html, "arcs"), drawn(html, "bands")
    assert arcs == expected == bands
    assert expected[("NER", "NGA")] == 1015  # March (unpublished) is in: an admin reads everything
    # widths are proportional to the values: the largest corridor gets the widest stroke
    width = re.search(r'stroke-width="([\d.]+)"[^>]*data-key="NER&gt;NGA"', html)
    assert float(width.group(1)) == 14.0


def test_anonymous_sees_published_months_with_small_counts_hidden(flow_store, client):
    engine = flow_store["engine"]
    with engine.connect() as conn:
        jan = service.od(conn, ANONYMOUS, "fm", ODQuery(date_from=date(2024, 1, 1), date_to=date(2024, 1, 31))).rows
        everything = service.od(conn, ANONYMOUS, "fm", ODQuery()).rows
    cell = jan.filter((pl.col("origin") == SMALL[0]) & (pl.col("destination") == SMALL[1])).row(0, named=True)
    assert cell["suppressed"] and cell["value"] is None
    # the two visible months together: shown (64 is not small), and March (unpublished) is not in it
    total = everything.filter((pl.col("origin") == "NER") & (pl.col("destination") == "NGA"))["value"].item()
    assert total == 115
    assert everything.filter(pl.col("origin") == SMALL[0])["value"].item() == 64
    shown = jan.filter(~pl.col("suppressed"))
    raw = {(r["origin"], r["destination"]): r["value"] for r in od_matrix(
        engine, "fm", ODQuery(date_from=date(2024, 1, 1), date_to=date(2024, 1, 31))).iter_rows(named=True)}
    for r in shown.iter_rows(named=True):  # what is shown is exact
        assert raw[(r["origin"], r["destination"])] == r["value"]

    html = client.get("/flows?source=fm&from=2024-01&to=2024-01").text
    arcs, bands = drawn(html, "arcs"), drawn(html, "bands")
    hidden = {(r["origin"], r["destination"]) for r in jan.filter(pl.col("suppressed")).iter_rows(named=True)}
    assert SMALL in hidden
    assert not hidden & set(arcs) and not hidden & set(bands)  # no width for a hidden corridor
    assert arcs == {k: v for k, v in raw.items() if k not in hidden}
    assert "suppressed" in html and ">4<" not in html

    api = client.get("/api/v1/od", params={"source": "fm", "from": "2024-01", "to": "2024-01"}).json()
    assert api["protected"] is True
    row = next(r for r in api["data"] if (r["origin"], r["destination"]) == SMALL)
    assert row["value"] is None and row["suppressed"] is True
    assert api["data"][-1]["suppressed"]  # hidden corridors sort last: their place says nothing of their size


def test_a_period_is_hidden_when_any_of_its_months_is(flow_store):
    # SEN->MRT: 300 then 280. MLI->MRT: 7 in February only. Suppressing 7 forces a second hidden cell in
    # February's relations; whatever the protection chose, a sum over months hides what it cannot show.
    with flow_store["engine"].connect() as conn:
        view = next(v for v, _ in service._views(conn, ANONYMOUS, service._flow_rounds(conn, None))
                    if v.country_iso3 == "SEN")
        visible = service.catalogue.rounds(conn, view)
        cells = service.protected_fm_cells(conn, view, visible)
        months = cells.filter(pl.col("level") == 2, pl.col("round").is_not_null())
        feb = service.od(conn, ANONYMOUS, "fm", ODQuery(year=2024, country="SEN")).rows
    mli = months.filter(pl.col("corridor").str.starts_with("MLI"))
    assert mli["suppressed"].all()
    for r in feb.iter_rows(named=True):
        parts = months.filter(pl.col("corridor") == f"{r['origin']}{service.SEP}{r['destination']}")
        assert r["suppressed"] == parts["suppressed"].any()


def test_net_flows_and_change(flow_store, client):
    body = client.get("/api/v1/od/corridors", params={"source": "fm", "from": "2024-02", "to": "2024-02"},
                      headers=admin_headers(flow_store)).json()
    rows = {(r["origin"], r["destination"]): r for r in body["data"]}
    assert body["compared_with"] == "2024-01-01..2024-01-31"
    assert rows[("NGA", "NER")]["net"] == 45 - 30 and rows[("NER", "NGA")]["net"] == 30 - 45
    assert rows[("NER", "NGA")]["before"] == 85 and rows[("NER", "NGA")]["change"] == 30 - 85
    assert rows[("MLI", "MRT")]["before"] == 0 and rows[("MLI", "MRT")]["reverse"] == 0
    anon = client.get("/api/v1/od/corridors", params={"source": "fm", "from": "2024-02", "to": "2024-02"}).json()
    small = next(r for r in anon["data"] if (r["origin"], r["destination"]) == SMALL)
    # January's 4 is hidden; the total of both months (64) is published, so February's 60 is hidden too
    # (or 64 - 60 would give the 4 away)
    assert small["value"] is None and small["before"] is None and small["change"] is None


def test_dtm_origins_page_and_protection(flow_store, client):
    engine = flow_store["engine"]
    expected = od_matrix(engine, "dtm", ODQuery(level="1"))
    with engine.connect() as conn:
        raw = service.od(conn, ADMIN, "dtm", ODQuery(level="1")).rows
        public = service.od(conn, ANONYMOUS, "dtm", ODQuery(level="1")).rows
    assert raw.select("origin", "destination", "value").equals(expected.select("origin", "destination", "value"))
    togdheer = public.filter(pl.col("origin") == "SO13").row(0, named=True)
    assert togdheer["suppressed"] and togdheer["value"] is None
    html = client.get("/flows?source=dtm&level=1").text
    assert ("SO13", "SO11") not in drawn(html, "bands")
    assert drawn(html, "bands") == {(r["origin"], r["destination"]): r["value"]
                                    for r in public.filter(~pl.col("suppressed")).iter_rows(named=True)}


def test_global_statistics_pass_through(flow_store, client, tmp_path):
    from mobtrack.stats.load import load_file
    from tests.stats.conftest import UNDESA

    path = tmp_path / "undesa.csv"
    path.write_text(UNDESA)
    load_file(flow_store["engine"], path)
    expected = od_matrix(flow_store["engine"], "undesa", ODQuery(year=2020, top=15))
    html = client.get("/flows?source=undesa&year=2020").text
    assert drawn(html, "bands") == {(r["origin"], r["destination"]): r["value"] for r in expected.iter_rows(named=True)
                                    if r["value"] > 0}
    body = client.get("/api/v1/od/corridors", params={"source": "undesa", "year": "2020"}).json()
    assert body["compared_with"] == "2015" and body["protected"] is False
    syr = next(r for r in body["data"] if (r["origin"], r["destination"]) == ("SYR", "DEU"))
    assert (syr["value"], syr["before"], syr["change"]) == (900, 250, 650)


@pytest.mark.parametrize("query, status", [("source=nope", 400), ("year=20x4", 400), ("year=2024&from=2024-01", 400),
                                           ("level=3", 400), ("from=2024-13", 400),
                                           ("year=0000", 400), ("compare=0000", 400), ("to=2024-02-30", 400)])
def test_bad_requests(client, query, status):
    api = client.get(f"/api/v1/od/corridors?{query}")
    assert api.status_code in (status, 422) and api.json()["ok"] is False
    page = client.get(f"/flows?{query}", headers={"accept": "text/html"})
    assert page.status_code in (status, 422)


def test_navigation_links_to_flows(client):
    html = client.get("/flows").text
    assert 'href="/flows" aria-current="page"' in html
    assert len(html.encode()) < 1_000_000


def test_operation_pages_link_to_their_flows(client):
    from urllib.parse import quote

    fm = client.get(f"/dashboard?operation={quote('DTM flow monitoring NGA')}&level=1").text
    assert 'href="/flows?source=fm&amp;country=NGA"' in fm
    idps = client.get(f"/dashboard?operation={quote('Somalia BA')}&level=1").text
    assert 'href="/flows?source=dtm&amp;level=1&amp;country=SOM"' in idps


def test_profile_api_shows_the_callers_view_of_dtm(flow_store, client, tmp_path):
    # Round 2 of the Somalia operation, not published: the public keeps round 1's figure.
    second = {"result": [{**r, "roundNumber": 2, "reportingDate": "2024-02-15",
                          "numPresentIdpInd": r["numPresentIdpInd"] * 2} for r in DTM_V3["result"]]}
    path = tmp_path / "round2.json"
    path.write_text(json.dumps(second))
    assert import_file(path, db_url=str(flow_store["engine"].url)).status == "imported"
    public = client.get("/api/v1/profiles/SOM").json()["data"]
    dtm = public["figures"]["idps"]["dtm"]
    assert (dtm["value"], dtm["ref"]["round"], dtm["suppressed"]) == (773.0, 1, False)
    assert public["links"]["idp_origins"] == "/flows?source=dtm&level=1&country=SOM"
    assert 'href="/profile?country=SOM"' in client.get(public["links"]["idp_origins"]).text  # and back
    raw = client.get("/api/v1/profiles/Somalia", headers=admin_headers(flow_store)).json()["data"]
    assert raw["figures"]["idps"]["dtm"]["value"] == 1546.0 and raw["figures"]["idps"]["dtm"]["ref"]["round"] == 2
    from mobtrack.analytics.flows import dtm_idps

    with flow_store["engine"].connect() as conn:  # the command line's figure, which reads every round
        assert dtm_idps(conn, "SOM", None)["value"] == raw["figures"]["idps"]["dtm"]["value"]
    assert client.get("/api/v1/profiles/XYZ").status_code == 404


def test_world_outlines_are_a_clipped_backdrop():
    from mobtrack.web.pages import _world

    around_niger = _world.within((0.0, 11.0, 16.0, 24.0))
    assert {"NER", "NGA", "TCD", "DZA", "MLI"} <= set(around_niger)
    assert "FRA" not in around_niger
    minx, miny, maxx, maxy = around_niger["DZA"][1].bounds
    assert minx >= 0.0 and miny >= 11.0 and maxx <= 16.0 and maxy <= 24.0  # clipped to the box


SURVEY_HEADER = "t,fmp,direction,nationality,sex,age,origin,origin_adm1,destination,destination_adm1\n"


def test_survey_admin1_and_country_matrices_are_one_protected_table(db_url, tmp_path):
    """Admin1 corridors (surveys) sum to country corridors: a shown country corridor never has exactly one
    hidden admin1 corridor in it, or the difference would give it away."""
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import publish

    rows = (["2024-01-10,Islam Qala,inflow,AFG,male,18-59,IRN,Tehran,AFG,Herat"] * 40
            + ["2024-01-11,Islam Qala,inflow,AFG,female,18-59,IRN,Tehran,AFG,Kabul"] * 3
            + ["2024-01-12,Islam Qala,inflow,AFG,male,18-59,IRN,Khorasan,AFG,Herat"] * 30
            + ["2024-01-12,Torkham,inflow,AFG,male,18-59,PAK,Punjab,AFG,Nangarhar"] * 25)
    path = tmp_path / "fms.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(SURVEY_HEADER + "".join(r + "\n" for r in rows))
    upgrade(db_url)
    assert import_file(path, db_url=db_url).status == "imported"
    engine = get_engine(db_url)
    with engine.begin() as conn:
        publish(conn, "DTM flow monitoring survey AFG", 202401)
    with engine.connect() as conn:
        raw = service.od(conn, ADMIN, "fm", ODQuery(level="1")).rows
        admin1 = service.od(conn, ANONYMOUS, "fm", ODQuery(level="1")).rows
        country = service.od(conn, ANONYMOUS, "fm", ODQuery()).rows
    expected = od_matrix(engine, "fm", ODQuery(level="1"))
    assert raw.select("origin", "destination", "value").equals(expected.select("origin", "destination", "value"))
    kabul = admin1.filter(pl.col("destination") == "AFG:Kabul").row(0, named=True)
    assert kabul["suppressed"] and kabul["value"] is None
    truth = {(r["origin"], r["destination"]): r["value"] for r in expected.iter_rows(named=True)}
    for r in admin1.filter(~pl.col("suppressed")).iter_rows(named=True):
        assert truth[(r["origin"], r["destination"])] == r["value"]
    for c in country.filter(~pl.col("suppressed")).iter_rows(named=True):
        parts = admin1.filter(pl.col("origin").str.starts_with(c["origin"] + ":")
                              & pl.col("destination").str.starts_with(c["destination"] + ":"))
        assert parts["suppressed"].sum() != 1, (c, parts)


def test_corridors_with_an_unknown_end_keep_their_reverse_and_change():
    rows = pl.DataFrame({"origin": [None, "NGA"], "destination": ["NGA", None], "value": [30.0, 12.0],
                         "suppressed": [False, False]})
    out = service.change(service.net(rows), rows.with_columns(pl.col("value") - 10))
    assert out.select("reverse", "net", "before", "change").rows() == [(12.0, 18.0, 20.0, 10.0), (30.0, -18.0, 2.0, 10.0)]


def test_profile_page_shows_the_profile_figures(flow_store, client, tmp_path):
    from mobtrack.stats.load import load_file
    from mobtrack.stats.profiles import profile
    from tests.stats.conftest import UNDESA

    path = tmp_path / "undesa.csv"
    path.write_text(UNDESA)
    load_file(flow_store["engine"], path)  # idempotent: the same content loads once
    expected = profile(flow_store["engine"], "DEU")["figures"]
    html = client.get("/profile?country=Germany").text
    shown = dict(re.findall(r'<tr data-figure="([a-z_]+)">.*?data-value="([^"]*)"', html, re.S))
    assert float(shown["immigrant_stock"]) == expected["immigrant_stock"]["value"] == 1547
    assert shown["refugees_hosted"] == ""  # no UNHCR table loaded: said, not zero
    assert "rows " in html and 'href="/flows?source=undesa&amp;country=DEU"' in html
    som = client.get("/profile?country=SOM").text
    dtm = re.search(r'<tr data-figure="idps_dtm">.*?data-value="([^"]*)"', som, re.S).group(1)
    assert float(dtm) == client.get("/api/v1/profiles/SOM").json()["data"]["figures"]["idps"]["dtm"]["value"]
    assert client.get("/profile?country=Atlantis", headers={"accept": "text/html"}).status_code == 404
    assert client.get("/profile?country=SOM&year=x", headers={"accept": "text/html"}).status_code == 400


def test_profile_export_has_one_row_per_figure_with_its_source_rows(flow_store, client, tmp_path):
    import io

    from mobtrack.stats.load import load_file
    from mobtrack.stats.profiles import profile
    from tests.stats.conftest import UNDESA

    path = tmp_path / "undesa.csv"
    path.write_text(UNDESA)
    load_file(flow_store["engine"], path)
    expected = profile(flow_store["engine"], "DEU")["figures"]
    answer = client.get("/api/v1/profiles/Germany/export?format=csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="profile-deu.csv"' in answer.headers["content-disposition"]
    rows = pl.read_csv(io.BytesIO(answer.content), infer_schema_length=None)
    stock = rows.filter((pl.col("figure") == "immigrant_stock") & pl.col("partner").is_null())
    assert stock["value"].to_list() == [expected["immigrant_stock"]["value"]]
    assert stock["source_rows"][0] == expected["immigrant_stock"]["ref"]["rows"]
    assert stock["source_sha256"][0] == expected["immigrant_stock"]["ref"]["sha256"]
    trend = rows.filter(pl.col("figure") == "immigrant_stock_trend").sort("year")
    assert trend["value"].to_list() == [p["value"] for p in expected["immigrant_stock_trend"]["series"]]
    top = rows.filter(pl.col("figure") == "top_origins")
    assert top.select("partner", "value").rows() == [(i["country"], i["value"])
                                                     for i in expected["top_origins"]["items"]]
    # the DTM figure is the caller's view, as on the page and in the API
    som = pl.read_csv(io.BytesIO(client.get("/api/v1/profiles/SOM/export").content), infer_schema_length=None)
    dtm = som.filter(pl.col("figure") == "idps_dtm")["value"].to_list()
    assert dtm == [client.get("/api/v1/profiles/SOM").json()["data"]["figures"]["idps"]["dtm"]["value"]]
    assert client.get("/api/v1/profiles/SOM/export?format=xlsx").content[:2] == b"PK"
    assert client.get("/api/v1/profiles/XYZ/export").status_code == 404
    assert client.get("/api/v1/profiles/SOM/export?format=exe").status_code == 400
    assert 'href="/api/v1/profiles/DEU/export?format=csv"' in client.get("/profile?country=DEU").text
