"""Reading gazetteer files into one shape: a frame of admin units.

Formats:
- long p-code lists (OCHA's global list: Location, Admin Level, P-Code, Name, Parent P-Code,
  Valid from date; or any CSV with pcode/name/level/parent columns);
- wide tables with one row per lowest unit and a code and name column per level (COD
  `ADM1_EN/ADM1_PCODE/...`, Malawi's `ADM1_NAME/ADM1_CODE`, the older `admin1Name/admin1Pcod`);
- boundary files (GeoJSON, shapefile) whose attributes follow the same wide conventions.

Every reader returns a frame with UNIT_SCHEMA: one row per unit, the deepest level of a
boundary file carrying its geometry as WKB.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import polars as pl

UNIT_SCHEMA: dict[str, pl.DataType] = {
    "country_iso3": pl.String,
    "admin_level": pl.Int8,
    "pcode": pl.String,
    "name": pl.String,
    "names": pl.String,  # JSON: {"en": ..., "fr": ..., "alt": [...]}
    "parent_pcode": pl.String,
    "valid_from": pl.Date,
    "valid_to": pl.Date,
    "latitude": pl.Float64,
    "longitude": pl.Float64,
    "geometry": pl.Binary,
}


class GazetteerFileError(ValueError):
    """A file that is not a gazetteer mobtrack can read; the message says what was expected."""


# --- column conventions ---------------------------------------------------------------------------

# ADM1_PCODE, ADM1_CODE, ADM1_EN, ADM1_FR, ADM1_NAME, ADM1_REF, ADM1ALT1EN, admin1Pcod, admin1Name...
_WIDE = re.compile(
    r"^(?:dv_)?adm(?:in)?(?P<level>[0-5])_?(?:"
    r"(?P<code>pcode|pcod|p_code|code)"
    r"|(?P<alt>alt\d?|al_\d|altn|altnm)_?(?P<altlang>[a-z]{2})?"
    r"|(?P<ref>ref|refn|refname)"
    r"|name_?(?P<namelang>[a-z]{2})?|(?P<lang>[a-z]{2})"
    r")$",
    re.IGNORECASE,
)
_NOT_LANGUAGES = {"id", "ty", "tp"}  # ADM1_ID, ADM1_Type: identifiers and kinds, not names


def classify_columns(columns: list[str]) -> dict[int, dict]:
    """Per admin level: its code column and its name columns by language (plus ref/alt names)."""
    levels: dict[int, dict] = {}
    for column in columns:
        m = _WIDE.match(column.strip())
        if not m:
            continue
        spec = levels.setdefault(int(m["level"]), {"code": None, "names": {}, "alt": []})
        if column.lower().startswith("dv_"):
            # HDX's "dv_" columns come from joining another dataset and are not reliable: in the
            # Haiti COD-AB, dv_adm2_name of Acul du Nord is "Plaine du Nord". Not used as names.
            continue
        if m["code"]:
            # ADMn_PCODE wins over ADMn_CODE when a file has both
            if spec["code"] is None or "pc" in m["code"].lower():
                spec["code"] = column
        elif m["alt"]:
            spec["alt"].append(column)
        elif m["ref"]:
            spec["names"]["ref"] = column
        elif m["lang"]:
            if m["lang"].lower() not in _NOT_LANGUAGES:
                spec["names"][m["lang"].lower()] = column
        else:
            spec["names"][(m["namelang"] or "und").lower()] = column
    return {lvl: s for lvl, s in levels.items() if s["code"] or lvl == 0}


def _first(columns: list[str], *names: str) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for n in names:
        if n in lowered:
            return lowered[n]
    return None


def parse_date(value) -> date | None:
    """COD dates come as 2018-11-29, 2017-04-05T00:00:00.000Z or Esri's null 1899-11-30."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", str(value))
    if not m:
        return None
    parsed = date(int(m[1]), int(m[2]), int(m[3]))
    return None if parsed.year < 1900 else parsed


def iso3_from_code(code: str | None) -> str | None:
    """ADM0_PCODE is ISO2 in COD-AB files ("HT"); map it to ISO3."""
    if not code:
        return None
    code = code.strip().upper()
    if len(code) == 3:
        return code
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    return country.alpha_3 if country else None


