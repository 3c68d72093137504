"""The matcher's decisions on the bundled OCHA list (in memory): what it accepts, and what it will not guess."""

from __future__ import annotations

import pytest

from mobtrack.gazetteer.lookup import gazetteer_for, match_names


def _one(iso3, level, name, parent=None):
    return match_names(gazetteer_for(iso3), level, [name], [parent] if parent else None)[0]


@pytest.mark.parametrize("iso3, level, name, parent, pcode, method", [
    ("AFG", 1, "Hilmand", None, "AF30", "exact-name"),
    ("AFG", 1, "HILMAND province", None, "AF30", "normalised-name"),
    ("HTI", 1, "Nord Ouest", None, "HT09", "normalised-name"),  # French name, English gazetteer
    ("AFG", 2, "Kohestan", "Badakhshan", "AF1708", "fuzzy"),  # Kohistan: a vowel apart
    ("NGA", 2, "DAMBAM", "BAUCHI", "NG005004", "fuzzy"),  # Damban: nasals swap in transliteration
    ("NGA", 2, "MAIDUGURI M. C.", "Borno", "NG008021", "normalised-name"),
    ("HTI", 2, "Dessalines/Marchandes", "Artibonite", "HT0541", "normalised-name"),
    ("HTI", 2, "Petite Riviere De L'Art", "Artibonite", "HT0542", "fuzzy"),  # cut short
    ("TCD", 2, "Mamdi", "TD07", "TD0701", "exact-name"),  # parent given as a p-code
])
def test_accepted(iso3, level, name, parent, pcode, method):
    r = _one(iso3, level, name, parent)
    assert (r["status"], r["pcode"], r["method"]) == ("matched", pcode, method)


@pytest.mark.parametrize("iso3, level, name, parent, why", [
    ("AFG", 1, "Paktia", None, "too close"),  # Paktya or Paktika?
    ("ETH", 2, "eWst Hararge", "ET04", "tells it from"),  # East or West Hararge?
    ("NGA", 2, "Iko", None, "spelled as closely"),  # Ikwo? Ika? Ikom? one letter from each
    ("NGA", 2, "sEit - Eket", "NG003", "parts of"),  # Eket, or Esit - Eket?
    ("AFG", 2, "Kohestan", None, "too close"),  # Kohistan is a district of Badakhshan and of Kapisa
    ("AFG", 2, "Kabul City", "Kabul", "Kabul City"),
])
def test_not_guessed(iso3, level, name, parent, why):
    r = _one(iso3, level, name, parent)
    assert r["pcode"] is None and r["status"] in ("review", "unmatched")
    assert why in r["detail"]


def test_same_name_in_two_parents_needs_the_parent():
    # Two LGAs named "Surulere" (Lagos and Oyo): ambiguous alone, decided by the state
    alone = _one("NGA", 2, "Surulere")
    assert alone["status"] == "review" and len(alone["candidates"]) == 2
    assert _one("NGA", 2, "Surulere", "Lagos")["pcode"] == "NG025020"
    assert _one("NGA", 2, "Surulere", "Oyo")["pcode"] == "NG031033"


def test_parts_are_not_trusted_without_a_parent():
    # "Gada" is an LGA of Sokoto; "Itas/Gada" is Itas/Gadau (Bauchi) cut short, not Gada
    assert _one("NGA", 2, "Itas/Gada")["pcode"] == "NG005010"


def test_name_outside_its_parent_goes_to_review():
    r = _one("TCD", 2, "Mamdi", "Batha")
    assert r["status"] == "review" and r["candidates"][0]["pcode"] == "TD0701"


def test_codes_in_the_name_column():
    rows = match_names(gazetteer_for("NGA"), 1, ["NG001", "NG01", "NG1"])
    assert [r["pcode"] for r in rows] == ["NG001", "NG001", "NG001"]
    assert [r["method"] for r in rows] == ["exact-code", "normalised-code", "normalised-code"]
