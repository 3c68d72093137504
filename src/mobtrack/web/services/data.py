"""Reading stored round versions, cached: a version never changes once written, so its decoded
blocks can be kept (bounded) instead of decoding Parquet on every request."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.store.places import hierarchy
from mobtrack.store.rounds import read_figures, read_observations
from mobtrack.web.services.cache import LRU

MAX_ROWS = 5_000_000  # rows kept decoded across versions (roughly 0.5-1 GB at most)
_BLOCKS: LRU[pl.DataFrame] = LRU(MAX_ROWS, weight=lambda frame: frame.height)
_get = _BLOCKS.get


def figures_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _get((str(conn.engine.url), "figures", version_id), lambda: read_figures(conn, version_id))


def observations_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _get((str(conn.engine.url), "observations", version_id), lambda: read_observations(conn, version_id))


def places_of(conn: Connection, country_iso3: str) -> pl.DataFrame:
    return hierarchy(conn, country_iso3)
