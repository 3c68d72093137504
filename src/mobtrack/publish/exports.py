"""Write a table of figures in the formats people download: CSV, XLSX, HXL-tagged CSV, GeoJSON, Parquet.

The table is whatever the service layer returned (already protected for public callers): exports
never read the store themselves, so they cannot bypass disclosure control.

HXL hashtags follow the HXL standard (hxlstandard.org/standard/dictionary): places as
`#adm1+code` / `#adm1+name`, counts as `#affected+idps+ind` (population group and unit as attributes),
dates as `#date+reported`, provenance as `#meta+source`.
"""

from __future__ import annotations

import io
import json

import polars as pl

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "hxl": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "geojson": ("application/geo+json", "geojson"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}

# HXL attributes for the canonical population groups and units.
GROUP_ATTRIBUTES = {"idps": "+idps", "returnees_internal": "+returnees+idps", "returnees_abroad": "+returnees+abroad",
                    "refugees": "+refugees", "migrants": "+migrants", "host_community": "+host",
                    "absentees": "+absentees"}
UNIT_ATTRIBUTES = {"individuals": "+ind", "households": "+hh"}
DIMENSION_TAGS = {"sex": "#sex", "age_band": "#indicator+age", "reason": "#cause", "origin_pcode": "#adm1+code+origin",
                  "shelter_type": "#indicator+shelter", "displacement_period": "#date+displaced",
                  "destination_pcode": "#adm1+code+destination", "nationality": "#country+code+nationality",
                  "transport": "#indicator+transport", "direction": "#indicator+direction"}


def hxl_tags(frame: pl.DataFrame, level: int | None = None) -> dict[str, str]:
    """One hashtag per column (empty where HXL has no fitting tag)."""
    adm = f"#adm{level}" if level and 1 <= level <= 4 else "#loc" if level == 5 else "#country"
    group = frame["population_group"][0] if "population_group" in frame.columns and frame.height else "idps"
    unit = frame["unit"][0] if "unit" in frame.columns and frame.height else "individuals"
    value = f"#affected{GROUP_ATTRIBUTES.get(group, '')}{UNIT_ATTRIBUTES.get(unit, '')}"
    known = {
        "pcode": f"{adm}+code", "name": f"{adm}+name", "value": value, "previous_value": f"{value}+previous",
        "change": f"{value}+change", "change_pct": f"{value}+change+pct", "suppressed": "#meta+suppressed",
        "operation": "#activity+name", "assessment_type": "#activity+type", "round": "#meta+round",
        "round_version": "#meta+version", "reporting_date": "#date+reported", "period_start": "#date+start",
        "period_end": "#date+end", "source_file": "#meta+source", "population_group": "#population+type",
        "unit": "#indicator+unit", "level": "#meta+level", "date": "#date+reported",
        **DIMENSION_TAGS,
    }
    return {c: known.get(c, "") for c in frame.columns}


# A text cell starting with one of these is run as a formula by spreadsheet programs (OWASP "CSV
# injection"): a place name like =HYPERLINK(...) must reach the user as text, never as a formula.
# A lone "-" (a placeholder) is left as it is.
FORMULA_START = r"^([=+@\t\r]|-.)"


def defuse_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (CSV has no cell types)."""
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns([
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts])


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).cast(pl.String) for c, t in frame.schema.items()
                               if isinstance(t, (pl.Struct, pl.List, pl.Object))])


def _write_xlsx(frame: pl.DataFrame, buf: io.BytesIO) -> None:
    # openpyxl (already needed to read workbooks) in write-only mode: rows stream, memory stays flat.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("figures")
    sheet.append(frame.columns)

    def cell(value):
        if isinstance(value, str) and value.startswith("="):
            # openpyxl stores any string starting with '=' as a formula: say it is text.
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        return value

    for row in frame.iter_rows():
        sheet.append([cell(v) for v in row])
    book.save(buf)


def export(frame: pl.DataFrame, fmt: str, level: int | None = None, geometry: dict | None = None) -> bytes:
    """The frame as bytes in `fmt` (see FORMATS). `geometry`: a GeoJSON FeatureCollection keyed by pcode."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    frame = _flat(frame)
    buf = io.BytesIO()
    if fmt == "csv":
        defuse_formulas(frame).write_csv(buf)
    elif fmt == "hxl":
        tags = hxl_tags(frame, level)
        texts = defuse_formulas(frame).with_columns(pl.all().cast(pl.String))  # numbers keep their sign
        tagged = pl.concat([pl.DataFrame([tags]).cast(pl.String), texts], how="vertical")
        tagged.write_csv(buf)
    elif fmt == "xlsx":
        _write_xlsx(frame, buf)
    elif fmt == "parquet":
        frame.write_parquet(buf, compression="zstd")
    elif fmt == "geojson":
        shapes = {f["properties"]["pcode"]: f["geometry"] for f in (geometry or {}).get("features", [])}
        features = [{"type": "Feature", "geometry": shapes.get(r.get("pcode")),
                     "properties": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}}
                    for r in frame.iter_rows(named=True)]
        buf.write(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode())
    return buf.getvalue()
