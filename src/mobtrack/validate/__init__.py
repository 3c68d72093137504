"""Validation: a registry of small rules, each reporting issues per row with a severity.

Two kinds of rule:
- `RowRule` looks at a batch of canonical records (after place matching, so the match
  columns are there). Most row rules only declare a boolean Polars expression (`when`) that
  is true on offending rows; `check_rows` evaluates every rule's expression in one pass.
- `RoundRule` looks at one whole round at once (duplicates, sums, change against the previous
  round, ...) and returns a *findings* frame: one row per problem.

Either way a rule never builds issues itself: it says which rows offend, and `issues_from_rows`
turns at most `max_issues_per_rule` of them per file into `Issue` objects (plus one summary issue
per call saying how many more there were), so a broken 10-million-row file cannot produce
10 million issues. A findings frame carries `source_sheet`, `source_row`, optionally `column`
and `value` (what the issue points at) and any columns the rule's message template names.

A new rule is one new module in `mobtrack/validate/rules/` that defines a subclass and
decorates it with `@rule`. Rules never raise on bad data and never modify the records.
The rule catalogue (docs/validation.md) is generated from the registry:
`python -m mobtrack.validate.rules._catalogue --write docs/validation.md`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from mobtrack.model.vocab import Severity
from mobtrack.validate.issue import ImportRejected, Issue

# Columns the gazetteer stage adds to canonical records before rules run.
MATCH_COLUMNS: dict[str, pl.DataType] = {
    "location_pcode": pl.String,  # resolved p-code of the row's place (null when not accepted)
    "match_method": pl.String,  # exact-code | normalised-code | exact-name | normalised-name | fuzzy | alias | source
    "match_score": pl.Float64,  # 0-100
    "match_status": pl.String,  # matched | review | unmatched
    "match_detail": pl.String,  # human-readable note, e.g. "PCode length TD07->TCD07"
}

DEFAULT_MAX_ISSUES_PER_RULE = 1000
ROUND_ID = ["operation", "country_iso3", "assessment_type", "round_number"]


@dataclass(frozen=True)
class Setting:
    """One configuration key a rule reads from `RuleContext.settings` (documented in the catalogue)."""

    name: str
    default: Any
    doc: str


@dataclass
class RuleContext:
    """What rules may know besides the records. The pipeline makes one context per source file
    and reuses it for every batch and round of that file (the issue cap and the file-wide
    spelling check keep their counts in it)."""

    file: str
    settings: dict = field(default_factory=dict)
    # figures (location_pcode or location_id, population_group, unit, value) of the previous round of
    # the same operation and assessment type, or None; set by the pipeline. When it also has the
    # ROUND_ID columns, each row is the previous figure *for* that round (several rounds checked at once).
    previous_figures: pl.DataFrame | None = None
    # headline totals of rounds already stored: callable(operation) -> DataFrame
    # (assessment_type, round_number, population_group, unit, value)
    stored_round_totals: Callable[[str], pl.DataFrame] | None = None
    # totals of rounds checked in the same call that will be stored before the later ones (operation,
    # assessment_type, round_number, population_group, unit, value, `_pos`: the round's position in
    # the records; a round with a null value has no totals): to a later round they are stored
    # rounds, replacing a stored one of the same type and number
    batch_round_totals: pl.DataFrame | None = None
    # per-file bookkeeping, owned by the rules and the issue cap; callers leave it alone
    reported: Counter = field(default_factory=Counter)
    state: dict = field(default_factory=dict)
    # per-round work shared by round rules (keyed frame, repeated rows, figures); emptied by
    # check_round before and after each round so it never holds a finished round in memory
    cache: dict = field(default_factory=dict)

    def setting(self, key: str, default):
        """A setting, type-checked against its default so a typo in a rulebook fails loudly."""
        if key not in self.settings:
            return default
        value = self.settings[key]
        if default is None or value is None:
            return value
        if isinstance(default, bool) != isinstance(value, bool):
            raise ValueError(f"validation setting {key!r} must be {type(default).__name__}, got {value!r}")
        if isinstance(default, int | float) and not isinstance(value, int | float):
            raise ValueError(f"validation setting {key!r} must be a number, got {value!r}")
        if isinstance(default, dt.date) and not isinstance(value, dt.date):
            try:
                return dt.date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(f"validation setting {key!r} must be a date (YYYY-MM-DD), got {value!r}") from None
        if isinstance(default, list | tuple | set | frozenset) and not isinstance(value, list | tuple | set | frozenset):
            raise ValueError(f"validation setting {key!r} must be a list, got {value!r}")
        return value

    @property
    def max_issues(self) -> int:
        return int(self.setting("max_issues_per_rule", DEFAULT_MAX_ISSUES_PER_RULE))


def template_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


class _Rule:
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    description: ClassVar[str]  # one line: what it checks
    message: ClassVar[str]  # str.format template over the findings' columns
    fix: ClassVar[str] = ""  # how a user fixes it (catalogue)
    example: ClassVar[dict] = {}  # template values for the catalogue's example message
    settings: ClassVar[tuple[Setting, ...]] = ()
    columns: ClassVar[tuple[str, ...]] = ()  # canonical columns the rule needs; absent -> rule skipped

    def setting(self, ctx: RuleContext, name: str):
        for s in self.settings:
            if s.name == name:
                return ctx.setting(name, s.default)
        raise KeyError(f"{self.slug}: undeclared setting {name!r}")

    def applies(self, records: pl.DataFrame) -> bool:
        return all(c in records.columns for c in self.columns)

    def render(self, values: dict) -> str:
        return self.message.format(**values)


class RowRule(_Rule):
    # the issue points at this column (a name), or at each row's `source_column` when None
    column: ClassVar[str | None] = None
    # expression giving the issue's `value` (the offending cell as text); None: no value
    value: ClassVar[str | None] = None

    def when(self, ctx: RuleContext) -> pl.Expr:
        """Boolean expression, true on offending rows (null counts as false)."""
        raise NotImplementedError

    def extra(self, ctx: RuleContext) -> list[pl.Expr]:
        """Additional named expressions the message template uses."""
        return []

    def find(self, records: pl.DataFrame, ctx: RuleContext, mask: pl.Series | None = None) -> pl.DataFrame:
        """Offending rows as a findings frame. Override for rules that are not a single mask."""
        if mask is None:
            mask = records.select(self.when(ctx).fill_null(False)).to_series()
        rows = records.filter(mask)
        cols = [pl.col("source_sheet"), pl.col("source_row")]
        cols.append(pl.lit(self.column).alias("column") if self.column else pl.col("source_column").alias("column"))
        if self.value:
            cols.append(pl.col(self.value).cast(pl.String).alias("value"))
        cols += self.extra(ctx)  # nosec B610
        cols += [c for c in round_id(rows) if c.meta.output_name() not in {e.meta.output_name() for e in cols}]
        taken = {e.meta.output_name() for e in cols}
        cols += [pl.col(n) for n in template_fields(self.message) if n in rows.columns and n not in taken]
        return rows.select(cols)

    def check(self, records: pl.DataFrame, ctx: RuleContext) -> Iterable[Issue]:
        if not self.applies(records):
            return []
        return issues_from_rows(self.find(records, ctx), ctx, self.slug, self.severity, self.render)


class RoundRule(_Rule):
    """A rule over whole rounds. `records` holds one round, or several whole rounds one after the
    other (the pipeline checks a batch of rounds at once): a rule keys its work by the round columns
    (cell_columns does), and what it knows of other rounds (previous figures, stored totals) names
    the round it is for."""

    def find_round(self, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
        raise NotImplementedError

    def check_round(self, records: pl.DataFrame, ctx: RuleContext) -> Iterable[Issue]:
        if not self.applies(records) or records.height == 0:
            return []
        found = with_round_identity(self.find_round(records, ctx), records, ctx)
        return issues_from_rows(found, ctx, self.slug, self.severity, self.render)


RULES: dict[str, RowRule | RoundRule] = {}


def rule(cls):
    if cls.slug in RULES and type(RULES[cls.slug]) is not cls:
        raise ValueError(f"two validation rules share the slug {cls.slug!r}")
    RULES[cls.slug] = cls()
    return cls


_loaded = False


def _load_rules() -> None:
    # a flag, not `if RULES`: importing one rule module directly must not hide the others
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules([str(Path(__file__).parent / "rules")]):
        if not info.name.startswith("_"):  # _common, _catalogue: helpers, not rules
            importlib.import_module(f"mobtrack.validate.rules.{info.name}")


def all_rules() -> dict[str, RowRule | RoundRule]:
    _load_rules()
    return dict(sorted(RULES.items()))


def issues_from_rows(
    rows: pl.DataFrame, ctx: RuleContext, slug: str, severity: Severity, message: str | Callable[[dict], str],
    column: str | None = None, value_column: str | None = None,
) -> list[Issue]:
    """Turn the offending rows of a check into issues, one per row, with provenance.

    Only the first `max_issues_per_rule` rows per rule and file become issues; the rest are
    summarised by one issue per round (at the round's first unlisted row) saying how many more
    there are, so the report is bounded whatever the size of the file.
    """
    total = rows.height
    if total == 0:
        return []
    room = max(ctx.max_issues - ctx.reported[slug], 0)
    listed = rows.head(room)
    out = []
    for r in listed.iter_rows(named=True):
        col = column or r.get("column") or r.get("source_column")
        if value_column is not None:
            val = r.get(value_column)
        else:
            val = r.get("value")
        out.append(Issue(
            severity=severity, rule=slug,
            message=message(r) if callable(message) else message,
            file=ctx.file, sheet=r.get("source_sheet"), row=r.get("source_row"),
            column=col, value=None if val is None else str(val),
        ))
    ctx.reported[slug] += total
    hidden = rows.slice(listed.height)
    if hidden.height == 0:
        return out
    # One summary per round among the hidden rows, pointing at its first hidden row: the pipeline
    # attaches row issues to the row's round, so every round with a hidden error stays blocked.
    by = [c for c in ROUND_ID if c in hidden.columns]
    groups = (hidden.group_by(by, maintain_order=True).agg(pl.len().alias("n"), pl.col("source_sheet").first(),
                                                            pl.col("source_row").first())
              if by else hidden.select(pl.len().alias("n"), pl.col("source_sheet").first(),
                                       pl.col("source_row").first()))
    for n, sheet, row in groups.select("n", "source_sheet", "source_row").iter_rows():
        out.append(Issue(
            severity=severity, rule=slug, file=ctx.file, sheet=sheet, row=row,
            message=(f"this row and {n - 1:,} more fail {slug!r} but are not listed one by one "
                     f"(only the first {ctx.max_issues:,} per rule and file are; "
                     f"{ctx.reported[slug]:,} in this file so far)"),
        ))
    return out


def varying(records: pl.DataFrame, columns: list[str]) -> list[str]:
    """The columns (of those given) whose value is not the same on every row.

    Grouping keys are costly in proportion to their number; within one round most identity
    columns are constant (operation, round, country) or entirely null (the raw place columns
    once places are matched, unused disaggregations), and a constant column splits nothing."""
    columns = [c for c in columns if c in records.columns]
    if records.height <= 1 or not columns:
        return []
    stats = records.select(
        *[pl.col(c).null_count().alias(f"n{i}") for i, c in enumerate(columns)],
        *[(pl.col(c).min() == pl.col(c).max()).alias(f"s{i}") for i, c in enumerate(columns)],
    ).row(0, named=True)
    out = []
    for i, c in enumerate(columns):
        nulls = stats[f"n{i}"]
        constant = nulls == records.height or (nulls == 0 and bool(stats[f"s{i}"]))
        if not constant:
            out.append(c)
    return out


def rounds_in(records: pl.DataFrame, ctx: RuleContext | None = None) -> pl.DataFrame:
    """The rounds a frame holds, in the order they appear: ROUND_ID columns plus `_first`, the
    position of each round's first row. Kept in the context: several round rules need it."""
    if ctx is not None:
        cached = ctx.cache.get("_rounds")
        if cached is not None and cached[0] is records:
            return cached[1]
    by = [c for c in ROUND_ID if c in records.columns]
    if not by:
        out = pl.DataFrame({"_first": [0]}, schema={"_first": pl.UInt32})
    elif not varying(records, by):  # the usual case (a big round is finalised alone): no grouping needed
        out = records.select(by).head(1).with_columns(pl.lit(0, dtype=pl.UInt32).alias("_first"))
    else:
        out = (records.select(by).with_row_index("_first").group_by(by, maintain_order=True)
               .agg(pl.col("_first").first()))
    if ctx is not None:
        ctx.cache["_rounds"] = (records, out)
    return out


def with_round_identity(found: pl.DataFrame, records: pl.DataFrame, ctx: RuleContext) -> pl.DataFrame:
    """Findings over several rounds get the round columns of the row they point at, so that the issue
    cap summarises hidden rows per round (every round with a hidden error stays blocked)."""
    missing = [c for c in ROUND_ID if c in records.columns and c not in found.columns]
    if found.height == 0 or not missing or rounds_in(records, ctx).height <= 1:
        return found
    where = [c for c in ("source_sheet", "source_row") if c in found.columns and c in records.columns]
    if len(where) < 2:
        return found
    return found.join(first_rows(records, found["source_row"], missing), on=where, how="left", nulls_equal=True,
                      maintain_order="left")


def first_rows(records: pl.DataFrame, source_rows: pl.Series, columns: list[str]) -> pl.DataFrame:
    """source_sheet, source_row and `columns` of the first row of `records` at each of `source_rows`
    (a row of the source may be several records). The few rows asked for are found first with a cheap
    integer filter: deduplicating every record of a batch cost more than the rest of the lookup."""
    return (records.select("source_sheet", "source_row", *columns)
            .filter(pl.col("source_row").is_in(source_rows.drop_nulls().unique().implode()))
            .unique(["source_sheet", "source_row"], keep="first", maintain_order=True))


def round_id(frame: pl.DataFrame) -> list[pl.Expr]:
    """The round identity columns a findings frame should carry (for the issue cap's summaries)."""
    return [pl.col(c) for c in ROUND_ID if c in frame.columns]


def repeats(records: pl.DataFrame, ctx: RuleContext | None = None) -> pl.Series:
    """Boolean mask of the rows that repeat the cell of an earlier row, exactly as the
    `exact-duplicate` and `conflicting-duplicate` rules define it (round x place x group x unit x
    role x disaggregation; parts with no disaggregation -- a site list without site names -- are
    never repeats, their sum is the figure). `records.filter(~repeats(records))` keeps what the
    rules judged: the first of each repeated cell. `ctx`: the context `check_round` will then be
    given the same frame with; the rules reuse what this computed (duplicates, cell keys)."""
    from mobtrack.validate.rules._duplicates import repeated_rows

    found = repeated_rows(records, RuleContext("") if ctx is None else ctx)
    mask = pl.repeat(False, records.height, dtype=pl.Boolean, eager=True).alias("repeat")
    if found.height:
        mask = mask.scatter(found["_order"].cast(pl.Int64), True)
    return mask


def _enabled(ctx: RuleContext) -> list[RowRule | RoundRule]:
    if not ctx.state.get("_settings_checked"):
        # read every declared setting once, so a wrongly typed one fails before any work,
        # not only when the data happens to reach the rule that reads it
        ctx.max_issues  # noqa: B018
        for r in all_rules().values():
            for s in r.settings:
                ctx.setting(s.name, s.default)
        ctx.state["_settings_checked"] = True
    disabled = set(ctx.setting("disabled_rules", []))
    unknown = disabled - set(all_rules())
    if unknown:
        raise ValueError(f"disabled_rules names unknown rules: {sorted(unknown)}")
    return [r for slug, r in all_rules().items() if slug not in disabled]


def check_rows(records: pl.DataFrame, ctx: RuleContext) -> list[Issue]:
    """Run every row rule on a batch. Mask rules are evaluated together in one Polars pass."""
    out: list[Issue] = []
    if records.height == 0:
        return out
    masked, custom = [], []
    for r in _enabled(ctx):
        if not isinstance(r, RowRule) or not r.applies(records):
            continue
        (custom if type(r).find is not RowRule.find else masked).append(r)
    if masked:
        masks = records.select([r.when(ctx).fill_null(False).alias(r.slug) for r in masked])
        hits = masks.select(pl.all().any()).row(0, named=True)
        for r in masked:
            if hits[r.slug]:
                found = r.find(records, ctx, masks.get_column(r.slug))
                out.extend(issues_from_rows(found, ctx, r.slug, r.severity, r.render))
    for r in custom:
        out.extend(r.check(records, ctx))
    return out


def check_round(records: pl.DataFrame, ctx: RuleContext) -> list[Issue]:
    """Run every round rule on one round, or on several whole rounds at once (one after the other,
    in the order they are finalised): the same issues as one call per round, at a fraction of the
    cost when rounds are small."""
    out: list[Issue] = []
    # keep only what was computed for this very frame (the pipeline's `repeats` fills it first):
    # every cache entry is (the frame it was computed for, ...)
    for key in [k for k, v in ctx.cache.items() if not (isinstance(v, tuple) and v and v[0] is records)]:
        del ctx.cache[key]
    try:
        for r in _enabled(ctx):
            if isinstance(r, RoundRule):
                out.extend(r.check_round(records, ctx))
    finally:
        ctx.cache.clear()
    return out


__all__ = ["DEFAULT_MAX_ISSUES_PER_RULE", "MATCH_COLUMNS", "RULES", "ImportRejected", "Issue", "RoundRule",
           "RowRule", "RuleContext", "Setting", "all_rules", "check_round", "check_rows", "issues_from_rows",
           "repeats", "rounds_in", "rule", "varying", "with_round_identity"]
