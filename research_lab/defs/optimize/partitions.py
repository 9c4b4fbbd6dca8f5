"""Study partitions: strategy (dynamic, from strategy discovery) × symbol (the shared dynamic
``symbol`` dimension), keys like ``sma_cross|ACME``: the very partitions of ``backtest_results``,
so that a study and the backtests of the same strategy and symbol line up in the UI.

A study depends on every session of its symbol in ``market_data``
(``market_history_mapping``) and reads that history in one store query.
"""

from research_lab.defs.backtest.partitions import (
    backtest_key as study_key,
    backtest_partitions as study_partitions,
    history_deps,
    market_history_mapping,
    split_backtest_key as split_study_key,
)

__all__ = ["history_deps", "market_history_mapping", "study_key", "split_study_key",
           "study_partitions"]
