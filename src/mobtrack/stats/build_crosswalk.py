"""Rebuild `mobtrack/data/countries.csv`, the country crosswalk, from committable sources only.

    python -m mobtrack.stats.build_crosswalk ../shared/data -o src/mobtrack/data/countries.csv

Inputs, and why each is allowed into the repository:
- ISO 3166-1 codes and names (alpha-3, alpha-2, numeric) from the `pycountry` package. For countries the
  UN M49 code *is* the ISO 3166-1 numeric code, so M49 comes from here, not from UN DESA's countrynames.csv
  (which may not be committed).
- UNHCR's country list and the names used in UNHCR's tables (`stats/unhcr/`, CC BY 4.0): UNHCR's own
  three-letter codes (AUS is Austria there, AUL Australia) and its short names.
- Natural Earth admin-0 names (`geo/boundaries/WORLD`, public domain).
- The curated lists below: the codes the sources use for things that are not ISO countries, and the
  name spellings of the World Bank / UN DESA tables. These are written here by hand, on purpose:
  every one of them is a decision a reviewer should be able to read.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import polars as pl

from mobtrack.stats.crosswalk import normalise_name

# Entities the sources use that ISO 3166-1 has no (current) code for. code, kind, name, iso2, m49,
# UNHCR code, codes other systems use for the same thing, aliases, note.
SPECIAL = [
    ("UNK", "special", "Unknown", "", "2003", "UKN", "XXX|OOO", "Unknown/other|Other|Unknown origin|Various",
     "origin or destination not stated or not known; a residual category, not a country (UN DESA 'OOO', "
     "numeric 2003 in its M49 columns; UNHCR 'UKN'/'UNK'/'XXX')"),
    ("XXA", "special", "Stateless", "", "", "STA", "STA", "Stateless persons",
     "stateless persons have no country of origin; UNHCR records them as an origin category"),
    ("TIB", "special", "Tibetan", "", "", "TIB", "", "Tibetans",
     "UNHCR origin category for Tibetan refugees; not a country in ISO 3166 or M49"),
    ("AB9", "territory", "Abyei Area", "", "", "AB9", "", "Abyei",
     "area disputed between Sudan and South Sudan; IDMC/UN code AB9, no ISO 3166 or M49 code"),
    ("XKX", "territory", "Kosovo", "XK", "", "", "KOS|XKO", "Kosovo (SCR 1244)|Kosovo (S/RES/1244 (1999))|Kosovo*",
     "user-assigned code XK/XKX used by the EU, IDMC, World Bank; no M49 code; UNHCR counts it under SRB"),
    ("XCX", "territory", "Channel Islands", "XC", "830", "", "CHI", "",
     "UN DESA and World Bank group Jersey (JEY), Guernsey (GGY) and Sark under M49 830"),
]

# Name spellings seen in World Bank and UN DESA style tables that neither ISO nor UNHCR uses.
ALIASES = {
    "BHS": ["Bahamas, The"], "GMB": ["Gambia, The"], "HKG": ["Hong Kong SAR, China", "Hong Kong"],
    "MAC": ["Macao SAR, China", "Macau"], "MKD": ["Macedonia, FYR", "The former Yugoslav Republic of Macedonia"],
    "FSM": ["Micronesia, Fed. Sts.", "Micronesia"], "PRK": ["North Korea", "Korea, Dem. Rep.", "Korea, Dem. People's Rep."],
    "KOR": ["South Korea", "Korea, Rep.", "Republic of Korea"], "LAO": ["Lao PDR", "Laos"], "RUS": ["Russia"],
    "SYR": ["Syria", "Syrian Arab Rep."], "IRN": ["Iran", "Iran, Islamic Rep."], "SWZ": ["Swaziland"],
    "TUR": ["Turkey", "Turkiye"], "VEN": ["Venezuela", "Venezuela, RB"], "VNM": ["Vietnam"],
    "SVK": ["Slovak Republic"], "KNA": ["St. Kitts and Nevis"], "LCA": ["St. Lucia"],
    "MAF": ["St. Martin (French part)"], "VCT": ["St. Vincent and the Grenadines"],
    "PSE": ["West Bank and Gaza", "Palestine", "Occupied Palestinian Territory", "Palestinian"],
    "FRO": ["Faeroe Islands"], "COD": ["Democratic Republic of the Congo", "Congo, Dem. Rep.", "DR Congo", "DRC"],
    "COG": ["Republic of the Congo", "Congo, Rep."], "CIV": ["Cote d'Ivoire", "Ivory Coast"], "CUW": ["Curacao"],
    "CZE": ["Czech Republic"], "EGY": ["Egypt", "Egypt, Arab Rep."], "MDA": ["Moldova"], "BOL": ["Bolivia"],
    "TZA": ["United Republic of Tanzania", "Tanzania"], "VIR": ["Virgin Islands (U.S.)"],
    "SXM": ["Sint Maarten (Dutch part)"], "YEM": ["Yemen, Rep."], "KGZ": ["Kyrgyz Republic"],
    "GBR": ["United Kingdom", "UK"], "USA": ["United States of America", "United States", "USA"],
    "CPV": ["Cape Verde"], "TLS": ["East Timor"], "MMR": ["Burma"], "NLD": ["Netherlands"],
    "BES": ["Caribbean Netherlands"], "VAT": ["Holy See"], "CAF": ["Central African Republic"],
}

COLUMNS = ["code", "kind", "name", "iso2", "m49", "unhcr_code", "other_codes", "aliases", "note", "lat", "lon"]


def _centroids(reader) -> dict[str, tuple[str, str]]:
    """A point per country for flow-map arcs: the centroid of its largest polygon, so France's point is
    in Europe, not pulled towards French Guiana. Kosovo has no ISO code in Natural Earth ('-99')."""
    from shapely.geometry import shape

    points = {}
    for rec, shp in zip(reader.records(), reader.shapes(), strict=True):
        code = "XKX" if rec["name"] == "Kosovo" else rec["iso_a3"]
        geom = shape(shp.__geo_interface__)
        largest = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        c = largest.centroid if largest.contains(largest.centroid) else largest.representative_point()
        points[code] = (f"{c.y:.2f}", f"{c.x:.2f}")
    return points


def _unhcr_names(unhcr: Path) -> dict[str, set[str]]:
    """Every (ISO code -> names) pair used in UNHCR's data tables, so loaders meet no surprise spelling."""
    names: dict[str, set[str]] = {}
    for path in sorted(unhcr.glob("*.csv*")):
        if path.name == "countries.csv":
            continue
        head = pl.read_csv(path, n_rows=0).columns
        if "coo_iso" not in head:
            continue
        frame = pl.read_csv(path, columns=["coo_name", "coo_iso", "coa_name", "coa_iso"], infer_schema_length=0)
        for side in ("coo", "coa"):
            pairs = frame.select(f"{side}_iso", f"{side}_name").unique().drop_nulls().rows()
            for iso, name in pairs:
                names.setdefault(iso, set()).add(name)
    return names


