"""Backtests: alert rules evaluated over a replay, and the report an analyst reads before going live.

evaluate.py   Backtester: the live AlertEngine, in memory, clocked by the replay, never sending
labels.py     relevance labels (ids or URLs, optionally per rule) for precision and recall
summary.py    would-be alerts per rule: per-day counts, delivery verdicts, quality
charts.py     matches per day as PNG (matplotlib, Agg)
report.py     report.md, report.html, alerts.csv, charts/<rule>.png, byte-identical on a re-run
"""

from sinks.backtest.charts import per_day_chart
from sinks.backtest.evaluate import Backtester, NotificationRefusedError, WouldBeAlert
from sinks.backtest.labels import Labels, load_labels
from sinks.backtest.report import CSV_COLUMNS, alerts_csv, html_report, markdown, write_report
from sinks.backtest.summary import BacktestMeta, Quality, RuleSummary, days_between, summarize

__all__ = [
    "CSV_COLUMNS",
    "BacktestMeta",
    "Backtester",
    "Labels",
    "NotificationRefusedError",
    "Quality",
    "RuleSummary",
    "WouldBeAlert",
    "alerts_csv",
    "days_between",
    "html_report",
    "load_labels",
    "markdown",
    "per_day_chart",
    "summarize",
    "write_report",
]
