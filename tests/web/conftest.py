"""A served store for the web tests: two rounds of a small Somalia operation (round 1 published,
round 2 not), a second operation in another country, and one user per role with an API token."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient

from mobtrack.pipeline import import_file
from mobtrack.web import security

OPERATION = "Synthetic web operation"
OTHER = "Other country operation"
PASSWORD = "violet anchor drizzle compass 42"
COLUMNS = {"operation": pl.String, "country_iso3": pl.String, "assessment_type": pl.String, "round_number": pl.Int64,
           "reporting_date": pl.Date, "admin_level": pl.Int64, "adm1_pcode": pl.String, "adm2_pcode": pl.String,
           "adm2_name": pl.String, "population_group": pl.String, "unit": pl.String, "role": pl.String,
           "sex": pl.String, "value": pl.String}
SOM = [("SO11", "SO1101", "Borama"), ("SO11", "SO1102", "Baki"), ("SO12", "SO1201", "Hargeysa"),
       ("SO12", "SO1202", "Berbera")]


def round_rows(operation, country, places, number, values):
    out = []
    for (a1, a2, name), v in zip(places, values, strict=True):
        base = dict(operation=operation, country_iso3=country, assessment_type="BA", round_number=number,
                    reporting_date=date(2024, number, 28), admin_level=2, adm1_pcode=a1, adm2_pcode=a2,
                    adm2_name=name, population_group="idps", unit="individuals")
        out.append({**base, "role": "total", "sex": None, "value": str(v)})
        if isinstance(v, int):  # a text count ("many") has no breakdown
            out.append({**base, "role": "breakdown", "sex": "female", "value": str(v - v // 2)})
            out.append({**base, "role": "breakdown", "sex": "male", "value": str(v // 2)})
    return pl.DataFrame(out, schema=COLUMNS)


def write_round(folder, name, frame):
    path = folder / name
    frame.write_csv(path)
    return path


ROUND1 = [1200, 4, 800, 950]  # Baki's 4 is a small cell
ROUND2 = [1300, 40, 820, 990]
ROLES = ["admin", "manager", "analyst", "data-entry", "viewer"]


def login_code(conn_or_none, secret):
    return security.totp_code(secret) if secret else ""


@pytest.fixture(scope="module")
def store(module_db_url, tmp_path_factory):
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.store.publishing import publish
    from mobtrack.web.services import accounts

    folder = tmp_path_factory.mktemp("files")
    upgrade(module_db_url)
    for name, frame in [("r1.csv", round_rows(OPERATION, "SOM", SOM, 1, ROUND1)),
                        ("r2.csv", round_rows(OPERATION, "SOM", SOM, 2, ROUND2)),
                        ("other.csv", round_rows(OTHER, "KEN", [("KE001", "KE001001", "Changamwe")], 1, [500]))]:
        result = import_file(write_round(folder, name, frame), db_url=module_db_url)
        assert result.status == "imported", result.message
    engine = get_engine(module_db_url)
    users = {}
    with engine.begin() as conn:
        publish(conn, OPERATION, 1)
        publish(conn, OTHER, 1)
        for role in ROLES:
            scope = {} if role == "admin" else {"operations": [OPERATION]}
            made = accounts.add_user(conn, f"{role}-user", PASSWORD, role, "Test org", **scope)
            token = accounts.create_token(conn, made.id, "tests")
            users[role] = {"id": made.id, "username": made.username, "token": token, "totp": made.totp_secret}
        # someone from elsewhere: a manager of the other operation only
        made = accounts.add_user(conn, "outsider", PASSWORD, "manager", "Other org", operations=[OTHER])
        users["outsider"] = {"id": made.id, "username": "outsider", "totp": made.totp_secret,
                             "token": accounts.create_token(conn, made.id, "tests")}
    return {"db_url": module_db_url, "users": users, "folder": folder}


@pytest.fixture(scope="module")
def app(store, tmp_path_factory):
    from mobtrack.web.app import create_app

    return create_app(store["db_url"], secure_cookies=False, upload_dir=tmp_path_factory.mktemp("uploads"))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def bearer(store, role):
    return {"Authorization": f"Bearer {store['users'][role]['token']}"}
