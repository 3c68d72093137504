"""Which round a wide file belongs to: operation, country, assessment type, round number.

Files say it in a column, or only in their name (`..._site_assessment_round_28.xlsx`), or not
at all. The user's options win, then the file's columns, then its name. What is still unknown
makes the import refused with the option that fixes it, e.g. "no round number: pass --round".

When no operation name is given anywhere, one is derived from country and assessment type
("ETH Site / location assessment"), so that successive rounds of the same country and type
land in the same operation even when their columns and date formats change.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources

import polars as pl

from mobtrack.ingest.base import ImportOptions
from mobtrack.ingest.values import date_from_name, parse_round, round_from_name
from mobtrack.model.vocab import ASSESSMENT_LABELS, AssessmentType, parse_assessment_type
from mobtrack.validate.issue import ImportRejected


@lru_cache(maxsize=1)
def _country_lookup() -> dict[str, str]:
    path = resources.files("mobtrack") / "data" / "countries.csv"
    frame = pl.read_csv(str(path), comment_prefix="#", infer_schema=False)
    lookup: dict[str, str] = {}
    for code, name, iso2, aliases in frame.select("code", "name", "iso2", "aliases").iter_rows():
        for spelling in [code, name, iso2, *(aliases or "").split("|")]:
            if spelling:
                lookup.setdefault(_key(spelling), code)
    return lookup


def _key(text: str) -> str:
    from unidecode import unidecode

    return re.sub(r"[^a-z0-9]+", "", unidecode(text).lower())


def country_code(text: str | None) -> str | None:
    """ISO3 for a country name or code as files spell it ('Nigeria', 'NGA', 'NG'), or None."""
    if not text:
        return None
    return _country_lookup().get(_key(text))


def assessment_from_name(name: str) -> AssessmentType | None:
    """'iom_dtm_ethiopia_site_assessment_round_28.xlsx' -> SA (longest run of words first)."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.rsplit(".", 1)[0].lower()) if w]
    for size in (4, 3, 2, 1):
        for i in range(len(words) - size + 1):
            phrase = "".join(words[i : i + size])
            # single short words ("sa", "site", "reg") are too common in file names to trust
            found = parse_assessment_type(phrase) if size > 1 or len(phrase) >= 6 else None
            if found:
                return found
    return None


def country_from_name(name: str) -> str | None:
    words = [w for w in re.split(r"[^a-z]+", name.lower()) if len(w) > 3]
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            code = _country_lookup().get("".join(words[i : i + size]))
            if code:
                return code
    return None


def country_from_pcodes(columns: dict[str, pl.Expr], sample: pl.DataFrame) -> str | None:
    """'MW3' / 'UA71' / 'SOM25' -> the country whose ISO2/ISO3 code prefixes the admin1 p-codes."""
    for level in (1, 2, 3):
        expr = columns.get(f"adm{level}_pcode")
        if expr is None or sample.height == 0:
            continue
        prefixes = sample.select(expr.str.extract(r"^([A-Za-z]{2,3})\d", 1).str.to_uppercase().drop_nulls().unique())
        codes = {_country_lookup().get(_key(p)) for p in prefixes.to_series().to_list()}
        codes.discard(None)
        if len(codes) == 1:
            return codes.pop()
    return None


def given_reporting_date(options: ImportOptions, ctx: dict[str, pl.Expr], notes: list[str],
                         file_name: str | None = None) -> None:
    """Apply a reporting date given by the user (ImportOptions.reporting_date, when the CLI offers it);
    when neither the user nor the file's columns give one, take a date written in the file name."""
    given = getattr(options, "reporting_date", None)
    if given is None:
        found = date_from_name(file_name) if file_name and "reporting_date" not in ctx else None
        if found:
            ctx["reporting_date"] = pl.lit(found[0], dtype=pl.Date)
            notes.append(f"reporting date {found[0]} taken from the file name ({found[1]})")
        return
    if isinstance(given, str):
        try:
            given = date.fromisoformat(given)
        except ValueError as exc:
            raise ImportRejected(f"reporting date {given!r} is not a date (YYYY-MM-DD)") from exc
    ctx["reporting_date"] = pl.lit(given, dtype=pl.Date)
    notes.append(f"reporting date {given} as given")


def derived_operation(iso3: pl.Expr, assessment: pl.Expr) -> pl.Expr:
    labels = {str(k): v for k, v in ASSESSMENT_LABELS.items()}
    return pl.concat_str([iso3, pl.lit(" "), assessment.replace_strict(labels, default=assessment)])


