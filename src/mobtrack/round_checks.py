"""A batch's round rules, run in a worker thread while the importer goes on with the next batch.

The round rules are about a third of what the importer's thread did for a large round (duplicates,
sums, round over round, repeated rounds, spellings: a few dozen Polars calls, which run without
the GIL), and nothing the importer does next depends on their issues: they are only stored, with the
other issues, when the file ends. On a machine with two cores they overlap the next batch's
matching, settling, rolling up and writing.

What stays the same as checking in place: the rules see the same frames and the same context
(the issue cap and the file-wide spelling state are shared, and only round rules use them on
this thread, one batch after the other, in file order); what they may know of the store (the
previous round's figures, the totals of stored rounds) is read by the importer's thread before
the batch is handed over, as the rules would have read it then; the issues take the places in
the result and in the store that they would have taken (`Later`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from mobtrack.validate import Issue, RuleContext, check_round


class Later:
    """A run of entries of a list whose values are known later (when a batch's round rules are
    done): `flatten` puts them in its place."""

    __slots__ = ("entries",)

    def __init__(self, entries: Callable[[], list]):
        self.entries = entries


def flatten(items: list) -> list:
    return [entry for item in items for entry in (item.entries() if isinstance(item, Later) else (item,))]


class RoundChecks:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mobtrack-round-rules")
        self.running: Future | None = None

    def submit(self, records: pl.DataFrame, ctx: RuleContext,
               route: Callable[[list[Issue], pl.DataFrame], list]) -> Future:
        """Check `records` (whole rounds) with `ctx`, which belongs to this batch alone (its cache, its
        previous figures and totals); the Future gives the issues and `route(issues, records)`. One
        batch is checked at a time: memory grows by one batch at most."""
        if self.running is not None:
            self.running.result()
        # A clone (no copy of the data): Polars locks a frame object while some calls use it, and the
        # importer's thread may use its own object meanwhile (see store/block_writer.py)
        self.running = self.executor.submit(_check, records.clone(), ctx, route)
        return self.running

    def close(self, cancel: bool = True) -> None:
        """Stop the worker: once the batch it checks is done, or (`cancel=False`) once every batch
        submitted is."""
        self.executor.shutdown(wait=True, cancel_futures=cancel)


def stored_issues(checking: Future, stored_rounds: list[tuple[int, int, list[Issue]]]) -> list[tuple[int | None, Issue]]:
    """The issues a batch stores, in order: file-wide findings of its round rules, then each stored
    round's row issues and round issues (`checking`: the batch's round rules, see round_checks.py)."""
    issues, found = checking.result()
    by_round: dict[int | None, list[Issue]] = {}
    for issue, where in zip(issues, found, strict=True):
        by_round.setdefault(None if where is None else where[0], []).append(issue)
    # an issue that points at no row of these rounds (a file-wide finding) is kept for the file
    out: list[tuple[int | None, Issue]] = [(None, i) for i in by_round.pop(None, [])]
    for pos, vid, row_issues in stored_rounds:
        out.extend((vid, i) for i in row_issues + by_round.get(pos, []))
    return out


def _check(records: pl.DataFrame, ctx: RuleContext, route: Callable) -> tuple[list[Issue], list]:
    issues = check_round(records, ctx)
    return issues, route(issues, records)
