"""Country profiles: one country's migration and displacement picture, every figure traceable.

Each figure is `{value, year, source, definition, ref}` where `ref` names the release (file, sha256)
and the source rows summed (`rows: "2-5,17"`). Sources publish different years, so each figure takes
the latest year its source has for the country that is not after the requested year, and says which.

IDPs are shown side by side per source (`idps: {"idmc": ..., "dtm": ...}`). IDMC is registered here;
the DTM side is added by registering a function with `register_idp_source("dtm", fn)`, where
`fn(conn, iso3, year) -> figure | None` returns the same figure shape.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import Connection, Engine, func, select

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.releases import Release, current_release
from mobtrack.stats.tables import stats_fact

DEFINITIONS = {
    "immigrant_stock": "International migrants living in the country at mid-year: foreign-born, or foreign citizens "
                       "where birthplace is not recorded (UN DESA). `basis` says which: B born abroad, C foreign "
                       "citizens, R refugees added, I imputed.",
    "emigrant_stock": "People born in (or citizens of) the country living in other countries at mid-year, summed "
                      "over every destination UN DESA reports.",
    "top_origins": "Countries of origin of the immigrant stock, largest first.",
    "top_destinations": "Countries where the country's emigrants live, largest first.",
    "refugees_hosted": "Refugees and people in refugee-like situations under UNHCR's mandate in the country "
                       "at year end, all origins.",
    "refugees_originating": "Refugees from the country under UNHCR's mandate, in all countries of asylum, at year end.",
    "asylum_seekers_hosted": "Asylum-seekers (claims pending) in the country at year end, all origins (UNHCR).",
    "asylum_seekers_originating": "Asylum-seekers from the country with claims pending anywhere at year end (UNHCR).",
    "idps_idmc": "People living in internal displacement at year end, conflict and disasters (IDMC stock).",
    "new_displacements": "Internal displacement movements during the year, by cause (IDMC flow: a person "
                         "displaced twice counts twice).",
}
TOP_N = 10


def _pick(facts: list[tuple]) -> tuple[float, list[int]]:
    """Sum facts (row, sex, value, other, cause, year, detail, age). Where a source gives a 'total' row
    next to its female/male rows for the same partner, cause, age and year, only the total counts,
    so the sexes are not added twice; groups without a total add their sexes."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for f in facts:
        groups[f[3:]].append(f)
    use = []
    for group in groups.values():
        totals = [f for f in group if f[1] == "total"]
        use += totals or group
    return float(sum(f[2] for f in use)), [f[0] for f in use]


