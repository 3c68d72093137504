"""An anonymous client crawls every public API route (from the route table) and never sees a small count.

The store holds small cells (4 people in Baki, 2 men and 2 women), so any route that served figures
without going through mobtrack's suppression would show them here.
"""

import io
import json

import polars as pl
from fastapi.routing import iter_route_contexts

from mobtrack.web.services.protection import threshold
from tests.web.api.test_authorization import AGREEMENT, PATH_VALUES, PUBLIC, REQUIREMENTS

COUNT_FIELDS = {"value", "previous_value", "numPresentIdpInd", "numberMales", "numberFemales"}
VARIANTS = [{}, {"level": 0}, {"level": 1}, {"level": 2}, {"level": 2, "disaggregation": "sex"},
            {"level": 2, "round": 1}, {"level": 2, "latest": "true"}]
FORMATS = ["csv", "hxl", "parquet", "geojson", "xlsx"]


def counts(payload):
    if isinstance(payload, dict):
        for k, v in payload.items():
            if k in COUNT_FIELDS and isinstance(v, int) and not isinstance(v, bool):
                yield v
            else:
                yield from counts(v)
    elif isinstance(payload, list):
        for item in payload:
            yield from counts(item)


def small(values):
    return [v for v in values if 1 <= v <= threshold()]


def test_no_public_route_shows_a_small_count(app, client):
    crawled = 0
    for route in iter_route_contexts(app.routes):
        for method in route.methods or []:
            if method != "GET" or REQUIREMENTS.get((method, route.path)) not in (PUBLIC, AGREEMENT):
                continue
            url = route.path.format(**PATH_VALUES)
            base = {"Operation": PATH_VALUES["operation"]} if url.startswith("/v3/") else {}
            for variant in VARIANTS:
                if url.endswith("/export"):
                    for fmt in FORMATS:
                        r = client.get(url, params={**variant, "format": fmt})
                        if r.status_code == 400 and "format" in r.text:
                            continue  # a format this export does not offer (a profile has no map)
                        assert r.status_code in (200, 404), r.text
                        if fmt == "parquet" and r.status_code == 200:
                            frame = pl.read_parquet(io.BytesIO(r.content))
                            assert small(frame["value"].drop_nulls().to_list()) == [], (url, variant)
                        elif fmt in ("csv", "hxl") and r.status_code == 200:
                            frame = pl.read_csv(io.BytesIO(r.content), infer_schema=False)
                            values = frame["value"].slice(1 if fmt == "hxl" else 0).drop_nulls()
                            assert small([int(v) for v in values.to_list()]) == [], (url, variant, fmt)
                        crawled += 1
                    continue
                r = client.get(url, params={**base, **variant})
                if r.status_code != 200 or "json" not in r.headers.get("content-type", ""):
                    continue
                assert small(list(counts(json.loads(r.text)))) == [], (url, variant)
                crawled += 1
    assert crawled > 30
