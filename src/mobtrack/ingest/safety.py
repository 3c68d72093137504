"""File checks every adapter runs before parsing: size, archive sanity, encoding, cell safety."""

from __future__ import annotations

import os

from mobtrack.ingest.base import SourceFile
from mobtrack.validate.issue import ImportRejected

# Large enough for a whole country's flow-monitoring history as CSV; override with MOBTRACK_MAX_FILE_MB.
DEFAULT_MAX_FILE_MB = 2048


def max_file_bytes() -> int:
    return int(float(os.environ.get("MOBTRACK_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)) * 1024 * 1024)


def check_size(source: SourceFile) -> None:
    limit = max_file_bytes()
    if source.size > limit:
        raise ImportRejected(
            f"{source.name}: {source.size / 1e6:.0f} MB is over the {limit / 1e6:.0f} MB limit for one file; "
            "split it by round, or raise MOBTRACK_MAX_FILE_MB if this machine has the memory"
        )
    if source.size == 0:
        raise ImportRejected(f"{source.name}: the file is empty")
