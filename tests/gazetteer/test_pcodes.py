"""P-code rewrites decided by the codes the gazetteer has, not by a fixed rule."""

from mobtrack.gazetteer.pcodes import CodeIndex, clean_code


def _index(iso3, level, codes, parents):
    return CodeIndex(iso3, level, codes, parents)


def test_iso2_to_iso3_prefix_and_back():
    iso3_style = _index("TCD", 1, ["TCD07", "TCD01"], {})
    assert iso3_style.rewrite("TD07").pcode == "TCD07"
    iso2_style = _index("CAF", 1, ["CF62", "CF11"], {})
    assert iso2_style.rewrite("CAF62").pcode == "CF62"


def test_segment_padding_both_ways():
    nga = _index("NGA", 1, ["NG001", "NG036"], {})
    assert nga.rewrite("NG01").pcode == "NG001"
    wca = _index("NGA", 1, ["NG01", "NG36"], {})
    assert wca.rewrite("NG001").pcode == "NG01"


def test_admin2_segments_read_from_parent_codes():
    parents = {"TD0701": "TD07", "TD0703": "TD07", "TD07": "TCD"}
    index = _index("TCD", 2, ["TD0701", "TD0703"], parents)
    assert index.rewrite("TCD0703").pcode == "TD0703"
    assert index.rewrite("TD07003").pcode == "TD0703"
    assert index.rewrite("TD0799").pcode is None


def test_ambiguous_rewrite_is_refused_with_candidates():
    # "NG0101" at admin2 reads as state 1 LGA 1 or as state 10 LGA 1: both exist, so neither is chosen
    parents = {"NG001001": "NG001", "NG010001": "NG010"}
    index = _index("NGA", 2, ["NG001001", "NG010001"], parents)
    result = index.rewrite("NG0101")
    assert result.pcode is None and set(result.candidates) == {"NG001001", "NG010001"}


def test_foreign_prefix_and_non_numeric_codes_are_not_rewritten():
    index = _index("TCD", 1, ["TD07"], {})
    assert index.rewrite("CM07").pcode is None
    assert index.rewrite("TD7A").pcode is None


def test_clean_code():
    assert clean_code(" td 07 ") == "TD07"
    assert clean_code("") is None and clean_code(None) is None