# --- wide tables (attribute tables of boundary files, Malawi-style lists) -----------------------

def units_from_wide(rows: list[dict], geometries: list[bytes | None] | None = None,
                    country_iso3: str | None = None, source: str = "") -> pl.DataFrame:
    if not rows:
        raise GazetteerFileError(f"{source}: no features or rows")
    columns = list(rows[0])
    levels = classify_columns(columns)
    coded = sorted(lvl for lvl, s in levels.items() if s["code"] and lvl > 0)
    if not coded:
        return _admin0_units(rows, columns, geometries, country_iso3, source)
    deepest = coded[-1]
    iso_col = _first(columns, "iso3", "dv_iso3", "iso_a3", "adm0_iso3")
    adm0_code = levels.get(0, {}).get("code")
    valid_on = _first(columns, "validon", "valid_on", "valid_from")
    valid_to = _first(columns, "validto", "valid_to")
    lat_col, lon_col = _first(columns, "latitude", "lat"), _first(columns, "longitude", "long", "lon")
    out: dict[str, dict] = {}
    for i, row in enumerate(rows):
        iso3 = country_iso3 or (row.get(iso_col) or "").split(",")[0].strip().upper() or None
        if not iso3 and adm0_code:
            iso3 = iso3_from_code(row.get(adm0_code))
        if not iso3:
            raise GazetteerFileError(f"{source}: cannot tell the country of row {i + 1}; give --country ISO3")
        parent = iso3
        for lvl in coded:
            spec = levels[lvl]
            code = _text(row.get(spec["code"]))
            if code is None:
                break
            names = {lang: _text(row.get(col)) for lang, col in spec["names"].items()}
            alts = [v for v in (_text(row.get(c)) for c in spec["alt"]) if v]
            names = {k: v for k, v in names.items() if v}
            if alts:
                names["alt"] = alts
            name = names.get("en") or next((v for k, v in names.items() if k not in ("ref", "alt")), None) \
                or names.get("ref") or code
            unit = out.get(code)
            if unit is None:
                unit = out[code] = {
                    "country_iso3": iso3, "admin_level": lvl, "pcode": code, "name": name, "names": names,
                    "parent_pcode": parent, "valid_from": parse_date(row.get(valid_on)) if valid_on else None,
                    "valid_to": parse_date(row.get(valid_to)) if valid_to else None,
                    "latitude": None, "longitude": None, "geometry": None,
                }
            else:
                for k, v in names.items():
                    unit["names"].setdefault(k, v)
            if lvl == deepest:
                if geometries is not None:
                    unit["geometry"] = geometries[i]
                if lat_col and lon_col:
                    unit["latitude"], unit["longitude"] = _float(row.get(lat_col)), _float(row.get(lon_col))
            parent = code
    return _frame(out.values())


def _admin0_units(rows, columns, geometries, country_iso3, source) -> pl.DataFrame:
    """Files with countries only (Natural Earth: iso_a3 + name): level-0 units."""
    iso_col = _first(columns, "iso_a3", "iso3", "adm0_iso3", "adm0_pcode")
    name_col = _first(columns, "adm0_en", "name", "admin", "name_en", "adm0_name")
    if iso_col is None:
        raise GazetteerFileError(
            f"{source}: no p-code columns found (expected e.g. ADM1_PCODE/ADM1_EN, ADM1_CODE/ADM1_NAME, "
            f"admin1Pcod/admin1Name, or a long list with P-Code, Name, Admin Level); columns are {columns[:12]}")
    units = []
    for i, row in enumerate(rows):
        iso3 = iso3_from_code(_text(row.get(iso_col)))
        if not iso3 or (country_iso3 and iso3 != country_iso3) or not re.fullmatch(r"[A-Z]{3}", iso3):
            continue  # Natural Earth marks disputed areas "-99"
        name = _text(row.get(name_col)) if name_col else iso3
        units.append({"country_iso3": iso3, "admin_level": 0, "pcode": iso3, "name": name or iso3,
                      "names": {"en": name} if name else {}, "parent_pcode": None, "valid_from": None,
                      "valid_to": None, "latitude": None, "longitude": None,
                      "geometry": geometries[i] if geometries else None})
    return _frame(units)


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _frame(units) -> pl.DataFrame:
    units = list(units)
    for u in units:
        u["names"] = json.dumps(u["names"], ensure_ascii=False, sort_keys=True)
    return _with_points(pl.DataFrame(units, schema=UNIT_SCHEMA))


