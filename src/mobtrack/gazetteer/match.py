"""Deciding which gazetteer unit a (code, name, parent) at one admin level stands for.

Order of evidence, strongest first: the p-code as given; the p-code rewritten by the
gazetteer's own conventions (pcodes.py); a recorded review decision (place_alias); the name
exactly as written; the name's key (names.py) among the parent's children; a fuzzy score
among the parent's children. A name is only accepted when it points at exactly one unit, and a
fuzzy one only when it is both close and clearly closer than the runner-up: anything else goes
to review with its candidates, because a wrong p-code is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from mobtrack.gazetteer.catalogue import CountryGazetteer, Level
from mobtrack.gazetteer.names import fuzzy_form, name_key, single_key, skeleton, sorted_key
from mobtrack.gazetteer.pcodes import clean_code

# Fuzzy acceptance: close to the name, and clearly closer than any other unit. Chosen so that no
# wrong match is accepted on the real names of shared_tests/gazetteer nor on the 29,000 misspelt
# names of bench/matching_typos.py, at the cost of sending more names to review.
ACCEPT_SCORE = 90.0
ACCEPT_SCORE_IN_PARENT = 86.0  # among a parent's few children: 0 wrong down to 84 on the typo bench
ACCEPT_MARGIN = 8.0
REVIEW_SCORE = 60.0
FUZZY_MIN_LETTERS = 6  # one letter off in "Uyo" or "Iko" is another place: short names are never fuzzy-accepted
SIBLING_SCORE = 75.0  # units this close that share words with the best one are checked by _sibling
NAME_AGREES_SCORE = 85.0  # a code's unit and the given name are taken to agree at or above this


@dataclass
class Finding:
    rule: str
    severity: str  # error | warning
    field: str  # "code" or "name": which of the level's columns the finding is about
    value: str | None
    message: str


@dataclass
class Match:
    pcode: str | None = None
    location_id: int | None = None
    name: str | None = None
    method: str | None = None
    score: float | None = None
    status: str = "unmatched"  # matched | review | unmatched
    detail: str | None = None
    findings: list[Finding] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    new_place: dict | None = None  # a source-defined place to create (sourced.py)

    @property
    def accepted(self) -> bool:
        return self.status == "matched" and self.pcode is not None


def _accept(level: Level, pcode: str, method: str, score: float, detail: str | None = None) -> Match:
    unit = level.units[pcode]
    return Match(pcode, unit.id, unit.name, method, score, "matched", detail)


def score_names(query: str, choices: list[str]) -> list[tuple[int, float, float]]:
    """(index, score, spelling score) of every choice (spaced name forms), best first.

    The spelling score compares the letters (as one run, and word by word, so that spacing and
    word order do not count). The score is half spelling, half consonant skeleton, because
    transliterations of one name differ mostly in vowels (Kohistan/Kohestan) while different
    places differ in consonants (Paktia is Paktya, not Paktika).
    """
    if not choices or not query:
        return []
    compact = [c.replace(" ", "") for c in choices]
    a = process.cdist([query.replace(" ", "")], compact, scorer=fuzz.ratio)[0]
    b = process.cdist([query], choices, scorer=fuzz.token_sort_ratio)[0]
    c = process.cdist([skeleton(query)], [skeleton(x) for x in choices], scorer=fuzz.ratio)[0]
    scored = [(i, float(max(x, y) + z) / 2, float(max(x, y))) for i, (x, y, z) in enumerate(zip(a, b, c, strict=True))]
    return sorted(scored, key=lambda t: -t[1])


def match_name(level: Level, name: str, parent: str | None, aliases: dict | None = None) -> Match:
    """Match a name among the children of `parent` (or the whole level when the parent is unknown)."""
    key = name_key(name)
    if not key:
        return Match(status="unmatched", detail="empty name")
    in_parent = set(level.children.get(parent, ())) if parent is not None else None

    def within(pcodes):
        return sorted({p for p in pcodes if in_parent is None or p in in_parent})

    if aliases:
        decided = aliases.get((level.level, parent, key), aliases.get((level.level, None, key), False))
        if decided is None:
            return Match(status="unmatched", method="alias", detail=f"{name!r} was reviewed: no such place")
        if decided and decided in level.units:
            return _accept(level, decided, "alias", 100.0, "reviewed decision")
    by_key = {p for k in (key, sorted_key(name)) for p in level.by_key.get(k, ())}
    for method, found in (("exact-name", level.by_exact.get(name.strip(), ())), ("normalised-name", by_key)):
        hits = within(found)
        # An exact spelling still yields to ambiguity: "برام" is exactly one district's name but,
        # without its article, also another's ("البرام"); that is for a person to decide.
        if len(hits) == 1 and set(within(by_key)) <= set(hits):
            return _accept(level, hits[0], method, 100.0)
        if len(hits) == 1 and method == "exact-name":
            continue
        if len(hits) > 1:
            return Match(status="review", method=method, score=100.0,
                         detail=f"{name!r} names {len(hits)} units" + (f" in {parent}" if parent else ""),
                         candidates=[_candidate(level, p, 100.0) for p in hits])
    # "Dessalines/Marchandes", "Baidoa (Bay)": accept when the parts name exactly one unit of the
    # parent. Not without a parent: "Itas/Gada" would then be Gada of another state.
    parts = _parts(name) if in_parent is not None else []
    found = {p for part in parts for p in within(level.by_key.get(name_key(part), ()))}
    if found:
        whole = _fuzzy(level, name, parent)
        scores = {c["pcode"]: c["score"] for c in whole.candidates}
        floor = max(scores.get(f, 0.0) for f in found)
        closer = [p for p, sc in scores.items() if p not in found and sc >= floor]
        if len(found) == 1 and not closer:
            return _accept(level, found.pop(), "normalised-name", 95.0, f"{name!r} by its part(s)")
        # "sEit - Eket": a part names Eket, but the whole is as close to Esit Eket; a person decides
        return Match(status="review", method="normalised-name", score=95.0,
                     detail=f"parts of {name!r} name {', '.join(sorted(found))}"
                            + (f"; the whole name is as close to {', '.join(closer)}" if closer else ""),
                     candidates=[_candidate(level, p, 95.0) for p in sorted(found)]
                     + [c for c in whole.candidates if c["pcode"] not in found][:2])
    if in_parent is not None:
        elsewhere = sorted(by_key)
        if elsewhere:
            # The name exists, but not under the parent the row gives: do not guess which is wrong.
            return Match(status="review", method="normalised-name", score=100.0,
                         detail=f"{name!r} is not in {parent} but in {', '.join(level.parents.get(p) or '?' for p in elsewhere)}",
                         candidates=[_candidate(level, p, 100.0) for p in elsewhere],
                         findings=[Finding("child-outside-parent", "warning", "name", name,
                                           f"{name!r} ({', '.join(elsewhere)}) is not inside {parent}")])
    return _fuzzy(level, name, parent)


def _parts(name: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[/()\[\],;|]| - ", name) if p.strip()]
    return parts if len(parts) > 1 else []


PREFIX_MIN = 10  # letters a truncated name must keep to be completed ("Petite Riviere De L'Art")


def _prefix(level: Level, name: str, parent: str | None) -> Match | None:
    key = name_key(name)
    if len(key) < PREFIX_MIN:
        return None
    pcodes = level.children.get(parent, []) if parent is not None else list(level.units)
    hits = {p for p in pcodes for k in level.units[p].keys if k.startswith(key) and k != key}
    if len(hits) == 1:
        pcode = hits.pop()
        return _accept(level, pcode, "fuzzy", 90.0, f"{name!r} is the start of {level.units[pcode].name!r}")
    return None


def _fuzzy(level: Level, name: str, parent: str | None) -> Match:
    truncated = _prefix(level, name, parent)
    if truncated is not None:
        return truncated
    forms, owners = level.fuzzy_choices(parent)
    best: dict[str, float] = {}
    spelling: dict[str, float] = {}
    for i, score, letters in score_names(fuzzy_form(name), forms):
        best.setdefault(owners[i], score)
        spelling[owners[i]] = max(spelling.get(owners[i], 0.0), letters)
    ranked = sorted(best.items(), key=lambda t: -t[1])[:5]
    if not ranked or ranked[0][1] < REVIEW_SCORE:
        # "Mamdi Nord" is far from "Mamdi" by score, but holds all its words: worth a person's look
        contained = _contained(name, forms, owners)
        if contained:
            return Match(status="review", method="fuzzy", score=round(ranked[0][1], 1) if ranked else None,
                         detail=f"{name!r} contains the name of {', '.join(contained)}",
                         candidates=[_candidate(level, p, best.get(p, 0.0)) for p in contained])
        return Match(status="unmatched", method="fuzzy", score=round(ranked[0][1], 1) if ranked else None,
                     detail=f"no unit close to {name!r}" + (f" in {parent}" if parent else ""),
                     candidates=[_candidate(level, p, s) for p, s in ranked[:3] if s >= 50])
    top, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    # the skeleton must not carry a unit that another unit equals or beats letter for letter
    # ("Guaata": Guayata and Guavata are one letter away each)
    rival_letters = max((v for p, v in spelling.items() if p != top), default=0.0)
    candidates = [_candidate(level, p, s) for p, s in ranked if s >= REVIEW_SCORE][:5]
    if score < (ACCEPT_SCORE_IN_PARENT if parent is not None else ACCEPT_SCORE):
        why = "too far"
    elif score - runner < ACCEPT_MARGIN:
        why = f"too close to {ranked[1][0]} ({runner:.0f})"
    elif spelling[top] <= rival_letters:
        why = "another unit is spelled as closely"
    elif len(name_key(name)) < FUZZY_MIN_LETTERS and not (
            # within a parent, a doubled letter is no reason to doubt a short name ("Asosa"/"Assosa")
            parent is not None and single_key(name) in {single_key(n) for n in level.units[top].names}):
        why = "too short a name to accept a near spelling"
    elif sibling := _sibling(level, name, top, [p for p, sc in ranked[1:] if sc >= SIBLING_SCORE]):
        why = f"the word that tells it from {sibling} is misspelt"
    else:
        m = _accept(level, top, "fuzzy", round(score, 1), f"{name!r} ~ {level.units[top].name!r}")
        m.candidates = candidates
        return m
    return Match(status="review", method="fuzzy", score=round(score, 1),
                 detail=f"{name!r} ~ {level.units[top].name!r} ({score:.0f}): {why}", candidates=candidates)


def _sibling(level: Level, name: str, top: str, others: list[str]) -> str | None:
    """A close unit that shares words with the best one ("West Hararge" for "East Hararge") when the
    query does not spell the words that tell them apart: a typo there ("eWst") is a coin toss."""
    query = set(fuzzy_form(name).split())
    for spelling in level.units[top].names:
        mine = set(fuzzy_form(spelling).split())
        for other in others:
            for other_spelling in level.units[other].names:
                theirs = set(fuzzy_form(other_spelling).split())
                telling = mine - theirs
                if mine & theirs and telling and not telling <= query:
                    return other
    return None


def _contained(name: str, forms: list[str], owners: list[str]) -> list[str]:
    words = set(fuzzy_form(name).split())
    return sorted({owners[i] for i, form in enumerate(forms) if form and set(form.split()) < words})[:5]


def _candidate(level: Level, pcode: str, score: float) -> dict:
    unit = level.units[pcode]
    return {"pcode": pcode, "name": unit.name, "parent_pcode": unit.parent, "score": round(float(score), 1)}


def match_place(gaz: CountryGazetteer, level: Level, code: str | None, name: str | None, parent: str | None,
                aliases: dict | None = None) -> Match:
    """Decide the unit at one level from its code and/or name, given the resolved parent p-code."""
    code = clean_code(code)
    name = name.strip() if name and name.strip() else None
    parent = level.own_parent(parent)
    findings: list[Finding] = []
    if code:
        by_code = _match_code(gaz, level, code, findings)
        if by_code is None and aliases:
            by_code = _code_alias(level, code, parent, aliases)
        if by_code is not None:
            _check_agreement(level, by_code, name, parent, findings)
            by_code.findings = findings
            return by_code
    if not name:
        m = Match(status="unmatched", detail=f"unknown p-code {code}" if code else "no code or name")
        m.findings = _escalate(findings)
        return m
    m = match_name(level, name, parent, aliases)
    # A code that failed is an error unless the name rescued the place.
    m.findings = (findings if m.accepted else _escalate(findings)) + m.findings
    return m


def code_alias_key(code: str) -> str:
    """place_alias.name_key under which a decision about a bare code is remembered."""
    return f"#{code}"


def _code_alias(level: Level, code: str, parent: str | None, aliases: dict) -> Match | None:
    key = code_alias_key(code)
    decided = aliases.get((level.level, parent, key), aliases.get((level.level, None, key), ""))
    if decided and decided in level.units:
        return _accept(level, decided, "alias", 100.0, f"reviewed decision: {code} is {decided}")
    return None


def _escalate(findings: list[Finding]) -> list[Finding]:
    return [Finding(f.rule, "error", f.field, f.value, f.message) if f.rule == "unknown-pcode" else f
            for f in findings]


def _match_code(gaz: CountryGazetteer, level: Level, code: str, findings: list[Finding]) -> Match | None:
    if code in level.units:
        return _accept(level, code, "exact-code", 100.0)
    rewrite = level.codes.rewrite(code)
    if rewrite.pcode is not None:
        detail = f"PCode length {code}->{rewrite.pcode}" if len(code) != len(rewrite.pcode) \
            else f"PCode rewritten {code}->{rewrite.pcode}"
        findings.append(Finding("pcode-normalised", "warning", "code", code, detail))
        return _accept(level, rewrite.pcode, "normalised-code", 100.0, detail)
    others = gaz.code_versions.get((level.level, code), set()) - {level.version.name}
    if others:
        findings.append(Finding("pcode-other-version", "warning", "code", code,
                                f"{code} is a p-code of {', '.join(sorted(others))}, not of "
                                f"{level.version.name} (the version valid for this round)"))
    elif rewrite.candidates:
        findings.append(Finding("unknown-pcode", "warning", "code", code,
                                f"{code} is not a p-code of {level.version.name}; it could be any of "
                                f"{', '.join(rewrite.candidates)}"))
    else:
        findings.append(Finding("unknown-pcode", "warning", "code", code,
                                f"{code} is not an admin{level.level} p-code of {level.version.name}"))
    return None


def _check_agreement(level: Level, m: Match, name: str | None, parent: str | None, findings: list[Finding]) -> None:
    unit = level.units[m.pcode]
    if parent is not None and unit.parent is not None and unit.parent != parent:
        findings.append(Finding("child-outside-parent", "warning", "code", m.pcode,
                                f"{m.pcode} ({unit.name}) belongs to {unit.parent}, not to {parent} as the row says"))
    if not name:
        return
    if {name_key(name), sorted_key(name)} & unit.keys:
        return
    if any(name_key(part) in unit.keys for part in _parts(name)):
        return  # "Dessalines/Marchandes" for Dessalines
    agree = max((s for _, s, _ in score_names(fuzzy_form(name), [fuzzy_form(n) for n in unit.names])), default=0.0)
    if agree >= NAME_AGREES_SCORE:
        return
    other = [p for p in level.by_key.get(name_key(name), ()) if p != unit.pcode]
    hint = f"; the name is that of {', '.join(other)}" if other else ""
    m.detail = f"PCode mismatch {m.pcode} != {name}" + (f" ({m.detail})" if m.detail else "")
    findings.append(Finding("pcode-name-mismatch", "warning", "name", name,
                            f"PCode mismatch {m.pcode} != {name}: the gazetteer calls {m.pcode} {unit.name!r}{hint}"))
