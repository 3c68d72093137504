"""mobtrack: displacement and mobility tracking, from field files to protected, published figures.

The package layout follows the data's path:
source file -> ingest -> model (canonical records) -> validate -> gazetteer (match places)
-> store -> analytics -> protect -> publish / web.
"""

__version__ = "0.1.0"
