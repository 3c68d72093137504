"""Synthetic statistics files, small enough that every expected figure can be worked out by hand.

Nothing here comes from the real sources: the numbers are made up, the layouts are the sources'.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

UNDESA = """geo,t,from,sex,n,type_b,type_c,type_r,type_i
DEU,2015,SYR,female,100,1,0,1,0
DEU,2015,SYR,male,150,1,0,1,0
DEU,2015,TUR,female,300,1,0,1,0
DEU,2015,TUR,male,320,1,0,1,0
DEU,2020,SYR,female,400,1,0,1,0
DEU,2020,SYR,male,500,1,0,1,0
DEU,2020,TUR,female,310,1,0,1,0
DEU,2020,TUR,male,330,1,0,1,0
DEU,2020,OOO,female,7,1,0,1,0
TUR,2020,SYR,female,2000,1,0,1,0
TUR,2020,SYR,male,2100,1,0,1,0
TUR,2020,DEU,female,40,1,0,1,0
TUR,2020,DEU,male,45,1,0,1,0
"""

UNHCR_POPULATION = """year,coo_name,coo,coo_iso,coa_name,coa,coa_iso,refugees,asylum_seekers,returned_refugees,idps,returned_idps,stateless,ooc,oip,hst
2020,Syrian Arab Rep.,SYR,SYR,Türkiye,TUR,TUR,3600.0,10.0,0.0,0.0,0.0,0.0,0.0,,0.0
2020,Syrian Arab Rep.,SYR,SYR,Germany,GFR,DEU,600.0,55.0,0.0,0.0,0.0,0.0,0.0,,0.0
2020,Afghanistan,AFG,,Germany,GFR,DEU,140.0,,0.0,0.0,0.0,0.0,0.0,,0.0
2020,Stateless,STA,XXA,Germany,GFR,DEU,0.0,0.0,0.0,0.0,0.0,20.0,0.0,,0.0
2020,Syrian Arab Rep.,SYR,SYR,Syrian Arab Rep.,SYR,SYR,0.0,0.0,0.0,6000.0,0.0,0.0,0.0,,0.0
2021,Syrian Arab Rep.,SYR,SYR,Türkiye,TUR,TUR,3700.0,0.0,0.0,0.0,0.0,0.0,0.0,,0.0
"""

UNHCR_IDMC = """year,coo_name,coo,coo_iso,coa_name,coa,coa_iso,total
2023,Syrian Arab Rep.,SYR,SYR,Syrian Arab Rep.,SYR,SYR,7000.0
2024,Syrian Arab Rep.,SYR,SYR,Syrian Arab Rep.,SYR,SYR,7200.0
2024,Nigeria,NIG,NGA,Nigeria,NIG,NGA,3000.0
"""

IDMC_STOCKS = """geo,t,cause,sex,age,n
SYR,2024,conflict,female,0-4,1000
SYR,2024,conflict,male,0-4,1100
SYR,2024,conflict,unknown,unknown,5000
SYR,2024,disaster,female,18-59,30
NGA,2024,conflict,unknown,unknown,3300
"""

IDMC_FLOWS = """geo,t,cause,n
SYR,2022,conflict,500
SYR,2023,conflict,800
SYR,2023,earthquake,90000
SYR,2023,flood,0
"""

WORLDBANK = (
    "Destination country (across)-Source country (down)\tGermany\tTurkey\tSyria\tWorld\r\n"
    "Germany\t0\t40\t0\t40\r\n"
    "Turkey\t1500\t0\t0\t1500\r\n"
    "Syria\t300\t2500\t0\t2800\r\n"
)


def write(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    return {
        "undesa": write(tmp_path / "undesa_stocks.csv.gz", UNDESA, gz=True),
        "unhcr_population": write(tmp_path / "population.csv", UNHCR_POPULATION),
        "unhcr_idmc": write(tmp_path / "idmc.csv", UNHCR_IDMC),
        "idmc_stocks": write(tmp_path / "idmc_stocks.csv", IDMC_STOCKS),
        "idmc_flows": write(tmp_path / "idmc_flows.csv", IDMC_FLOWS),
        "worldbank": write(tmp_path / "bilateral_matrix_2013.tsv", WORLDBANK),
    }


@pytest.fixture
def loaded(engine, files):
    """A store holding every synthetic file."""
    from mobtrack.stats.load import load_file

    for path in files.values():
        result = load_file(engine, path)
        assert result.status == "loaded", result.message
    return engine
