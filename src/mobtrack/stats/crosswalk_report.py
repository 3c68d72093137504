"""What the crosswalk did with every country code or name in the statistics: mapped, mapped to a
non-country category (unknown origin, stateless...), or not mapped, with the reason.

From files (`report_files`): each file is read by its own loader, exactly as a load would read it, so
the report cannot disagree with what loading does. From the store (`report_store`): the codes of the
loaded releases, and the rows rejected for an unknown country.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, select, union

from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.load import LOADERS, detect
from mobtrack.stats.tables import stats_fact, stats_release
from mobtrack.store.schema import issue, source_file

NON_COUNTRY = {"special", "historical"}


def _entries(codes: set[str], crosswalk: Crosswalk) -> tuple[list[dict], list[dict]]:
    mapped, non_country = [], []
    for code in sorted(codes):
        d = crosswalk.describe(code)
        item = {"code": code, "name": d.get("name"), "kind": d.get("kind")}
        if d.get("kind") in NON_COUNTRY:
            non_country.append({**item, "reason": d.get("note")})
        else:
            mapped.append(item)
    return mapped, non_country


def _unmapped(issues) -> list[dict]:
    grouped: dict[tuple, list[int]] = {}
    reasons: dict[tuple, str] = {}
    for i in issues:
        if i["rule"] != "unknown-country":
            continue
        key = (i["column"], i["value"])
        grouped.setdefault(key, []).append(i["row"])
        reasons[key] = i["message"]
    return [{"column": c, "value": v, "rows": len(rows), "first_row": min(rows), "reason": reasons[(c, v)]}
            for (c, v), rows in sorted(grouped.items(), key=lambda kv: str(kv[0]))]


def report_files(paths: list[Path], source: str | None = None, crosswalk: Crosswalk | None = None) -> dict:
    crosswalk = crosswalk or Crosswalk.default()
    out = []
    for path in paths:
        name = detect(Path(path), source)
        parsed = LOADERS[name].read(Path(path), crosswalk)
        codes = set(parsed.facts["origin"].unique().to_list()) | set(parsed.facts["destination"].unique().to_list())
        mapped, non_country = _entries(codes, crosswalk)
        out.append({"file": Path(path).name, "source": name, "dataset": parsed.dataset, "mapped": mapped,
                    "non_country": non_country, "unmapped": _unmapped(i.as_dict() for i in parsed.issues)})
    return _finish(out, crosswalk)


def report_store(engine: Engine, crosswalk: Crosswalk | None = None) -> dict:
    crosswalk = crosswalk or Crosswalk.default()
    out = []
    with engine.connect() as conn:
        rels = conn.execute(select(stats_release, source_file.c.name).join(source_file)
                            .where(stats_release.c.superseded_at.is_(None)).order_by(stats_release.c.id)).mappings().all()
        for rel in rels:
            f = stats_fact.c
            codes = {r[0] for r in conn.execute(union(
                select(f.origin).where(f.release_id == rel["id"]).distinct(),
                select(f.destination).where(f.release_id == rel["id"]).distinct()))}
            mapped, non_country = _entries(codes, crosswalk)
            issues = conn.execute(select(issue.c.rule, issue.c.column, issue.c.value, issue.c.row, issue.c.message)
                                  .where(issue.c.source_file_id == rel["source_file_id"])).mappings().all()
            out.append({"file": rel["name"], "source": rel["source"], "dataset": rel["dataset"], "mapped": mapped,
                        "non_country": non_country, "unmapped": _unmapped(issues)})
    return _finish(out, crosswalk)


def _finish(files: list[dict], crosswalk: Crosswalk) -> dict:
    kinds = Counter(crosswalk.table["kind"].to_list())
    return {"crosswalk": {"entries": len(crosswalk.table), "by_kind": dict(sorted(kinds.items()))},
            "files": files, "unmapped_total": sum(len(f["unmapped"]) for f in files)}
