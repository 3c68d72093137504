"""Gazetteer: official places (COD p-code lists and boundaries, versioned) and matching to them.

Contract used by the import pipeline (mobtrack.pipeline):

    resolve_places(conn, records, *, country_iso3, reporting_date, source_file_id, file_name) -> Resolution

`records` are canonical records (mobtrack.model.records) of one country, matched against the
boundary versions valid at `reporting_date`; `version_groups` tells which reporting dates of a
batch may share one call. The resolver decides,
for every row, which place the row describes (the unit at `admin_level`; sites at level 5) and
returns the records with the columns of `mobtrack.validate.MATCH_COLUMNS` plus `location_id`
(Int64, null when the place is not accepted). Places the source defines below what the gazetteer
knows (sites, villages, admin3+ without a COD list) are created as locations of a per-country
"source-defined" boundary version inside the caller's transaction (`conn`), so a rejected import
leaves nothing behind. Doubtful matches become review items and issues; they are never accepted
silently.
"""

from mobtrack.gazetteer.load import load_bundled, load_paths
from mobtrack.gazetteer.resolve import Resolution, load_missing, resolve_places, version_groups

__all__ = ["Resolution", "load_bundled", "load_missing", "load_paths", "resolve_places", "version_groups"]
