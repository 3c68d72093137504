"""Bad files: each one is refused with a clear message, or read with the problem recorded."""

from __future__ import annotations

import zipfile

import polars as pl
import pytest
from tests.ingest.synthetic import HEADER, TAGS, district_rows, read_all, write_csv, write_xlsx

from mobtrack.ingest.safety import Limits, check_xlsx, detect_encoding
from mobtrack.ingest.values import parse_counts, parse_dates, parse_round, round_from_name
from mobtrack.validate.issue import ImportRejected


def good_workbook(tmp_path):
    return write_xlsx(tmp_path / "ken_baseline_round_1.xlsx", {"Data": [HEADER, TAGS, *district_rows()]})


def test_truncated_workbook_is_refused(tmp_path):
    path = good_workbook(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImportRejected, match="corrupted or truncated"):
        read_all(path, "hxl")


def test_workbook_with_a_damaged_part_is_refused(tmp_path):
    path = good_workbook(tmp_path)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    for i in range(start, start + 40):  # scramble compressed bytes of the sheet
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ImportRejected, match="corrupted"):
        read_all(path, "hxl")


def test_zip_bomb_disguised_as_xlsx_is_refused_before_reading(tmp_path):
    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * 20_000_000)  # 20 MB of zeros -> ~20 kB
    assert path.stat().st_size < 100_000
    with pytest.raises(ImportRejected, match="zip bomb"):
        read_all(path, "hxl")


def test_total_expansion_limit(tmp_path):
    path = good_workbook(tmp_path)
    with pytest.raises(ImportRejected, match="expand to"):
        check_xlsx(path, Limits(max_xlsx_uncompressed=1000))


def test_old_binary_excel_and_non_zip_are_refused(tmp_path):
    xls = tmp_path / "old.xlsx"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(ImportRejected, match=r"\.xls"):
        check_xlsx(xls)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("Region,IDPs\nA,1\n")
    with pytest.raises(ImportRejected, match="not an XLSX"):
        check_xlsx(fake)


def test_file_over_the_size_limit_is_refused_with_the_setting_to_change(tmp_path, monkeypatch):
    rows = [HEADER, TAGS] + district_rows() * 50
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows)
    monkeypatch.setenv("MOBTRACK_MAX_FILE_MB", "0.002")  # ~2 kB
    with pytest.raises(ImportRejected) as err:
        read_all(path, "hxl")
    assert "limit" in str(err.value) and "MOBTRACK_MAX_FILE_MB" in str(err.value)
    monkeypatch.delenv("MOBTRACK_MAX_FILE_MB")
    assert read_all(path, "hxl")[0].height == 450


def test_default_limits_allow_a_200_mb_csv():
    assert Limits.from_env().max_file_bytes >= 200 * 1024 * 1024


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ImportRejected, match="empty"):
        read_all(path, "hxl")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "cp1252"])
def test_csv_in_other_encodings_is_read(tmp_path, encoding):
    rows = [HEADER, TAGS, *district_rows()]
    rows[2][5] = "Région Nord"
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows, encoding=encoding)
    records, _, notes, _ = read_all(path)  # sniffed: the format is recognised through the encoding too
    assert "Région Nord" in set(records["adm2_name"])
    assert records.filter(pl.col("unit") == "individuals")["value"].sum() == 164
    if encoding.startswith("utf-16") or encoding == "cp1252":
        assert any("read as" in n for n in notes)


def test_utf16_without_bom_is_detected():
    assert detect_encoding("#adm1+name,x\n".encode("utf-16-le"))[0] == "utf-16-le"
    assert detect_encoding("#adm1+name,x\n".encode("utf-16-be"))[0] == "utf-16-be"
    assert detect_encoding(b"\xef\xbb\xbfabc") == ("utf-8-sig", 3)


def test_formula_in_a_name_is_kept_as_text_and_flagged(tmp_path):
    rows = [HEADER, TAGS, *district_rows()]
    rows[2][5] = '=HYPERLINK("http://example.invalid/x","Click")'
    path = write_csv(tmp_path / "ken_baseline_round_1.csv", rows)
    records, issues, _, _ = read_all(path)
    flagged = [i for i in issues if i.rule == "formula-in-text"]
    assert [(i.row, i.column) for i in flagged] == [(3, "adm2_name")]
    assert rows[2][5] in set(records["adm2_name"])  # kept verbatim, never evaluated


def test_formula_cell_in_a_workbook_is_flagged_not_lost(tmp_path):
    rows = [HEADER, TAGS, *district_rows()]
    rows[2][5] = '=HYPERLINK("http://example.invalid/x","Click")'  # openpyxl stores it as a formula
    path = write_xlsx(tmp_path / "ken_baseline_round_1.xlsx", {"Data": rows})
    records, issues, _, _ = read_all(path)
    assert any(i.rule == "formula-in-text" and i.row == 3 for i in issues)
    assert rows[2][5] in set(records["adm2_name"])


