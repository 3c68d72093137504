"""Each source's loader: the facts it makes, and the rows it rejects with file, row, column, reason."""

from __future__ import annotations

import pytest

from mobtrack.stats import idmc, undesa, unhcr, worldbank
from mobtrack.stats.crosswalk import Crosswalk
from mobtrack.stats.facts import LoadError
from mobtrack.stats.load import detect
from tests.stats.conftest import UNDESA, write

CW = Crosswalk.default()


def test_undesa_facts_keep_source_rows_and_basis(files):
    p = undesa.read(files["undesa"], CW)
    assert (p.dataset, p.edition, p.rows_read, len(p.facts), p.issues) == ("undesa_stock", "2020", 13, 13, [])
    first = p.facts.row(0, named=True)
    assert (first["row"], first["origin"], first["destination"], first["sex"], first["value"]) == (2, "SYR", "DEU", "female", 100)
    assert first["detail"] == "B+R"
    assert p.facts.filter(p.facts["row"] == 10)["origin"].item() == "UNK"  # OOO is UN DESA's "other"


def test_undesa_m49_codes(tmp_path):
    text = "geo,t,from,sex,n\n276,2020,760,female,5\n276,2020,760,male,6\n"
    p = undesa.read(write(tmp_path / "m49.csv", text), CW)
    assert set(p.facts["destination"]) == {"DEU"} and set(p.facts["origin"]) == {"SYR"}


def test_undesa_bad_rows_are_reported_not_dropped(tmp_path):
    text = UNDESA + "DEU,2020,ZZZ,male,5,1,0,1,0\nDEU,20x0,SYR,male,5,1,0,1,0\nDEU,2020,SYR,both,Not available,1,0,1,0\nDEU,2020,TUR,other,5,1,0,1,0\n"
    p = undesa.read(write(tmp_path / "bad.csv", text), CW)
    found = {(i.row, i.column, i.rule) for i in p.issues}
    assert found == {(15, "from", "unknown-country"), (16, "t", "bad-year"), (17, "n", "non-numeric-count"),
                     (18, "sex", "unknown-sex")}
    assert all(i.file == "bad.csv" for i in p.issues)
    assert len(p.facts) == 13


def test_unhcr_population_long_facts(files):
    p = unhcr.read(files["unhcr_population"], CW)
    assert p.dataset == "unhcr_population" and p.edition == "2021"
    f = p.facts
    # zeros and blanks are not facts; AFG's blank ISO code falls back to UNHCR's own code
    assert len(f) == 8
    afg = f.filter(f["origin"] == "AFG").row(0, named=True)
    assert (afg["row"], afg["destination"], afg["measure"], afg["value"]) == (4, "DEU", "refugees", 140)
    assert f.filter(f["measure"] == "stateless")["origin"].item() == "XXA"


def test_unhcr_total_only_tables_by_name(files, tmp_path):
    p = unhcr.read(files["unhcr_idmc"], CW)
    assert p.dataset == "unhcr_idmc" and set(p.facts["measure"]) == {"idps"}
    odd = write(tmp_path / "something.csv", files["unhcr_idmc"].read_text())
    with pytest.raises(LoadError, match="name the file after its table"):
        unhcr.read(odd, CW)


def test_idmc_stock_and_flow(files):
    s = idmc.read(files["idmc_stocks"], CW)
    assert s.dataset == "idmc_stock" and not s.bilateral and s.facts["value"].sum() == 10430
    f = idmc.read(files["idmc_flows"], CW)
    assert f.dataset == "idmc_flow" and f.edition == "2023"
    assert 0 in f.facts["value"].to_list()  # IDMC's published zero is kept


def test_worldbank_matrix(files):
    p = worldbank.read(files["worldbank"], CW)
    assert (p.dataset, p.edition) == ("worldbank_bilateral", "2013")
    pairs = {(r["origin"], r["destination"]): r["value"] for r in p.facts.iter_rows(named=True)}
    assert pairs == {("DEU", "TUR"): 40, ("TUR", "DEU"): 1500, ("SYR", "DEU"): 300, ("SYR", "TUR"): 2500}
    assert [(i.rule, i.column) for i in p.issues] == [("aggregate-skipped", "World")]


