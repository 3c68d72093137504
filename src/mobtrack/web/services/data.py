"""Reading stored round versions, cached: a version never changes once written, so its decoded
blocks can be kept (bounded) instead of decoding Parquet on every request."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

import polars as pl
from sqlalchemy import Connection

from mobtrack.store.places import hierarchy
from mobtrack.store.rounds import read_figures, read_observations

_BLOCKS: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
_LOCK = Lock()
MAX_ROWS = 5_000_000  # rows kept decoded across versions (roughly 0.5-1 GB at most)


def _get(key: tuple, load) -> pl.DataFrame:
    with _LOCK:
        if key in _BLOCKS:
            _BLOCKS.move_to_end(key)
            return _BLOCKS[key]
    frame = load()
    with _LOCK:
        _BLOCKS[key] = frame
        while sum(f.height for f in _BLOCKS.values()) > MAX_ROWS and len(_BLOCKS) > 1:
            _BLOCKS.popitem(last=False)
    return frame


def figures_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _get((str(conn.engine.url), "figures", version_id), lambda: read_figures(conn, version_id))


def observations_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _get((str(conn.engine.url), "observations", version_id), lambda: read_observations(conn, version_id))


def places_of(conn: Connection, country_iso3: str) -> pl.DataFrame:
    return hierarchy(conn, country_iso3)
