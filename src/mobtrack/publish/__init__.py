"""Publishing files: figures as CSV, XLSX, HXL-tagged CSV, GeoJSON and Parquet (see exports.py)."""

from mobtrack.publish.exports import FORMATS, export, hxl_tags

__all__ = ["FORMATS", "export", "hxl_tags"]
