"""Several countries' place hierarchies read at once are each country's hierarchy, as read alone."""

import polars as pl
from sqlalchemy import insert

from mobtrack import gazetteer
from mobtrack.store import places
from mobtrack.store.schema import location


def test_hierarchies_are_the_countries_hierarchies_one_after_the_other(engine):
    with engine.begin() as conn:
        gazetteer.load_bundled(conn, ["TCD", "CAF"])
        # a source-defined site hanging under an official unit, and a country with no places at all
        tcd = places.hierarchy(conn, "TCD")
        unit = tcd.filter(pl.col("admin_level") == 1).row(0, named=True)
        conn.execute(insert(location).values(country_iso3="TCD", pcode="TCD-SITE-1", name="Camp", admin_level=5,
                                             parent_pcode=unit["pcode"], kind="site",
                                             boundary_version_id=unit["boundary_version_id"]))
        countries = ["TCD", "NER", "CAF"]
        places._CACHE.clear()
        together = places.hierarchies(conn, countries)
        places._CACHE.clear()
        alone = pl.concat([places.hierarchy(conn, c) for c in countries], how="vertical_relaxed")
        assert together.equals(alone)
        assert together.filter(pl.col("pcode") == "TCD-SITE-1")["parent_id"].to_list() == [unit["id"]]
        assert places.hierarchies(conn, countries).equals(alone)  # kept: the same frames again
        assert places.hierarchies(conn, []).is_empty()
