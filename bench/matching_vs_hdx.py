"""Benchmark: mobtrack's name matching against hdx-python-country's AdminLevel, same names, one run.

Both match the same names (DTM API v3 and v2 JSON, HDX's DTM CSV, the DTM country workbooks and the
English names of the COD-AB boundary files; codes hidden, see shared_tests/gazetteer/namesets.py)
against the same gazetteer: the OCHA global p-code list (admin1-2). AdminLevel is given that list
from the local file with `setup_from_iterable` and the p-code lengths with
`load_pcode_formats_from_iterable`, so nothing is downloaded. For admin2 both first resolve the
parent's name at admin1 and match within it, as a user with a parent column would.

AdminLevel has no "review" outcome: it returns a p-code or nothing. mobtrack returns a p-code
only when it is sure, and sends the rest to review.

    .venv/bin/pip install hdx-python-country   # not a mobtrack dependency: only this benchmark uses it
    .venv/bin/python bench/matching_vs_hdx.py
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import sys
import time
from collections import defaultdict
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from shared_tests.gazetteer.evaluate import contradicts, true_pcode  # noqa: E402
from shared_tests.gazetteer.namesets import name_sets  # noqa: E402

from mobtrack.gazetteer.lookup import gazetteer_for, match_names  # noqa: E402

SOURCES = ["api-v3", "api-v2", "global-csv", "workbooks", "boundaries-en"]


def hdx_levels(countries: list[str], data: Path):
    from hdx.location.adminlevel import AdminLevel

    rows = list(csv.DictReader(io.StringIO(gzip.decompress(resources.files("mobtrack.data").joinpath(
        "global_pcodes_adm_1_2.csv.gz").read_bytes()).decode("utf-8-sig"))))
    with open(data / "geo" / "gazetteers" / "global_pcode_lengths.csv", encoding="utf-8-sig") as fh:
        formats = list(csv.DictReader(fh))
    levels = {}
    for level in (1, 2):
        admin = AdminLevel(admin_level=level)
        admin.setup_from_iterable(rows, countryiso3s=countries)
        admin.load_pcode_formats_from_iterable(formats)
        levels[level] = admin
    levels[2].set_parent_admins_from_adminlevels([levels[1]])
    return levels


def hdx_match(levels, item) -> str | None:
    parent = None
    if item.level == 2 and item.parent:
        parent = levels[1].get_pcode(item.country, item.parent)[0]
    return levels[item.level].get_pcode(item.country, item.name, parent=parent)[0]


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    logging.disable(logging.WARNING)  # AdminLevel logs every fuzzy attempt
    items = name_sets(data, SOURCES)
    countries = sorted({i.country for i in items})

    t = time.perf_counter()
    gazetteers = {c: gazetteer_for(c) for c in countries}
    for g in gazetteers.values():
        for level in (1, 2):
            if g.level(level, None) is not None:
                g.level(level, None).fuzzy_choices(None)
    setup_ours = time.perf_counter() - t
    t = time.perf_counter()
    levels = hdx_levels(countries, data)
    setup_hdx = time.perf_counter() - t

    # the truth, and items the source contradicts itself on, decided once for both
    scored = []
    for item in items:
        gaz = gazetteers[item.country]
        truth = true_pcode(gaz, item.level, item.truth) if gaz.level(item.level, None) else None
        if truth is not None and not contradicts(gaz, item.level, item.name, truth):
            scored.append((item, truth))

    t = time.perf_counter()
    ours = {}
    groups = defaultdict(list)
    for item, _ in scored:
        groups[(item.country, item.level)].append(item)
    for (country, level), group in groups.items():
        results = match_names(gazetteers[country], level, [i.name for i in group],
                              [i.parent for i in group] if level == 2 else None)
        for item, r in zip(group, results, strict=True):
            ours[item] = r["pcode"]
    time_ours = time.perf_counter() - t

    t = time.perf_counter()
    theirs = {item: hdx_match(levels, item) for item, _ in scored}
    time_hdx = time.perf_counter() - t

    print(f"{len(scored)} names with a known p-code ({len(items) - len(scored)} left out: unit not in the list, "
          "or the source contradicts itself)\n")
    print(f"{'level':6} {'names':>6} | {'mobtrack ok':>11} {'wrong':>6} {'review':>7} | {'hdx ok':>7} {'wrong':>6} "
          f"{'none':>5}")
    for level in (1, 2):
        subset = [(i, t) for i, t in scored if i.level == level]
        ok = sum(ours[i] == t for i, t in subset)
        wrong = sum(ours[i] is not None and ours[i] != t for i, t in subset)
        hok = sum(theirs[i] == t for i, t in subset)
        hwrong = sum(theirs[i] is not None and theirs[i] != t for i, t in subset)
        n = len(subset)
        print(f"admin{level} {n:6d} | {ok / n:11.2%} {wrong:6d} {n - ok - wrong:7d} | {hok / n:7.2%} {hwrong:6d} "
              f"{n - hok - hwrong:5d}")
    n = len(scored)
    ok = sum(ours[i] == t for i, t in scored)
    hok = sum(theirs[i] == t for i, t in scored)
    hwrong = sum(theirs[i] is not None and theirs[i] != t for i, t in scored)
    wrong = sum(ours[i] is not None and ours[i] != t for i, t in scored)
    print(f"\nsetup:  mobtrack {setup_ours * 1000:7.0f} ms   hdx {setup_hdx * 1000:7.0f} ms")
    print(f"per name: mobtrack {time_ours / n * 1e6:7.0f} us   hdx {time_hdx / n * 1e6:7.0f} us   "
          f"ratio hdx/mobtrack {time_hdx / time_ours:.1f}x")
    print(f"recovered: mobtrack/hdx {ok / max(hok, 1):.3f}x;  wrong accepted: mobtrack {wrong}, hdx {hwrong}")
    if wrong:
        for item, t in scored:
            if ours[item] is not None and ours[item] != t:
                print("  mobtrack wrong:", item, t, ours[item])
    typos(gazetteers, levels)


def typos(gazetteers, levels, seed: int = 7) -> None:
    """The same two matchers on misspelt admin2 names (bench/matching_typos.py), within their parent."""
    import random

    from matching_typos import typo

    from mobtrack.gazetteer.names import name_key

    rng = random.Random(seed)
    n = ours_ok = ours_wrong = hdx_ok = hdx_wrong = 0
    t_ours = t_hdx = 0.0
    for iso3, gaz in gazetteers.items():
        view = gaz.level(2, None)
        if view is None:
            continue
        cases = []
        for u in view.units.values():
            name = typo(u.name, rng)
            key = name_key(name)
            if not any(key in o.keys for o in view.units.values() if o.pcode != u.pcode and o.parent == u.parent):
                cases.append((u.pcode, name, u.parent))
        t = time.perf_counter()
        results = match_names(gaz, 2, [c[1] for c in cases], [c[2] for c in cases])
        t_ours += time.perf_counter() - t
        t = time.perf_counter()
        theirs = [levels[2].get_pcode(iso3, name, parent=parent)[0] for _, name, parent in cases]
        t_hdx += time.perf_counter() - t
        for (pcode, _, _), r, h in zip(cases, results, theirs, strict=True):
            n += 1
            ours_ok += r["pcode"] == pcode
            ours_wrong += r["pcode"] is not None and r["pcode"] != pcode
            hdx_ok += h == pcode
            hdx_wrong += h is not None and h != pcode
    print(f"\nmisspelt admin2 names (one random typo each, parent given): {n}")
    print(f"  mobtrack: recovered {ours_ok / n:.2%}, wrong {ours_wrong} ({ours_wrong / n:.2%}), rest to review")
    print(f"  hdx:      recovered {hdx_ok / n:.2%}, wrong {hdx_wrong} ({hdx_wrong / n:.2%})")
    print(f"  per name: mobtrack {t_ours / n * 1e6:.0f} us, hdx {t_hdx / n * 1e6:.0f} us; "
          f"wrong ratio hdx/mobtrack {'inf' if not ours_wrong else f'{hdx_wrong / ours_wrong:.1f}x'}")


if __name__ == "__main__":
    main()
