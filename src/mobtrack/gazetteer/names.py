"""Place-name keys: the spelling-independent form two names must share to be called equal.

Field files write the same district as "Al-Fasher", "El Fasher", "EL FASHER District" or
"الفاشر". A key removes what varies without changing which place is meant: accents, case,
punctuation and spacing, the Arabic article in its Latin spellings (Al-/El-/Ad-/Ash-...) and in
Arabic script, and generic unit words ("District", "Region", "Woreda"...). Two names with the
same key are a *normalised* match; anything looser is fuzzy and scored.
"""

from __future__ import annotations

import re
from functools import lru_cache

from unidecode import unidecode

# Latin spellings of the Arabic article, including its sun-letter assimilations (as-, ash-, ad-...).
ARTICLES = frozenset({
    "al", "el", "il", "ul", "ad", "adh", "ed", "ud", "ag", "aj", "ar", "er", "ur", "as", "ash", "es", "us", "at",
    "ath", "et", "az", "ez", "an", "en", "un", "ai",
})

# Words that name the kind of unit rather than the unit. Dropped unless nothing else is left.
GENERIC = frozenset({
    "district", "districts", "region", "regions", "province", "provincia", "provinz", "woreda", "zone", "state",
    "county", "governorate", "governorat", "gouvernorat", "muhafazah", "muhafazat", "muhafaza", "department",
    "departement", "departamento", "commune", "prefecture", "sous", "subprefecture", "oblast", "oblasti", "raion",
    "rayon", "lga", "wilaya", "wilayah", "division", "subdivision", "municipality", "municipio", "locality", "mahaliya", "mahalia", "payam", "boma", "parish", "sub", "admin", "area",
})

SYNONYMS = {"st": "saint", "ste": "sainte", "mt": "mount", "ft": "fort"}
# Direction words in the languages COD names and field files mix (English, French, Spanish,
# Portuguese, Somali): "Nord Ouest" is "North-West", "Shabelle Dhexe" is "Middle Shabelle".
_DIRECTIONS = {
    "north": ("north", "northern", "nord", "norte", "waqooyi"),
    "south": ("south", "southern", "sud", "sul", "koonfur"),
    "east": ("east", "eastern", "est", "este", "leste"),
    "west": ("west", "western", "ouest", "oeste"),
    "lower": ("lower", "hoose", "bas", "basse", "bajo", "baixo"),
    "upper": ("upper", "haut", "haute", "alto", "alta"),
    "middle": ("middle", "dhexe", "moyen", "moyenne", "medio"),
    "central": ("central", "centre", "center", "centrale", "centro"),
}
SYNONYMS.update({spelling: word for word, spellings in _DIRECTIONS.items() for spelling in spellings})
DIRECTION_WORDS = frozenset(_DIRECTIONS)

_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640\u200c-\u200f\u061c]")  # harakat, tatweel, bidi marks
_ARABIC_ARTICLE = re.compile(r"(^|\s)ال")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MUNICIPAL_COUNCIL = re.compile(r"\bm\s*\.\s*c\s*\.?\s*$")  # Nigeria's "Maiduguri M. C." (municipal council)


@lru_cache(maxsize=200_000)
def name_tokens(name: str | None) -> tuple[str, ...]:
    """The meaningful words of a name, lower-case ASCII, articles and generic unit words removed."""
    if name is None:
        return ()
    text = str(name).strip()
    if not text:
        return ()
    if any("\u0600" <= ch <= "\u06ff" for ch in text):
        text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_LETTERS)
        text = _ARABIC_ARTICLE.sub(r"\1", text)
    # An apostrophe joins ("Grande'Anse" ~ "Grandanse") rather than splits: sources disagree on it.
    text = _APOSTROPHES.sub("", unidecode(text).lower())
    text = _MUNICIPAL_COUNCIL.sub(" ", text)
    tokens = [SYNONYMS.get(t, t) for t in _NON_ALNUM.split(text) if t]
    if not tokens:
        return ()
    # The article is dropped only before another word: "Al Jazirah" -> "jazirah", but "Al" stays "al".
    kept = [t for i, t in enumerate(tokens) if not (t in ARTICLES and i + 1 < len(tokens))]
    specific = [t for t in kept if t not in GENERIC]
    return tuple(specific or kept)


@lru_cache(maxsize=200_000)
def name_key(name: str | None) -> str:
    """Equality key of a name: its meaningful words run together ("Sar-e-Pul" == "Sare Pul")."""
    return "".join(name_tokens(name))


@lru_cache(maxsize=200_000)
def sorted_key(name: str | None) -> str:
    """Key with the words in alphabetical order ("Shabelle Dhexe" == "Middle Shabelle")."""
    return "".join(sorted(name_tokens(name)))


@lru_cache(maxsize=200_000)
def single_key(name: str | None) -> str:
    """Key with doubled letters made single ("Assosa" == "Asosa", "Kembatta" == "Kembata")."""
    return _DOUBLE.sub(r"\1", name_key(name))


@lru_cache(maxsize=200_000)
def fuzzy_form(name: str | None) -> str:
    """The spaced form rapidfuzz scores, so that word order and word boundaries still count."""
    return " ".join(name_tokens(name))


_VOWELS = re.compile(r"[aeiouy]")
_DOUBLE = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def skeleton(name: str | None) -> str:
    """Consonant skeleton ("Kohistan"/"Kohestan" -> "khstn"): transliterations differ mostly in vowels.

    Used only as half of a fuzzy score, never alone to accept a match.
    """
    key = name_key(name)
    if not key:
        return ""
    head, tail = key[0], key[1:]
    tail = tail.replace("kh", "k").replace("q", "k").replace("c", "k").replace("ph", "f").replace("w", "u")
    tail = tail.replace("m", "n")  # nasals swap in transliteration: Dambam/Damban, Shongom/Shomgom
    return _DOUBLE.sub(r"\1", head + _VOWELS.sub("", tail))
