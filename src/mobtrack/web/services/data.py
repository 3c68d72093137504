"""Reading stored round versions, cached: a version never changes once written, so its decoded
blocks can be kept (bounded) instead of decoding them on every request.

What is kept, per worker process: the decoded blocks of a round version, under the database URL and
the version's id. A version's blocks are written once, in the transaction that creates the version,
and never updated (a correction is a new version with a new id), so a kept block cannot be stale.
A figures block is kept sorted by level, group and unit (`cache.Sliced`): a request reads the rows
of one level as a slice.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from mobtrack.store.places import hierarchy
from mobtrack.store.rounds import read_figures, read_observations
from mobtrack.web.services.cache import LRU, Sliced

MAX_ROWS = 5_000_000  # rows kept decoded across versions (roughly 0.5-1 GB at most)
_BLOCKS: LRU[pl.DataFrame | Sliced] = LRU(MAX_ROWS, weight=lambda kept: kept.height)
_get = _BLOCKS.get
FIGURE_KEYS = ["admin_level", "population_group", "unit"]


def _figures(conn: Connection, version_id: int) -> Sliced:
    return _get((str(conn.engine.url), "figures", version_id),
                lambda: Sliced(read_figures(conn, version_id), FIGURE_KEYS))


def figures_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _figures(conn, version_id).frame


def figures_at(conn: Connection, version_id: int, level: int, group: str, unit: str) -> pl.DataFrame:
    """The version's figures at one admin level for one group and unit."""
    return _figures(conn, version_id).rows((level, group, unit))


def observations_of(conn: Connection, version_id: int) -> pl.DataFrame:
    return _get((str(conn.engine.url), "observations", version_id), lambda: read_observations(conn, version_id))


def places_of(conn: Connection, country_iso3: str, stamp: tuple | None = None) -> pl.DataFrame:
    return hierarchy(conn, country_iso3, stamp)