def resolve(
    columns: dict[str, pl.Expr],
    options: ImportOptions,
    file_name: str,
    sample: pl.DataFrame,
    notes: list[str],
) -> dict[str, pl.Expr]:
    """Expressions for operation, country_iso3, assessment_type and round_number.

    `columns` holds the expressions of the file's own columns (any subset of those four plus
    `country_name`); `sample` is a frame they can be evaluated on, to tell a column that is
    entirely empty from one that answers.
    """
    out: dict[str, pl.Expr] = {}
    missing: list[str] = []

    def has_values(expr: pl.Expr) -> bool:
        return sample.height > 0 and sample.select(expr.is_not_null().any()).item()

    # country
    if options.country_iso3:
        out["country_iso3"] = pl.lit(country_code(options.country_iso3) or options.country_iso3.strip().upper())
    else:
        candidates = []
        if "country_iso3" in columns:
            # codes as written ("nga", "NG", even "Nigeria" in a code column) to ISO3
            candidates.append(map_unique(columns["country_iso3"], lambda v: country_code(v) or v.strip().upper()))
        if "country_name" in columns:
            candidates.append(_map_countries(columns["country_name"], sample))
        from_codes = country_from_pcodes(columns, sample)
        if from_codes:
            candidates.append(pl.lit(from_codes))
        from_name = country_from_name(file_name)
        if from_name:
            candidates.append(pl.lit(from_name))
        expr = pl.coalesce(candidates) if candidates else None
        if expr is None or not has_values(expr):
            missing.append("no country: pass --country ISO3")
        else:
            out["country_iso3"] = expr
            own = candidates[: len(candidates) - bool(from_codes) - bool(from_name)]
            if not any(has_values(c) for c in own):
                source = "the p-codes" if from_codes else "the file name"
                notes.append(f"country {from_codes or from_name} taken from {source}")

    # assessment type
    if options.assessment_type:
        parsed = parse_assessment_type(options.assessment_type)
        if parsed is None:
            raise ImportRejected(f"unknown assessment type {options.assessment_type!r}; use one of "
                                 + ", ".join(a.value for a in AssessmentType))
        out["assessment_type"] = pl.lit(parsed.value)
    else:
        expr = _map_assessment(columns["assessment_type"], sample) if "assessment_type" in columns else None
        from_name = assessment_from_name(file_name)
        if expr is not None and has_values(expr):
            out["assessment_type"] = pl.coalesce(expr, pl.lit(from_name.value if from_name else None))
        elif from_name:
            out["assessment_type"] = pl.lit(from_name.value)
            notes.append(f"assessment type {from_name.value} taken from the file name")
        else:
            missing.append("no assessment type: pass --assessment-type (BA, SA, ETT, FMC, FMS, REG or SRV)")

    # round number
    if options.round_number is not None:
        out["round_number"] = pl.lit(options.round_number, dtype=pl.Int32)
    else:
        from_name = round_from_name(file_name)
        expr = parse_round(columns["round_number"]) if "round_number" in columns else None
        if expr is not None and has_values(expr):
            out["round_number"] = pl.coalesce(expr, pl.lit(from_name, dtype=pl.Int32))
        elif from_name is not None:
            out["round_number"] = pl.lit(from_name, dtype=pl.Int32)
            notes.append(f"round {from_name} taken from the file name")
        else:
            missing.append("no round number: pass --round N")

    if missing:
        raise ImportRejected(f"{file_name}: cannot tell which round this file is: " + "; ".join(missing))

    # operation
    if options.operation:
        out["operation"] = pl.lit(options.operation)
    else:
        derived = derived_operation(out["country_iso3"], out["assessment_type"])
        if "operation" in columns and has_values(columns["operation"]):
            out["operation"] = pl.coalesce(columns["operation"], derived)
        else:
            out["operation"] = derived
            name = sample.select(derived.first()).item() if sample.height else None
            notes.append(f"no operation name in the file: using {name!r} (country + assessment type); "
                         "pass --operation to choose another")
    return out


def map_unique(expr: pl.Expr, fn, dtype=pl.String) -> pl.Expr:
    """Apply a Python function once per distinct value (files repeat a handful of spellings)."""

    def apply(series: pl.Series) -> pl.Series:
        uniques = series.drop_nulls().unique().to_list()
        mapping = {u: fn(u) for u in uniques}
        return series.replace_strict(mapping, default=None, return_dtype=dtype)

    return expr.map_batches(apply, return_dtype=dtype)


def _map_countries(expr: pl.Expr, sample: pl.DataFrame) -> pl.Expr:
    return map_unique(expr, country_code)


def _assessment_slug(value: str) -> str:
    parsed = parse_assessment_type(value)
    return parsed.value if parsed else value.strip().upper()


def _map_assessment(expr: pl.Expr, sample: pl.DataFrame) -> pl.Expr:
    return map_unique(expr, _assessment_slug)
