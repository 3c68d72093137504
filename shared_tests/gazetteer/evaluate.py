"""Scoring the matcher on name sets whose p-codes are known (namesets.py).

For every item the source's p-code is first mapped onto the gazetteer (exactly, or by the
gazetteer's own rewrite rules: `NG01` is `NG001`). Items are left out of the score, and counted
apart, when that fails (`no-truth`: the unit is not in this gazetteer) or when the source
contradicts itself (`source-disagrees`: the name is exactly another unit's name, e.g. DTM's
`AF1722 Darwaz-e-Balla` where AF1722 is Darwaz-e-Payin and Darwaz-e-Balla is AF1727).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from mobtrack.gazetteer.catalogue import CountryGazetteer
from mobtrack.gazetteer.lookup import match_names
from mobtrack.gazetteer.names import name_key
from mobtrack.gazetteer.pcodes import clean_code


@dataclass
class Score:
    total: int = 0
    recovered: int = 0
    wrong: int = 0
    review: int = 0
    unmatched: int = 0
    no_truth: int = 0
    source_disagrees: int = 0
    wrong_examples: list = field(default_factory=list)
    missed_examples: list = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.recovered / self.total if self.total else 1.0

    def row(self) -> str:
        return (f"{self.total:6d} {self.recovered:6d} {self.rate:8.2%} {self.wrong:5d} {self.review:6d} "
                f"{self.unmatched:6d} {self.no_truth:6d} {self.source_disagrees:6d}")


HEADER = f"{'source':22} {'lvl':>3} {'names':>6} {'found':>6} {'rate':>8} {'wrong':>5} {'review':>6} {'unmat':>6} {'notru':>6} {'disagr':>6}"


def true_pcode(gaz: CountryGazetteer, level: int, code: str) -> str | None:
    view = gaz.level(level, None)
    code = clean_code(code)
    if view is None or code is None:
        return None
    if code in view.units:
        return code
    return view.codes.rewrite(code).pcode


def contradicts(gaz: CountryGazetteer, level: int, name: str, truth: str) -> bool:
    view = gaz.level(level, None)
    key = name_key(name)
    return key not in view.units[truth].keys and any(p != truth for p in view.by_key.get(key, ()))


def evaluate(items, gazetteer: Callable[[str], CountryGazetteer | None]) -> dict[tuple[str, int], Score]:
    scores: dict[tuple[str, int], Score] = defaultdict(Score)
    groups = defaultdict(list)
    for item in items:
        groups[(item.country, item.level)].append(item)
    for (country, level), group in sorted(groups.items()):
        gaz = gazetteer(country)
        if gaz is None or gaz.level(level, None) is None:
            for item in group:
                scores[(item.source, level)].no_truth += 1
            continue
        results = match_names(gaz, level, [i.name for i in group], [i.parent for i in group] if level > 1 else None)
        for item, result in zip(group, results, strict=True):
            score = scores[(item.source, level)]
            truth = true_pcode(gaz, level, item.truth)
            if truth is None:
                score.no_truth += 1
                continue
            if contradicts(gaz, level, item.name, truth):
                score.source_disagrees += 1
                continue
            score.total += 1
            if result["status"] == "matched":
                if result["pcode"] == truth:
                    score.recovered += 1
                else:
                    score.wrong += 1
                    score.wrong_examples.append((country, item.name, item.parent, truth, result["pcode"],
                                                 result["method"], result["score"]))
            else:
                setattr(score, result["status"], getattr(score, result["status"]) + 1)
                score.missed_examples.append((country, item.name, item.parent, truth, result["status"],
                                              result["detail"]))
    return dict(scores)


def totals(scores: dict[tuple[str, int], Score], sources: list[str] | None = None) -> dict[int, Score]:
    out: dict[int, Score] = defaultdict(Score)
    for (source, level), s in scores.items():
        if sources and source not in sources:
            continue
        t = out[level]
        for f in ("total", "recovered", "wrong", "review", "unmatched", "no_truth", "source_disagrees"):
            setattr(t, f, getattr(t, f) + getattr(s, f))
        t.wrong_examples += s.wrong_examples
        t.missed_examples += s.missed_examples
    return dict(out)


def report(scores: dict[tuple[str, int], Score]) -> str:
    lines = [HEADER]
    for (source, level), s in sorted(scores.items()):
        lines.append(f"{source:22} {level:3d} {s.row()}")
    for level, s in sorted(totals(scores).items()):
        lines.append(f"{'ALL':22} {level:3d} {s.row()}")
    return "\n".join(lines)
