"""Operations, rounds with provenance, locations as GeoJSON, the OpenAPI document and docs page."""

from shapely.geometry import Polygon, shape
from sqlalchemy import update

from mobtrack.store.schema import location
from tests.web.conftest import OPERATION, bearer


def test_operations_and_rounds_by_visibility(client, store):
    public = {o["name"]: o for o in client.get("/api/v1/operations").json()["data"]}
    assert public[OPERATION]["published_rounds"] == 1
    rounds = client.get(f"/api/v1/operations/{OPERATION}/rounds").json()["data"]
    assert [r["round"] for r in rounds] == [1] and rounds[0]["source_file"] == "r1.csv"
    inside = client.get(f"/api/v1/operations/{OPERATION}/rounds", headers=bearer(store, "viewer")).json()["data"]
    assert [(r["round"], r["status"]) for r in inside] == [(1, "published"), (2, "validated")]
    one = client.get(f"/api/v1/operations/{OPERATION}/rounds/2", headers=bearer(store, "analyst")).json()["data"][0]
    assert one["quality"]["blocking"] == 0


def test_an_operation_without_published_rounds_does_not_exist_for_the_public(client, store):
    r = client.get("/api/v1/operations/Other country operation/rounds", headers=bearer(store, "viewer"))
    assert r.status_code == 200  # published there, so visible
    assert client.get("/api/v1/operations/Nothing here").status_code == 404


def test_locations_geojson_is_simplified_on_request(client, app):
    square = Polygon([(43 + i / 1000, 9 + (i % 7) / 1000) for i in range(400)] + [(43.4, 9.4), (43, 9.4)])
    with app.state.engine.begin() as conn:
        conn.execute(update(location).where(location.c.pcode == "SO1101").values(geometry=square.wkb))
    full = client.get("/api/v1/locations/SOM", params={"level": 2, "simplify": "full", "pcode": "SO1101"}).json()
    low = client.get("/api/v1/locations/SOM", params={"level": 2, "simplify": "low", "pcode": "SO1101"}).json()
    assert full["type"] == "FeatureCollection" and full["features"][0]["properties"]["pcode"] == "SO1101"
    n_full = len(full["features"][0]["geometry"]["coordinates"][0])
    n_low = len(low["features"][0]["geometry"]["coordinates"][0])
    assert n_low < n_full / 10
    assert shape(low["features"][0]["geometry"]).area > 0.5 * square.area
    assert client.get("/api/v1/locations/SOM", params={"simplify": "tiny"}).status_code == 400


def test_openapi_and_docs(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/operations/{operation}/figures" in spec["paths"]
    assert "/v3/displacement/admin2" in spec["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    assert "cdn" not in docs.text.lower()  # nothing from a CDN at run time


def test_security_headers(client):
    r = client.get("/api/v1/operations")
    assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'none'" in r.headers[
        "content-security-policy"]
