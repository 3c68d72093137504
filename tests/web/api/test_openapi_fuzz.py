"""Schemathesis fuzzes every operation of the OpenAPI document in-process, anonymous and with a token.

The document (/api/v1/openapi.json) covers /api/v1 and the DTM-compatible /v3 routes. The app is the
shared web store (tests/web/conftest.py: a Somalia operation with a small cell and an unpublished
round, an operation in Kenya, one user per role), on SQLite, or on PostgreSQL when
MOBTRACK_TEST_DATABASE_URL is set. Every built-in check runs: no 5xx, only declared status codes,
content types and headers, bodies that match their declared schemas, schema-invalid input rejected
and schema-valid input accepted.

Bounded for CI: hypothesis is derandomized (the same cases on every run) and each operation gets
MAX_EXAMPLES valid and MAX_EXAMPLES invalid cases per caller.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.web.conftest import OPERATION, bearer

MAX_EXAMPLES = 25
FUZZ = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def within_rules_openapi_cannot_state(case) -> None:
    """Make a schema-valid case meet the three rules OpenAPI has no words for, so that the
    "schema-valid request accepted" check is about everything else. Each rule has its own test.

    - `cursor` is opaque: only a `next` the server issued is valid (tests/web/api/test_figures.py).
    - `round` and `latest=true` exclude each other (tests/web/api/test_figures.py).
    - /v3 needs one of Operation, CountryName, Admin0Pcode, as IOM's API does (tests/web/api/test_v3.py).
    """
    query = case.query or {}
    query.pop("cursor", None)
    if query.get("round") is not None and str(query.get("latest")).lower() == "true":
        query.pop("latest")
    if case.path.startswith("/v3/displacement/admin") and not any(
            query.get(k) for k in ("Operation", "CountryName", "Admin0Pcode")):
        query["Operation"] = OPERATION
    if case.query is not None:
        case.query = query


def fuzz(app, headers: dict | None) -> dict[str, str]:
    """Failures per operation and mode (empty when every case passed every check)."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def run(case):
                if mode is GenerationMode.POSITIVE:
                    within_rules_openapi_cannot_state(case)
                case.call_and_validate(headers=headers)

            try:
                run()
            except Unsatisfiable:
                # An operation whose only inputs are free strings (or none) has no invalid request
                # to send; schemathesis' own runner skips those too.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # the report lists every operation's failures
                failures[f"{operation.label} ({mode.value})"] = str(exc)
    return failures


def report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())


def test_anonymous(app):
    failures = fuzz(app, None)
    assert not failures, report(failures)


def test_with_token(app, store):
    failures = fuzz(app, bearer(store, "admin"))
    assert not failures, report(failures)