def build(shared: Path) -> list[dict[str, str]]:
    import pycountry
    import shapefile

    unhcr_dir = shared / "stats" / "unhcr"
    unhcr = pl.read_csv(unhcr_dir / "countries.csv", infer_schema_length=0)
    unhcr_by_iso = {r["iso_code"]: r for r in unhcr.iter_rows(named=True) if r["iso_code"]}
    data_names = _unhcr_names(unhcr_dir)
    reader = shapefile.Reader(str(shared / "geo" / "boundaries" / "WORLD" / "naturalearth_lowres"))
    ne_names = {rec["iso_a3"]: rec["name"] for rec in reader.records() if rec["iso_a3"] not in ("-99", "")}
    points = _centroids(reader)

    rows: dict[str, dict[str, str]] = {}
    for c in pycountry.countries:
        names = {c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)}
        u = unhcr_by_iso.get(c.alpha_3)
        names |= {u["name"]} if u else set()
        names |= data_names.get(c.alpha_3, set())
        names |= {ne_names[c.alpha_3]} if c.alpha_3 in ne_names else set()
        names |= set(ALIASES.get(c.alpha_3, []))
        # A short everyday name: ISO's common name, else ISO's name unless it is inverted
        # ("Korea, Republic of"), else UNHCR's.
        display = getattr(c, "common_name", None) or (c.name if "," not in c.name or not u else u["name"])
        rows[c.alpha_3] = {
            "code": c.alpha_3, "kind": "country", "name": display, "iso2": c.alpha_2, "m49": c.numeric,
            "unhcr_code": u["unhcr_code"] if u else "", "other_codes": "",
            "aliases": "|".join(sorted(n for n in names if n and n != display)), "note": "",
        }
    for code, kind, name, iso2, m49, unhcr_code, other, aliases, note in SPECIAL:
        names = set(aliases.split("|")) if aliases else set()
        names |= data_names.get(code, set()) | (data_names.get(unhcr_code, set()) if unhcr_code else set())
        if code == "UNK":
            names |= data_names.get("UNK", set())
        rows[code] = {
            "code": code, "kind": kind, "name": name, "iso2": iso2, "m49": m49, "unhcr_code": unhcr_code,
            "other_codes": other, "aliases": "|".join(sorted(n for n in names if n and n != name)), "note": note,
        }
    # Countries that no longer exist still appear in older origin data (USSR, Yugoslavia...).
    for c in pycountry.historic_countries:
        if c.alpha_3 in rows:
            continue
        rows[c.alpha_3] = {
            "code": c.alpha_3, "kind": "historical", "name": c.name, "iso2": "", "m49": getattr(c, "numeric", "") or "",
            "unhcr_code": "", "other_codes": "", "aliases": "",
            "note": f"former country (ISO 3166-3, withdrawn {getattr(c, 'withdrawal_date', '')})",
        }
    # A renamed country kept its numeric code (Dahomey -> Benin, 204): the code must keep pointing
    # at the current entry, so the historical entry gives it up, and likewise a shared old name.
    current = [r for r in rows.values() if r["kind"] != "historical"]
    taken_m49 = {r["m49"] for r in current}
    all_m49 = [r["m49"] for r in rows.values() if r["m49"]]
    taken_names = {normalise_name(n) for r in current for n in [r["name"], *r["aliases"].split("|")] if n}
    for r in rows.values():
        if r["kind"] == "historical":
            if r["m49"] in taken_m49 or all_m49.count(r["m49"]) > 1:
                r["m49"] = ""
            if normalise_name(r["name"]) in taken_names:
                r["note"] += "; its name is now an alias of the current country"
                r["name"] = f"{r['name']} (former)"
    for code, r in rows.items():
        r["lat"], r["lon"] = points.get(code, ("", ""))
    return [rows[k] for k in sorted(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shared", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).parent.parent / "data" / "countries.csv")
    args = parser.parse_args()
    rows = build(args.shared)
    with open(args.output, "w", newline="", encoding="utf-8") as fh:
        fh.write("# mobtrack country crosswalk. Built by mobtrack.stats.build_crosswalk from ISO 3166 (pycountry), "
                 "UNHCR country codes (CC BY 4.0) and Natural Earth names (public domain).\n")
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} entries to {args.output}")


if __name__ == "__main__":
    main()
