"""Global statistics. Importing the package registers the DTM-side plug-ins (OD sources `dtm` and `fm`,
the DTM IDP profile source and the DTM-vs-IDMC check) from mobtrack.analytics.flows."""

import mobtrack.analytics.flows  # noqa: E402,F401  (registers with stats.od, stats.profiles, stats.consistency)
