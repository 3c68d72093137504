"""The real `dtmapi` client (PyPI), pointed at a mobtrack server on loopback, reads the shared DTM API v3
files back -- after they went through import_file -- as the same DataFrames as the original responses.

IOM's record `id`s are IOM's own and are not kept by an import, so they are left out of the comparison.
A key of a user allowed raw figures goes in as the subscription key; without one, the same client gets
protected figures (checked at the end).
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pandas as pd
import pytest

pytest.importorskip("dtmapi")
from dtmapi import DTMApi  # noqa: E402

FILES = ["displacement-admin0-admin0pcode-hti.json", "displacement-admin1-admin0pcode-hti.json",
         "displacement-admin2-admin0pcode-hti.json", "displacement-admin0-admin0pcode-tcd.json",
         "displacement-admin1-admin0pcode-tcd.json", "displacement-admin2-admin0pcode-tcd.json"]


class LocalDTMApi(DTMApi):
    """dtmapi unchanged except where it sends its requests."""

    def __init__(self, base: str, key: str):
        super().__init__(subscription_key=key, max_retries=0)
        self.base = base

    def _get_endpoint(self, endpoint_type: str) -> str:
        name = {"countries": "country-list", "operations": "operation-list"}.get(endpoint_type, endpoint_type)
        return f"{self.base}/v3/displacement/{name}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(shared_data, module_db_url):
    import uvicorn

    from mobtrack.pipeline import import_file
    from mobtrack.store.db import get_engine, upgrade
    from mobtrack.web.app import create_app
    from mobtrack.web.services import accounts

    upgrade(module_db_url)
    for name in FILES:
        result = import_file(shared_data / "dtm" / "api" / name, db_url=module_db_url)
        assert result.status == "imported", (name, result.message)
    with get_engine(module_db_url).begin() as conn:
        admin = accounts.add_user(conn, "roundtrip-admin", "violet anchor drizzle compass 42", "admin", "Test")
        key = accounts.create_token(conn, admin.id, "dtmapi")
    port = _free_port()
    config = uvicorn.Config(create_app(module_db_url, secure_cookies=False), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield {"base": f"http://127.0.0.1:{port}", "key": key}
    srv.should_exit = True
    thread.join(timeout=10)


def original(shared_data, name) -> pd.DataFrame:
    return pd.DataFrame(json.loads((shared_data / "dtm" / "api" / name).read_text())["result"])


def same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    ours, theirs = ours.drop(columns=["id"], errors="ignore"), theirs.drop(columns=["id"], errors="ignore")
    assert list(ours.columns) == list(theirs.columns)
    keys = list(theirs.columns)
    a = ours.sort_values(keys, na_position="first").reset_index(drop=True)
    b = theirs.sort_values(keys, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


@pytest.mark.parametrize("name", FILES)
def test_dtmapi_reads_back_the_original(shared_data, server, name):
    api = LocalDTMApi(server["base"], server["key"])
    level, iso = name.split("-")[1], name.rsplit("-", 1)[1][:3].upper()
    fetch = {"admin0": api.get_idp_admin0_data, "admin1": api.get_idp_admin1_data,
             "admin2": api.get_idp_admin2_data}[level]
    same(fetch(Admin0Pcode=iso), original(shared_data, name))


def test_filters_use_iom_parameter_names(shared_data, server):
    api = LocalDTMApi(server["base"], server["key"])
    theirs = original(shared_data, "displacement-admin2-admin0pcode-hti.json")
    theirs = theirs[(theirs.roundNumber >= 2) & (theirs.roundNumber <= 3) & (theirs.admin1Pcode == "HT01")]
    ours = api.get_idp_admin2_data(CountryName="Haiti", Admin1Pcode="HT01", FromRoundNumber=2, ToRoundNumber=3)
    same(ours, theirs.reset_index(drop=True))


def test_country_and_operation_lists_cover_what_was_imported(shared_data, server):
    api = LocalDTMApi(server["base"], server["key"])
    countries = api.get_all_countries()
    theirs = pd.DataFrame(json.loads((shared_data / "dtm/api/displacement-country-list.json").read_text())["result"])
    same(countries, theirs[theirs.admin0Pcode.isin(["HTI", "TCD"])])
    ops = api.get_all_operations()
    imported = {op for name in FILES for op in original(shared_data, name)["operation"]}
    assert set(ops["operation"]) == imported


def test_without_a_key_the_client_gets_protected_figures(shared_data, server, module_db_url):
    import requests

    from mobtrack.store.db import get_engine
    from mobtrack.store.publishing import PublishError, publish

    rounds = original(shared_data, "displacement-admin2-admin0pcode-tcd.json")[["operation", "roundNumber",
                                                                                "assessmentType"]].drop_duplicates()
    published = 0
    with get_engine(module_db_url).begin() as conn:
        for op, number, kind in rounds.itertuples(index=False):
            try:
                publish(conn, op, int(number), kind)
                published += 1
            except PublishError:
                continue
    assert published

    body = requests.get(f"{server['base']}/v3/displacement/admin2", params={"Admin0Pcode": "TCD"}, timeout=30).json()
    values = [r["numPresentIdpInd"] for r in body["result"]]
    assert body["isSuccess"] and values
    assert not [v for v in values if v is not None and 1 <= v <= 10]