class ProfileBuilder:
    def __init__(self, conn: Connection, iso3: str, year: int | None, crosswalk: Crosswalk):
        self.conn, self.iso3, self.year, self.crosswalk = conn, iso3, year, crosswalk
        self._releases: dict[str, Release | None] = {}

    def release(self, dataset: str) -> Release | None:
        if dataset not in self._releases:
            self._releases[dataset] = current_release(self.conn, dataset)
        return self._releases[dataset]

    def facts(self, dataset: str, measure: str, side: str, year_rule: str = "latest"):
        """(release, year, [(row, sex, value, other_country, cause, year, detail, age)]) for the country."""
        release = self.release(dataset)
        if release is None:
            return None, None, []
        f = stats_fact.c
        col = f.destination if side == "destination" else f.origin
        where = (f.release_id == release.id) & (f.measure == measure) & (col == self.iso3)
        if year_rule == "latest":
            cap = where if self.year is None else where & (f.year <= self.year)
            year = self.conn.execute(select(func.max(f.year)).where(cap)).scalar()
            if year is None:
                return release, None, []
            where = where & (f.year == year)
        else:
            year = None
        other = f.origin if side == "destination" else f.destination
        rows = self.conn.execute(select(f.row, f.sex, f.value, other, f.cause, f.year, f.detail, f.age)
                                 .where(where)).all()
        return release, year, rows

    def figure(self, name: str, release: Release, year: int, facts: list[tuple]) -> dict:
        value, rows = _pick(facts)
        return {"value": value, "year": year, "source": release.label, "definition": DEFINITIONS[name],
                "ref": release.ref(rows)}

    def simple(self, name: str, dataset: str, measure: str, side: str) -> dict | None:
        release, year, facts = self.facts(dataset, measure, side)
        return self.figure(name, release, year, facts) if facts else None

    def stock_with_partners(self, name: str, partners: str, side: str) -> tuple[dict | None, dict | None, dict | None]:
        """Total stock, its trend over every year, and the top partner countries, from one read."""
        release, _, facts = self.facts("undesa_stock", "migrant_stock", side, year_rule="all")
        if not facts:
            return None, None, None
        by_year: dict[int, list[tuple]] = defaultdict(list)
        for r in facts:
            by_year[r[5]].append(r)
        years = sorted(y for y in by_year if self.year is None or y <= self.year)
        if not years:
            return None, None, None
        year = years[-1]
        total = self.figure(name, release, year, by_year[year])
        if side == "destination":
            # How the destination counted its migrants changes what the figure means (B: born abroad,
            # C: foreign citizens, R: refugees added, I: imputed), so the figure says it.
            total["basis"] = "/".join(sorted({r[6] for r in by_year[year] if r[6]})) or None
        series = [{"year": y, **{k: v for k, v in self.figure(name, release, y, by_year[y]).items()
                                 if k in ("value", "ref")}} for y in years]
        for before, after in zip(series, series[1:], strict=False):
            after["change"] = after["value"] - before["value"]
            after["change_pct"] = round(after["change"] / before["value"] * 100, 1) if before["value"] else None
        trend = {"source": release.label, "series": series,
                 "definition": DEFINITIONS[name] + " Every year the source publishes; change since the previous one."}
        by_partner: dict[str, list[tuple]] = defaultdict(list)
        for r in by_year[year]:
            by_partner[r[3]].append(r)
        ranked = sorted(((p, *_pick(rs)) for p, rs in by_partner.items()),
                        key=lambda t: (-t[1], t[0]))[:TOP_N]
        top = {"year": year, "source": release.label, "definition": DEFINITIONS[partners],
               "items": [{"country": p, "name": self.crosswalk.name(p), "value": v, "ref": release.ref(rows)}
                         for p, v, rows in ranked]}
        return total, trend, top

    def new_displacements(self) -> dict | None:
        release, year, facts = self.facts("idmc_flow", "new_displacements", "destination")
        if not facts:
            return None
        by_cause: dict[str, list[tuple]] = defaultdict(list)
        for r in facts:
            by_cause[r[4] or "unspecified"].append(r)
        total = self.figure("new_displacements", release, year, facts)
        total["by_cause"] = sorted(
            ({"cause": c, **{k: v for k, v in self.figure("new_displacements", release, year, rs).items()
                             if k in ("value", "ref")}} for c, rs in by_cause.items()),
            key=lambda d: -d["value"])
        return total


# --- IDP sources shown side by side -----------------------------------------------------------

IdpSource = Callable[[Connection, str, int | None], dict | None]
IDP_SOURCES: dict[str, IdpSource] = {}


def register_idp_source(name: str, fn: IdpSource) -> None:
    IDP_SOURCES[name] = fn


def idmc_idps(conn: Connection, iso3: str, year: int | None) -> dict | None:
    builder = ProfileBuilder(conn, iso3, year, Crosswalk.default())
    release, y, facts = builder.facts("idmc_stock", "idps", "destination")
    if not facts:
        return None
    fig = builder.figure("idps_idmc", release, y, facts)
    by_cause: dict[str, list[tuple]] = defaultdict(list)
    for r in facts:
        by_cause[r[4] or "unspecified"].append(r)
    fig["by_cause"] = [{"cause": c, **{k: v for k, v in builder.figure("idps_idmc", release, y, rs).items()
                                       if k in ("value", "ref")}} for c, rs in sorted(by_cause.items())]
    return fig


register_idp_source("idmc", idmc_idps)

IDP_NOTE = ("Sources differ by date (IDMC: 31 December; DTM: the round's reporting date), coverage (DTM counts "
            "only the areas its rounds assess) and definition (IDMC includes disaster IDPs and people in "
            "protracted displacement; DTM counts by the reason its enumerators record).")