def test_counts_stored_as_text_in_a_workbook_are_read_and_noted(tmp_path):
    rows = [HEADER, TAGS, *district_rows()]
    for row in rows[2:]:
        row[8] = str(row[8])  # text cells in Excel
    path = write_xlsx(tmp_path / "ken_baseline_round_1.xlsx", {"Data": rows})
    records, issues, _, _ = read_all(path)
    assert records.filter((pl.col("unit") == "individuals") & (pl.col("population_group") == "idps"))["value"].sum() == 152
    assert any(i.rule == "count-as-text" and i.column == "IDP Ind" for i in issues)


def test_count_parsing_table():
    raw = ["12", "1,234", "1 234", "1\u00a0234", "12.0", "12.5", "Not available", "-", "n/a", "abc", "-5", None]
    value, problem = parse_counts(pl.col("r"))
    out = pl.DataFrame({"r": raw}).select(value.alias("v"), problem.alias("p"))
    assert out["v"].to_list() == [12, 1234, 1234, 1234, 12, None, None, None, None, None, -5, None]
    assert out["p"].to_list() == [None, "count-as-text", "count-as-text", "count-as-text", "count-as-text",
                                  "fractional-count", "placeholder-count", "placeholder-count",
                                  "placeholder-count", "non-numeric-count", None, None]


def test_date_and_round_parsing():
    dates = pl.DataFrame({"d": ["2022-01-31 00:00:00", "April-30-2022", "2017-03-30T00:00:00", "30/04/2022",
                                "44681", "soon"]})
    assert [str(d) if d else None for d in dates.select(parse_dates(pl.col("d")))["d"]] == [
        "2022-01-31", "2022-04-30", "2017-03-30", "2022-04-30", "2022-04-30", None]
    rounds = pl.DataFrame({"r": ["38", "R38", "Round 11", "B2_01", "12.0"]})
    assert rounds.select(parse_round(pl.col("r")))["r"].to_list() == [38, 38, 11, 1, 12]
    assert round_from_name("iom_dtm_libya_baseline_assessment_round_39.xlsx") == 39
    assert round_from_name("idps_download-data-round-13-idp-report.xlsx") == 13
    assert round_from_name("global-iom-dtm-from-api-admin-0-to-2.csv") is None


def test_formula_with_a_stored_result_in_a_name_is_still_flagged(tmp_path):
    path = good_workbook(tmp_path)
    # give the formula a cached display value, as Excel does after computing it
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace('<c r="F3" t="inlineStr"><is><t>Alpha North</t></is></c>',
                          '<c r="F3" t="str"><f>HYPERLINK("http://example.invalid","Click")</f><v>Click</v></c>')
    assert "HYPERLINK" in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    records, issues, _, _ = read_all(path)
    flagged = [i for i in issues if i.rule == "formula-in-text"]
    assert [(i.row, i.value) for i in flagged] == [(3, '=HYPERLINK("http://example.invalid","Click")')]


def test_any_count_written_the_usual_ways_reads_back():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    spellings = [str, "{:,}".format, lambda n: f"{n:,}".replace(",", " "),
                 lambda n: f"{n:,}".replace(",", "\u00a0"), lambda n: f"{n}.0", lambda n: f"  {n} "]

    @settings(max_examples=25, deadline=None, database=None)
    @given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=20))
    def check(numbers):
        texts = [spell(n) for n in numbers for spell in spellings]
        value, _ = parse_counts(pl.col("r"))
        parsed = pl.DataFrame({"r": texts}).select(value)["r"].to_list()
        assert parsed == [n for n in numbers for _ in spellings]

    check()


def test_streamed_csv_blocks_never_cut_inside_a_quoted_value(tmp_path):
    from mobtrack.ingest.tables import stream_csv

    path = tmp_path / "multiline.csv"
    lines = ["name,value"] + [f'"Site {i}, block ""A""\nsecond line",{i}' for i in range(8000)]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 3 * 65536  # several blocks
    batches = list(stream_csv(path, ",", 1, 2, 1000))
    assert len(batches) >= 8 and max(b.height for b in batches) <= 1000
    frame = pl.concat(batches)
    assert frame["c1"].cast(pl.Int64).to_list() == list(range(8000))
    assert frame["c0"][7999] == 'Site 7999, block "A"\nsecond line'
    assert frame["_row"].to_list() == list(range(2, 8002))  # record numbers, as a spreadsheet shows them


def test_old_mac_line_ends_are_read(tmp_path):
    path = tmp_path / "ken_baseline_round_1.csv"
    rows = [HEADER, TAGS, *district_rows()]
    path.write_bytes("\r".join(",".join(str(v) for v in r) for r in rows).encode("utf-8") + b"\r")
    records, _, _, _ = read_all(path)
    assert records.filter(pl.col("unit") == "individuals")["value"].sum() == 164
