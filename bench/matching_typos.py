"""Stress test of the matcher's safety: every admin2 name of many countries, misspelt at random.

Each name of the bundled OCHA list gets one random typo (a letter dropped, two swapped, one
doubled, a vowel changed), three times, and is matched with and without its parent. A typo that
turns the name into another unit's name is not counted (the matcher is right to take it).
Prints how many were recovered, sent to review, and wrongly accepted -- which must be none.
The baseline measured in the same run is the same names without typos.

    .venv/bin/python bench/matching_typos.py [--countries AFG,NGA,...] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import time

from mobtrack.gazetteer.lookup import gazetteer_for, match_names
from mobtrack.gazetteer.names import name_key

COUNTRIES = ["AFG", "NGA", "SOM", "SSD", "SDN", "HTI", "TCD", "ETH", "CMR", "COD", "MLI", "NER", "BFA", "YEM", "SYR",
             "IRQ", "UKR", "MOZ", "CAF", "MMR", "PAK", "BGD", "COL", "VEN", "LBY"]


def typo(name: str, rng: random.Random) -> str:
    s = list(name)
    i = rng.randrange(len(s))
    op = rng.randrange(4)
    if op == 0 and len(s) > 3:
        del s[i]
    elif op == 1 and i < len(s) - 1:
        s[i], s[i + 1] = s[i + 1], s[i]
    elif op == 2:
        s.insert(i, s[i])
    elif s[i] in "aeiou":
        s[i] = rng.choice("aeiou")
    return "".join(s)


def run(countries, rng, spoil: bool) -> dict:
    out = {"names": 0, "recovered": 0, "review": 0, "unmatched": 0, "wrong": 0, "taken_by_another": 0, "examples": []}
    for iso3 in countries:
        gaz = gazetteer_for(iso3)
        view = gaz.level(2, None)
        if view is None:
            continue
        cases = [(u.pcode, typo(u.name, rng) if spoil else u.name, u.parent)
                 for u in view.units.values() for _ in range(3 if spoil else 1)]
        for with_parent in (True, False):
            results = match_names(gaz, 2, [n for _, n, _ in cases], [p for *_, p in cases] if with_parent else None)
            for (pcode, name, parent), r in zip(cases, results, strict=True):
                key = name_key(name)
                if any(key in u.keys for u in view.units.values()
                       if u.pcode != pcode and (not with_parent or u.parent == parent)):
                    out["taken_by_another"] += 1
                    continue
                out["names"] += 1
                if r["status"] != "matched":
                    out[r["status"]] += 1
                elif r["pcode"] == pcode:
                    out["recovered"] += 1
                else:
                    out["wrong"] += 1
                    out["examples"].append((iso3, name, pcode, r["pcode"], r["method"], r["score"], with_parent))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--countries", default=",".join(COUNTRIES))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    countries = args.countries.upper().split(",")
    for label, spoil in (("as written", False), ("with typos", True)):
        t = time.perf_counter()
        r = run(countries, random.Random(args.seed), spoil)
        seconds = time.perf_counter() - t
        n = r["names"]
        print(f"{label:11}: {n:6d} names  recovered {r['recovered'] / n:7.2%}  review {r['review'] / n:6.2%}  "
              f"unmatched {r['unmatched'] / n:6.2%}  WRONG {r['wrong']}  ({r['taken_by_another']} left out: "
              f"the name is also another unit's)  {seconds / n * 1e6:.0f} us/name")
        for example in r["examples"][:20]:
            print("   wrong:", example)


if __name__ == "__main__":
    main()
