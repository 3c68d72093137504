"""World Bank bilateral migration matrix: a square table, origins down, destinations across, by name.

The file has no codes, only names ("Bahamas, The", "Korea, Dem. Rep."), so every name goes through the
crosswalk; an unmapped destination rejects its whole column (one issue, on the header), an unmapped
origin its row. Aggregate rows or columns ("World", "Total") are skipped with a warning. The matrix
states no year inside the file: it is taken from the file name (`..._2013.tsv`) or from `--year`.
Zeros are not stored: in a 214 x 214 matrix most cells are structural zeros.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import LoadError, Parsed, add_row_numbers, conform, issues_from, parse_numbers
from mobtrack.validate.issue import Issue

SOURCE = "worldbank"
AGGREGATES = re.compile(r"^(world|total|other north|other south|high income|low income|middle income)$", re.I)


def sniff(columns: list[str], name: str) -> str | None:
    if len(columns) < 3 or not re.search(r"destination|source|origin", columns[0], re.I):
        return None
    crosswalk = Crosswalk.default()
    named = sum(crosswalk.resolve(c, "name").code is not None for c in columns[1:])
    return "worldbank_bilateral" if named >= 0.5 * (len(columns) - 1) else None


def _year(path: Path, year: int | None) -> int:
    if year is not None:
        return year
    found = re.findall(r"(?<!\d)(19[6-9]\d|20\d\d)(?!\d)", path.name)
    if len(found) != 1:
        raise LoadError(f"{path.name}: the World Bank matrix states no year; put it in the file name "
                        "(e.g. bilateral_migration_matrix_2013.tsv) or pass --year")
    return int(found[0])


def read(path: Path, crosswalk: Crosswalk, year: int | None = None) -> Parsed:
    from mobtrack.stats.load import first_line

    separator = "\t" if b"\t" in first_line(path) else ","
    frame = pl.read_csv(path, separator=separator, infer_schema_length=0)
    if sniff(frame.columns, path.name) is None:
        raise LoadError(f"{path.name}: not a World Bank bilateral matrix (origins down, destinations across)")
    the_year = _year(path, year)
    file = path.name
    rows_read = len(frame)
    first = frame.columns[0]
    frame = add_row_numbers(frame).rename({first: "origin_name"})
    issues: list[Issue] = []
    destinations: dict[str, str] = {}
    for col in frame.columns[2:]:
        if AGGREGATES.match(col.strip()):
            issues.append(Issue(Severity.WARNING, "aggregate-skipped", f"aggregate column {col!r} skipped",
                                file=file, row=1, column=col, value=col))
            continue
        r = crosswalk.resolve(col, "name")
        if r.code is None:
            hint = f"; did you mean {', '.join(r.suggestions)}?" if r.suggestions else ""
            issues.append(Issue(Severity.ERROR, "unknown-country",
                                f"destination {col!r} not in the crosswalk ({r.reason}){hint}; column rejected",
                                file=file, row=1, column=col, value=col))
        else:
            destinations[col] = r.code
    agg = frame.filter(pl.col("origin_name").str.strip_chars().str.contains("(?i)" + AGGREGATES.pattern))
    issues += [Issue(Severity.WARNING, "aggregate-skipped", f"aggregate row {n!r} skipped", file=file, row=int(r),
                     column=first, value=n) for r, n in zip(agg["row"].to_list(), agg["origin_name"].to_list(), strict=True)]
    frame = frame.filter(~pl.col("row").is_in(agg["row"].implode()))
    origins = crosswalk.mapping(frame["origin_name"], "name").rename({"value": "origin_name", "code": "origin"})
    frame = frame.join(origins.drop("reason"), on="origin_name", how="left")
    bad = frame.filter(pl.col("origin").is_null())
    issues += issues_from(bad, file, first, "unknown-country", "origin {value!r} not in the crosswalk; row rejected",
                          value_column="origin_name")
    frame = frame.filter(pl.col("origin").is_not_null())
    frame, more = parse_numbers(frame, list(destinations), file)
    issues += more
    long = (
        frame.select("row", "origin", *destinations)
        .unpivot(index=["row", "origin"], on=list(destinations), variable_name="dest_name", value_name="value")
        .with_columns(pl.col("dest_name").replace_strict(destinations).alias("destination"))
        .filter(pl.col("value").is_not_null() & (pl.col("value") != 0))
        .with_columns(pl.lit(the_year).alias("year"), pl.lit("migrant_stock").alias("measure"),
                      pl.col("dest_name").alias("detail"))
        .sort("row", "destination")
    )
    facts = conform(long)
    if facts.is_empty():
        raise LoadError(f"{file}: no usable cells ({len(issues)} issues)")
    return Parsed(SOURCE, "worldbank_bilateral", str(the_year), facts, rows_read, issues, bilateral=True)
