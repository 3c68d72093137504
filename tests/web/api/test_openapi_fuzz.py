"""Schemathesis fuzzes every operation of the OpenAPI document in-process, anonymous and with a token.

The document (/api/v1/openapi.json) covers /api/v1 and the DTM-compatible /v3 routes. The app is the
shared web store (tests/web/conftest.py: a Somalia operation with a small cell and an unpublished
round, an operation in Kenya, one user per role), on SQLite, or on PostgreSQL when
MOBTRACK_TEST_DATABASE_URL is set. Every built-in check runs: no 5xx, only declared status codes,
content types and headers, bodies that match their declared schemas, schema-invalid input rejected
and schema-valid input accepted.

Bounded for CI: hypothesis is derandomized (the same cases on every run) and each operation gets
MAX_EXAMPLES valid and MAX_EXAMPLES invalid cases per caller, and as many again with its path
parameters naming objects that exist (EXISTING).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.web.conftest import OPERATION, bearer

MAX_EXAMPLES = 20
FUZZ = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


# Rules OpenAPI has no words for (one parameter's validity depending on another's, or on what the
# server issued): each is answered with a 400 and the error body (test_rules_openapi_cannot_state).
RULES = [
    ("cursor: only a `next` the server issued", f"/api/v1/operations/{OPERATION}/figures", {"cursor": "abc"}),
    ("sort: a column of the answer (they depend on disaggregation)", f"/api/v1/operations/{OPERATION}/figures",
     {"sort": "nonsense"}),
    ("round and latest=true exclude each other", f"/api/v1/operations/{OPERATION}/figures",
     {"round": 1, "latest": "true"}),
    ("/v3 needs Operation, CountryName or Admin0Pcode (as IOM's API)", "/v3/displacement/admin1", {}),
    ("warnings: k <= horizon", f"/api/v1/operations/{OPERATION}/warnings", {"horizon": 2, "k": 3}),
    ("flows: year or from/to, not both", "/api/v1/od", {"year": "2024", "from": "2024-01"}),
    ("flows: global statistics are by country only", "/api/v1/od", {"source": "undesa", "level": "1"}),
    ("flows: flow monitoring has levels country and 1", "/api/v1/od", {"source": "fm", "level": "2"}),
    ("flows: each source has its own measures", "/api/v1/od", {"source": "unhcr", "measure": "nonsense"}),
    ("flows: global statistics are yearly", "/api/v1/od", {"source": "unhcr", "from": "2024-01"}),
]
STATISTICS = ("undesa", "worldbank", "unhcr")


def within_rules_openapi_cannot_state(case) -> None:
    """Make a schema-valid case keep the RULES, so that the "schema-valid request accepted" check
    is about everything else."""
    if case.path.startswith("/v3/displacement/admin"):
        case.query = case.query or {}
        if not any(case.query.get(k) for k in ("Operation", "CountryName", "Admin0Pcode")):
            case.query["Operation"] = OPERATION
    query = case.query
    if not query:
        return
    query.pop("cursor", None)
    query.pop("sort", None)
    if query.get("round") is not None and str(query.get("latest")).lower() == "true":
        query.pop("latest")
    if query.get("k") is not None and int(query["k"]) > int(query.get("horizon", 3)):
        query["k"] = query.get("horizon", 3)
    if query.get("year") is not None:
        query.pop("from", None)
        query.pop("to", None)
    if case.path.startswith("/api/v1/od"):
        query.pop("measure", None)
        source = query.get("source", "fm")
        if source in STATISTICS:
            query["level"] = "country"
            query.pop("from", None)
            query.pop("to", None)
        elif source == "fm" and query.get("level") == "2":
            query["level"] = "1"


# Objects of the store, so that a second pass fuzzes the other inputs of routes on things that exist
# (free path parameters almost always name nothing, and so test the 404s). Not token_id: the
# authenticated pass would revoke its own token.
EXISTING = {"operation": OPERATION, "number": 1, "country": "SOM"}


def fuzz(app, headers: dict | None) -> dict[str, str]:
    """Failures per operation, pass and mode (empty when every case passed every check)."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        names = [p.name for p in operation.path_parameters]
        passes = {"free": None}
        if names and all(n in EXISTING for n in names):
            passes["existing"] = {n: EXISTING[n] for n in names}
        for name, path in passes.items():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path))
                @FUZZ
                def run(case):
                    if mode is GenerationMode.POSITIVE:
                        within_rules_openapi_cannot_state(case)
                    excluded = []
                    if mode is GenerationMode.NEGATIVE and case.media_type == "multipart/form-data":
                        # Form fields are text on the wire: an "integer" or "boolean" sent in place of a
                        # string is still a valid string, and any bytes a valid file. The other checks run.
                        excluded.append(negative_data_rejection)
                    case.call_and_validate(headers=headers, excluded_checks=excluded)

                try:
                    run()
                except Unsatisfiable:
                    # An operation whose only inputs are free strings (or none) has no invalid request
                    # to send; schemathesis' own runner skips those too.
                    assert mode is GenerationMode.NEGATIVE, operation.label
                except (Exception, BaseExceptionGroup) as exc:  # the report lists every failure
                    failures[f"{operation.label} ({name}, {mode.value})"] = str(exc)
    return failures


def test_rules_openapi_cannot_state(client):
    for rule, path, params in RULES:
        r = client.get(path, params=params)
        assert r.status_code == 400, (rule, r.status_code, r.text)


def report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())


def test_anonymous(app):
    failures = fuzz(app, None)
    assert not failures, report(failures)


def test_with_token(app, store):
    failures = fuzz(app, bearer(store, "admin"))
    assert not failures, report(failures)