def _with_points(units: pl.DataFrame) -> pl.DataFrame:
    """Units with a shape but no coordinates get a point inside the shape (for maps and site lookups)."""
    todo = units["geometry"].is_not_null() & units["latitude"].is_null()
    if not todo.any():
        return units
    import shapely

    points = shapely.point_on_surface(shapely.from_wkb(units.filter(todo)["geometry"].to_list()))
    lon, lat = iter(shapely.get_x(points).tolist()), iter(shapely.get_y(points).tolist())
    flags = todo.to_list()
    return units.with_columns(
        pl.Series("latitude", [next(lat) if f else v for f, v in zip(flags, units["latitude"], strict=True)], pl.Float64),
        pl.Series("longitude", [next(lon) if f else v for f, v in zip(flags, units["longitude"], strict=True)],
                  pl.Float64))


# --- long lists ---------------------------------------------------------------------------------

def units_from_long(frame: pl.DataFrame, country_iso3: str | None, source: str) -> pl.DataFrame:
    cols = frame.columns
    code = _first(cols, "p-code", "pcode", "p_code", "code")
    name = _first(cols, "name", "name_en", "admin name")
    level = _first(cols, "admin level", "admin_level", "level", "adm_level")
    parent = _first(cols, "parent p-code", "parent_pcode", "parent pcode", "parent")
    iso = _first(cols, "location", "iso3", "country_iso3", "country")
    valid = _first(cols, "valid from date", "valid_from", "validon")
    missing = [label for label, col in (("p-code", code), ("name", name), ("admin level", level)) if col is None]
    if missing:
        raise GazetteerFileError(f"{source}: no {', '.join(missing)} column (columns are {cols[:12]})")
    if iso is None and country_iso3 is None:
        raise GazetteerFileError(f"{source}: the list has no country column; give --country ISO3")
    out = frame.select(
        (pl.lit(country_iso3) if country_iso3 else pl.col(iso).str.strip_chars().str.to_uppercase())
        .alias("country_iso3"),
        pl.col(level).cast(pl.Int8, strict=False).alias("admin_level"),
        pl.col(code).str.strip_chars().alias("pcode"),
        pl.col(name).str.strip_chars().alias("name"),
        (pl.col(parent).str.strip_chars() if parent else pl.lit(None, pl.String)).alias("parent_pcode"),
        (pl.col(valid).str.slice(0, 10).str.to_date(strict=False) if valid else pl.lit(None, pl.Date))
        .alias("valid_from"),
    )
    if country_iso3 and iso:
        out = out.filter(frame[iso].str.strip_chars().str.to_uppercase() == country_iso3)
    bad = out.filter(pl.col("pcode").is_null() | pl.col("admin_level").is_null())
    if bad.height:
        raise GazetteerFileError(f"{source}: {bad.height} rows lack a p-code or admin level")
    # The OCHA list has a few units without a name (JAM): they can be matched by code only.
    return out.with_columns(
        pl.when(pl.col("name").is_null()).then(pl.lit("{}"))
        .otherwise(pl.struct(pl.col("name").alias("und")).struct.json_encode()).alias("names"),
        pl.col("name").fill_null(pl.col("pcode")),
        pl.lit(None, pl.Date).alias("valid_to"), pl.lit(None, pl.Float64).alias("latitude"),
        pl.lit(None, pl.Float64).alias("longitude"), pl.lit(None, pl.Binary).alias("geometry"),
    ).select(list(UNIT_SCHEMA))


# --- files --------------------------------------------------------------------------------------

