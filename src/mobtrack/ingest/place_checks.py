"""What the rows of a wide table say about its places, beyond what its headers or tags claim.

Three checks every wide format runs on its first batch, each reported in the notes or as an issue:
- name and code columns swapped (Nigeria R38 tags its admin2 names `+code` and p-codes `+name`);
- a finest "admin level" that is really a list of settlements (codes that do not nest in the
  parent's p-codes);
- whether several rows per place split its figure into parts, or each row is the place's total.
"""

from __future__ import annotations

import polars as pl

from mobtrack.ingest.cells import SPLIT_FIELDS, swapped_levels
from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import Issue


def fix_swaps(frame: pl.DataFrame, fields: dict[str, str], file: str, sheet) -> tuple[dict[str, str], list[Issue]]:
    pairs = {f"adm{n}": (fields[f"adm{n}_pcode"], fields[f"adm{n}_name"])
             for n in (1, 2, 3, 4) if f"adm{n}_pcode" in fields and f"adm{n}_name" in fields}
    swapped = swapped_levels(frame, pairs)
    issues = []
    fields = dict(fields)
    for level in swapped:
        code_col, name_col = pairs[level]
        fields[f"{level}_pcode"], fields[f"{level}_name"] = name_col, code_col
        issues.append(Issue(Severity.WARNING, "swapped-name-code",
                            f"#{level}+code holds names and #{level}+name holds p-codes: the two columns are "
                            "swapped in the file; read them the other way round", file, sheet, None,
                            f"#{level}+code/#{level}+name"))
    return fields, issues


def sites_below_admin(frame: pl.DataFrame, fields: dict[str, str], notes: list[str]) -> dict[str, str]:
    """The finest "admin" level is really a list of settlements when its codes do not nest in the parent's.

    COD p-codes nest (SOM2501 is in SOM25); settlement registries use their own codes
    (NA-3802-A10-001). Such a level is read as sites, which the gazetteer does not look up as units.
    """
    if "site_code" in fields or "site_name" in fields:
        return fields
    levels = [n for n in (2, 3, 4) if f"adm{n}_pcode" in fields and f"adm{n - 1}_pcode" in fields]
    if not levels:
        return fields
    n = max(levels)
    if any(f"adm{m}_pcode" in fields or f"adm{m}_name" in fields for m in range(n + 1, 5)):
        return fields
    pair = frame.select(
        pl.col(fields[f"adm{n}_pcode"]).str.strip_chars().alias("child"),
        pl.col(fields[f"adm{n - 1}_pcode"]).str.strip_chars().alias("parent"),
    ).drop_nulls()
    if pair.height == 0:
        return fields
    nested = pair.select(
        pl.col("child").str.starts_with(pl.col("parent")).mean().alias("nested"),
        pl.col("child").str.starts_with(pl.col("parent").str.extract(r"^([A-Za-z]+)", 1)).mean().alias("prefix"),
    ).row(0)
    if (nested[0] or 0) >= 0.1 or (nested[1] or 0) >= 0.1:
        return fields
    example = pair.row(0)
    fields = dict(fields)
    fields["site_code"] = fields.pop(f"adm{n}_pcode")
    if f"adm{n}_name" in fields:
        fields["site_name"] = fields.pop(f"adm{n}_name")
    notes.append(f"#adm{n} codes do not nest in #adm{n - 1} codes (e.g. {example[0]!r} in {example[1]!r}): "
                 "read as settlement/site codes and names")
    return fields


def decide_split(frame: pl.DataFrame, context: dict[str, pl.Expr], notes: list[str]) -> tuple[bool, dict]:
    """Do several rows per place split its figure? Decided on the first batch, for the whole file.

    - rows of one place that differ by reason/origin... (DTM API v3 style): parts by those fields;
    - most rows sharing their place with others and nothing to tell them apart (a site list without site
      names): each row is a part of its place's figure;
    - one row per place (a few repeats are left alone: the duplicate rules report them): the
      reason/origin columns only describe the place and are left out of the figures.
    """
    split_fields = [f for f in SPLIT_FIELDS if f in context]
    key_fields = [f for f in ("operation", "assessment_type", "round_number", "reporting_date", "admin_level",
                              "adm1_pcode", "adm1_name", "adm2_pcode", "adm2_name", "adm3_pcode", "adm3_name",
                              "adm4_pcode", "adm4_name", "site_code", "site_name") if f in context]
    probe = frame.select([context[f].alias(f) for f in key_fields + split_fields])
    groups = probe.group_by(key_fields).agg(
        pl.len().alias("_n"), *[pl.col(f).n_unique().alias(f) for f in split_fields]
    ).filter(pl.col("_n") > 1)
    if split_fields and groups.select(pl.any_horizontal(pl.col(split_fields) > 1).any()).item():
        notes.append(f"places appear on several rows that differ by {', '.join(split_fields)}: "
                     "each row's counts are parts of the place's figure")
        return True, context
    repeated_rows = int(groups["_n"].sum() or 0)
    if repeated_rows > 0.5 * frame.height:  # most rows: a list of sub-units, not stray duplicates
        notes.append(f"{repeated_rows} of {frame.height} rows share their place with other rows and nothing tells "
                     "them apart (e.g. one row per site, without site names): each row's counts are parts of the "
                     "place's figure, which is their sum")
        return True, {k: v for k, v in context.items() if k not in split_fields}
    if split_fields:
        notes.append(f"{', '.join(split_fields)} describe each place (one row per place), they do not split its "
                     "figure: left out of the figures")
    return False, {k: v for k, v in context.items() if k not in split_fields}