def test_worldbank_unknown_names_and_missing_year(tmp_path):
    text = ("Destination country (across)-Source country (down)\tGermany\tTurkey\tSyria\tAtlantis\tFrance\tSpain"
            "\tItaly\tChad\tMali\tPeru\nGermany\t0\t1\t2\t3\t4\t5\t6\t7\t8\t9\nNarnia\t1\t1\t1\t1\t1\t1\t1\t1\t1\t1\n")
    path = write(tmp_path / "matrix_2010.tsv", text)
    p = worldbank.read(path, CW)
    rules = {(i.row, i.column, i.rule) for i in p.issues}
    assert (1, "Atlantis", "unknown-country") in rules
    assert (3, "Destination country (across)-Source country (down)", "unknown-country") in rules
    assert set(p.facts["origin"]) == {"DEU"} and "Atlantis" not in set(p.facts["detail"])
    with pytest.raises(LoadError, match="states no year"):
        worldbank.read(write(tmp_path / "matrix.tsv", text), CW)
    assert worldbank.read(write(tmp_path / "matrix.tsv", text), CW, year=2010).edition == "2010"


def test_detect(files, tmp_path):
    assert [detect(files[k]) for k in ("undesa", "unhcr_population", "idmc_stocks", "worldbank")] == [
        "undesa", "unhcr", "idmc", "worldbank"]
    with pytest.raises(LoadError, match="does not look like a unhcr table"):
        detect(files["undesa"], "unhcr")
    with pytest.raises(LoadError, match="cannot tell which source"):
        detect(write(tmp_path / "x.csv", "a,b\n1,2\n"))
    with pytest.raises(LoadError, match="unknown source"):
        detect(files["undesa"], "oecd")


def test_undesa_m49_other_is_unknown(tmp_path):
    text = "geo,t,from,sex,n\n276,2020,2003,female,5\n"
    assert set(undesa.read(write(tmp_path / "m49.csv", text), CW).facts["origin"]) == {"UNK"}


def test_unhcr_download_page_headers(tmp_path):
    text = ('"Year","Country of origin","Country of origin (ISO)","Country of asylum","Country of asylum (ISO)",'
            '"Refugees under UNHCR\'s mandate","Asylum-seekers","Returned refugees","IDPs of concern to UNHCR",'
            '"Returned IDPss","Stateless persons","Others of concern","Other people in need of international protection",'
            '"Host Community"\n'
            '2023,"Afghanistan","AFG","Germany","DEU",1000,20,0,0,0,0,0,-,0\n'
            '2023,"Syria","SYR","Germany","DEU",500,..,0,0,0,0,0,n/a,0\n')
    path = write(tmp_path / "population.csv", text.replace("IDPss", "IDPs"))
    assert detect(path) == "unhcr"
    p = unhcr.read(path, CW)
    assert p.dataset == "unhcr_population"
    # '-' (nil) and '..' (not available) are the UN's blanks; 'n/a' is not a number and rejects its row
    assert sorted(zip(p.facts["measure"], p.facts["value"], strict=True)) == [("asylum_seekers", 20), ("refugees", 1000)]
    assert [(i.row, i.column, i.rule) for i in p.issues] == [(3, "oip", "non-numeric-count")]


def test_an_hxl_row_is_a_header_line(tmp_path):
    text = "geo,t,cause,n\n#country+code,#date+year,#cause,#affected+idps\nSYR,2023,conflict,5\nSYR,2023,flood,x\n"
    p = idmc.read(write(tmp_path / "idmc_flows.csv", text), CW)
    assert p.facts["row"].to_list() == [3] and [(i.row, i.column) for i in p.issues] == [(4, "n")]
