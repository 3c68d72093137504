"""Analytics: figures at any admin level, latest rounds, change between rounds, time series."""

from mobtrack.analytics.changes import changes, series
from mobtrack.analytics.figures import figures
from mobtrack.analytics.rounds import RoundFilter, current_rounds

__all__ = ["RoundFilter", "changes", "current_rounds", "figures", "series"]
