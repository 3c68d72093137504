"""Protection of the people behind the numbers: every public output goes through `public_table`
(aggregates), `public_records` (place lists) or `export_microdata` (records). See docs/protection.md."""

from mobtrack.protect.agreements import AccessDenied, authorise_read
from mobtrack.protect.classes import FieldPolicy, Sensitivity
from mobtrack.protect.cube import SpecError, TableSpec
from mobtrack.protect.gate import NotPublic, PublicTable, export_microdata, public_records, public_table

__all__ = [
    "AccessDenied",
    "FieldPolicy",
    "NotPublic",
    "PublicTable",
    "Sensitivity",
    "SpecError",
    "TableSpec",
    "authorise_read",
    "export_microdata",
    "public_records",
    "public_table",
]