def read_units(path: Path, country_iso3: str | None = None) -> pl.DataFrame:
    """Read one gazetteer file of any supported format into UNIT_SCHEMA units."""
    path = Path(path)
    if not path.is_file():
        raise GazetteerFileError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return _read_geojson(path, country_iso3)
    if suffix == ".shp":
        return _read_shapefile(path, country_iso3)
    if suffix in (".csv", ".csv.gz"):
        return _read_table(pl.read_csv(path, infer_schema=False, encoding="utf8-lossy"), country_iso3, path.name)
    if suffix in (".xlsx", ".xls"):
        return _read_workbook(path, country_iso3)
    raise GazetteerFileError(f"{path.name}: unsupported gazetteer format {suffix!r} "
                             "(use .csv, .xlsx, .geojson, .json or .shp)")


def _read_workbook(path: Path, country_iso3: str | None) -> pl.DataFrame:
    """COD tabular workbooks have a sheet per level (ADM0, ADM1, ADM2...): read every sheet with p-codes."""
    try:
        sheets = pl.read_excel(path, sheet_id=0, infer_schema_length=0, raise_if_empty=False)
    except Exception as exc:  # noqa: BLE001 - calamine raises many kinds; all mean "not a workbook we can read"
        raise GazetteerFileError(f"{path.name}: cannot read as a workbook ({exc})") from exc
    frames, skipped = [], []
    for sheet, frame in sheets.items():
        if frame.is_empty():
            continue
        try:
            frames.append(_read_table(frame, country_iso3, f"{path.name} [{sheet}]"))
        except GazetteerFileError as exc:
            skipped.append(str(exc))
    units = [f for f in frames if not f.is_empty()]
    if not units:
        raise GazetteerFileError("; ".join(skipped) or f"{path.name}: no sheet with p-codes")
    return pl.concat(units, how="vertical_relaxed")


def _read_table(frame: pl.DataFrame, country_iso3: str | None, source: str) -> pl.DataFrame:
    frame = frame.rename({c: c.lstrip("\ufeff").strip() for c in frame.columns})
    if frame.height and frame.row(0)[0] is not None and str(frame.row(0)[0]).startswith("#"):
        frame = frame.slice(1)  # an HXL hashtag row under the header
    if classify_columns(frame.columns) and any(
            s["code"] for lvl, s in classify_columns(frame.columns).items() if lvl > 0):
        return units_from_wide(frame.to_dicts(), None, country_iso3, source)
    return units_from_long(frame, country_iso3, source)


def _read_geojson(path: Path, country_iso3: str | None) -> pl.DataFrame:
    import shapely

    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GazetteerFileError(f"{path.name}: not valid JSON ({exc})") from exc
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise GazetteerFileError(f"{path.name}: not a GeoJSON FeatureCollection")
    rows = [f.get("properties") or {} for f in features]
    geoms = [shapely.to_wkb(shapely.geometry.shape(f["geometry"])) if f.get("geometry") else None
             for f in features]
    return units_from_wide(rows, geoms, country_iso3, path.name)


def _read_shapefile(path: Path, country_iso3: str | None) -> pl.DataFrame:
    import shapefile
    import shapely

    try:
        reader = shapefile.Reader(str(path), encoding=_shapefile_encoding(path), encodingErrors="replace")
    except shapefile.ShapefileException as exc:
        raise GazetteerFileError(f"{path.name}: cannot read shapefile ({exc})") from exc
    with reader:
        rows, geoms = [], []
        for shape_record in reader.iterShapeRecords():
            rows.append(shape_record.record.as_dict())
            geo = shape_record.shape.__geo_interface__
            geoms.append(shapely.to_wkb(shapely.geometry.shape(geo)) if geo.get("coordinates") else None)
    return units_from_wide(rows, geoms, country_iso3, path.name)


def _shapefile_encoding(path: Path) -> str:
    """The .cpg file names the DBF's code page ("UTF-8", "ISO_8859_1", "1252"); without one, UTF-8."""
    import codecs

    cpg = path.with_suffix(".cpg")
    text = cpg.read_text(errors="ignore").strip() if cpg.is_file() else ""
    if not text:
        return "utf-8"
    try:
        codecs.lookup(text)
        return text  # as the .cpg says it (pyshp compares the two)
    except LookupError:
        pass
    try:
        return codecs.lookup(f"cp{text}").name if text.isdigit() else "latin-1"
    except LookupError:
        return "latin-1"  # never fails to decode; names stay readable for the Latin-script COD files
