"""Interface text: every string the pages use is in the English and French catalogs (no browser needed)."""

from __future__ import annotations

from mobtrack.web.i18n import Translator, negotiate
from mobtrack.web.i18n.extract import problems, used_strings


def test_english_and_french_are_complete():
    assert len(used_strings()) > 100  # the extractor finds the templates' strings
    for lang, found in problems().items():
        assert found == {"missing": [], "unused": [], "placeholders": []}, lang


def test_language_from_cookie_then_accept_language():
    assert negotiate("fr", "en-GB,en;q=0.9") == "fr"
    assert negotiate(None, "de-DE,fr-CA;q=0.8,en;q=0.5") == "fr"
    assert negotiate("xx", "de, es;q=0.5") == "en"
    assert negotiate(None, "fr;q=0, en;q=0.1") == "en"


def test_numbers_and_placeholders_follow_the_language():
    fr = Translator("fr")
    assert fr("Round {n}", n=3) == "Cycle 3"
    assert fr.number(1234567) == "1\u202f234\u202f567"
    assert Translator("en").signed(-1500) == "-1,500"
    assert fr.signed(None) == "–"
