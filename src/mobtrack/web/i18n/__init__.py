"""Interface text in several languages: JSON catalogs keyed by the English text, plus Babel formatting.

Why JSON rather than compiled gettext: translators edit one plain file per language, nothing is compiled
at install time, and a test can check that every string the pages use is in every catalog
(tests/web/browser/test_pages_catalogs.py). Numbers and dates are formatted by Babel with the locale's
own conventions (1,234 in English, 1 234 in French).

The language comes from, in order: the `lang` cookie (set by the language switcher), the browser's
Accept-Language header, then English.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT = "en"
CATALOGS = Path(__file__).parent


@cache
def catalog(lang: str) -> dict[str, str]:
    return json.loads((CATALOGS / f"{lang}.json").read_text(encoding="utf-8"))


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language to answer in: the cookie if it names a known language, else the best Accept-Language."""
    if cookie in LANGUAGES:
        return cookie
    choices = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            choices.append((-quality, position, base))
    return min(choices)[2] if choices else DEFAULT


class Translator:
    """`_("text", name=value)`: the catalog's translation, with `{name}` placeholders filled in."""

    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.messages = catalog(self.lang)

    def __call__(self, text: str, **values) -> str:
        translated = self.messages.get(text) or text
        return translated.format(**values) if values else translated

    def number(self, value: float | int | None, missing: str = "–") -> str:
        if value is None:
            return missing
        return format_decimal(value, locale=self.lang, format="#,##0" if float(value).is_integer() else "#,##0.#")

    def percent(self, value: float | None, signed: bool = True) -> str:
        """`value` in percent (12.5 -> '+12.5 %' in French, '+12.5%' in English)."""
        if value is None:
            return "–"
        text = format_percent(value / 100, locale=self.lang, format="#,##0.#%")
        return ("+" + text) if signed and value > 0 else text

    def decimal(self, value: float | None, places: int = 2) -> str:
        """A ratio or score with a fixed number of decimals (0.85, 0,85 in French)."""
        if value is None:
            return "–"
        return format_decimal(value, locale=self.lang, format="#,##0." + "0" * places)

    def signed(self, value: int | None) -> str:
        if value is None:
            return "–"
        return ("+" if value > 0 else "") + self.number(value)

    def date(self, value: date | None) -> str:
        return format_date(value, format="medium", locale=self.lang) if value else "–"