def profile(engine: Engine, iso3: str, year: int | None = None, crosswalk: Crosswalk | None = None) -> dict:
    crosswalk = crosswalk or Crosswalk.default()
    resolved = crosswalk.resolve(iso3, "iso3")
    if resolved.code is None:
        by_name = crosswalk.resolve(iso3, "name")
        if by_name.code is None:
            raise KeyError(f"{iso3!r} is not a country code or name in the crosswalk")
        resolved = by_name
    code = resolved.code
    with engine.connect() as conn:
        b = ProfileBuilder(conn, code, year, crosswalk)
        immigrants, immigrants_trend, top_origins = b.stock_with_partners("immigrant_stock", "top_origins", "destination")
        emigrants, emigrants_trend, top_destinations = b.stock_with_partners("emigrant_stock", "top_destinations", "origin")
        figures = {
            "immigrant_stock": immigrants,
            "immigrant_stock_trend": immigrants_trend,
            "emigrant_stock": emigrants,
            "emigrant_stock_trend": emigrants_trend,
            "top_origins": top_origins,
            "top_destinations": top_destinations,
            "refugees_hosted": b.simple("refugees_hosted", "unhcr_population", "refugees", "destination"),
            "refugees_originating": b.simple("refugees_originating", "unhcr_population", "refugees", "origin"),
            "asylum_seekers_hosted": b.simple("asylum_seekers_hosted", "unhcr_population", "asylum_seekers",
                                              "destination"),
            "asylum_seekers_originating": b.simple("asylum_seekers_originating", "unhcr_population",
                                                   "asylum_seekers", "origin"),
            "idps": {**{name: fn(conn, code, year) for name, fn in sorted(IDP_SOURCES.items())},
                     **({"dtm": None} if "dtm" not in IDP_SOURCES else {}), "note": IDP_NOTE},
            "new_displacements": b.new_displacements(),
        }
        b.release("idmc_stock")  # read through idmc_idps; listed here so the sources line is complete
        loaded = {d: (r.label if r else None) for d, r in b._releases.items()}
    missing = {k: "no data loaded for this country and year" for k, v in figures.items() if v is None}
    return {"country": crosswalk.describe(code), "requested_year": year, "figures": figures, "missing": missing,
            "sources": loaded}


# --- export -------------------------------------------------------------------------------------

EXPORT_COLUMNS = ["country", "figure", "partner", "partner_name", "cause", "year", "value", "suppressed", "source",
                  "definition", "source_file", "source_sha256", "source_rows"]


def profile_rows(out: dict) -> list[dict]:
    """A profile as one row per figure (the download): a trend year, a top partner or a cause is a row of
    its own, each with the source file, its sha256 and the row numbers it was summed from."""
    country = out["country"]["code"]
    rows: list[dict] = []

    def row(name: str, fig: dict, inherited: dict, **extra) -> dict:
        ref = fig.get("ref") or {}
        return {"country": country, "figure": name, "partner": None, "partner_name": None, "cause": None,
                "year": fig.get("year", inherited.get("year")), "value": fig.get("value"),
                "suppressed": fig.get("suppressed"), "source": fig.get("source", inherited.get("source")),
                "definition": fig.get("definition", inherited.get("definition")),
                "source_file": ref.get("file"), "source_sha256": ref.get("sha256"),
                "source_rows": ref.get("rows") if "rows" in ref else None, **extra}

    def walk(name: str, fig: dict | None) -> None:
        if not isinstance(fig, dict):
            return
        if "value" in fig:
            rows.append(row(name, fig, {}))
        for point in fig.get("series", []):  # trends: one row per year
            rows.append(row(name, point, fig))
        for item in fig.get("items", []):  # top origins / destinations
            rows.append(row(name, item, fig, partner=item.get("country"), partner_name=item.get("name")))
        for part in fig.get("by_cause", []):
            rows.append(row(name, part, fig, cause=part.get("cause")))

    for name, fig in out["figures"].items():
        if name == "idps":
            for source, by_source in fig.items():
                if source != "note":
                    walk(f"idps_{source}", by_source)
        else:
            walk(name, fig)
    return rows
