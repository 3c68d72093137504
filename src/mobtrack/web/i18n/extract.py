"""List every interface string the pages use, and check the catalogs against it.

    python -m mobtrack.web.i18n.extract          # prints missing / unused keys per language; exit 1 if any

Strings are found where the code says they are: `_("...")` in templates and `t("...")` in the page
modules, plus VOCABULARY below for values the templates translate at run time (statuses, roles...).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mobtrack.web.i18n import LANGUAGES, catalog

WEB = Path(__file__).resolve().parent.parent
# Values that reach `_()` as data, not literals: round and upload statuses, roles, severities, categories.
VOCABULARY = [
    "draft", "validated", "published", "imported", "unchanged", "rejected",
    "admin", "manager", "analyst", "data-entry", "viewer",
    "error", "warning", "info",
    "male", "female", "unknown",
    "Sex", "Age", "Reason for displacement", "Shelter type", "Time since displacement",
    "Figures per place and round", "Change since the previous round",
    # why a place has no forecast (mobtrack.web.services.forecasts)
    "not in the latest round", "latest figure suppressed", "no latest figure", "fewer than 3 reported rounds",
    "beyond the 150 largest places",
]
_TEMPLATE = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
_PYTHON = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)"|\bt\(\s*'((?:[^'\\]|\\.)*)'""")


def used_strings() -> set[str]:
    found = set(VOCABULARY)
    for path in (WEB / "templates").rglob("*.html"):
        found |= {a or b for a, b in _TEMPLATE.findall(path.read_text(encoding="utf-8"))}
    for path in (WEB / "pages").glob("*.py"):
        found |= {a or b for a, b in _PYTHON.findall(path.read_text(encoding="utf-8"))}
    return {s for s in found if s}


def problems() -> dict[str, dict[str, list[str]]]:
    used = used_strings()
    out = {}
    for lang in LANGUAGES:
        messages = catalog(lang)
        missing = sorted(s for s in used if not messages.get(s))
        unused = sorted(set(messages) - used)
        placeholders = sorted(s for s in used & set(messages)
                              if set(re.findall(r"\{(\w+)\}", s)) != set(re.findall(r"\{(\w+)\}", messages[s])))
        out[lang] = {"missing": missing, "unused": unused, "placeholders": placeholders}
    return out


def main() -> int:
    bad = False
    for lang, found in problems().items():
        for kind, items in found.items():
            for item in items:
                bad = True
                print(f"{lang}: {kind}: {item!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
