"""Backtest partitions: strategy (static) × symbol (the shared dynamic ``symbol`` dimension).

Keys look like ``sma_cross|ACME`` (Dagster orders dimensions by name). The strategy names are
the strategy library's (``research_lab.core.backtest.STRATEGIES``), listed here so that
loading the definitions imports no pandas; a test checks that the two lists agree.

``market_history_mapping``: a ``backtest_results`` partition depends on *every* session of its
symbol in ``market_data`` (same symbol, all sessions), the whole history it reads in one query.
"""

import dagster as dg

from research_lab.defs.partitions import symbol_partitions

STRATEGY_NAMES: tuple[str, ...] = (
    "close_sma_cross",
    "sma_cross",
    "ema_cross",
    "rsi_reversion",
    "bollinger",
    "macd",
    "donchian_breakout",
    "momentum",
)

strategy_partitions = dg.StaticPartitionsDefinition(list(STRATEGY_NAMES))

backtest_partitions = dg.MultiPartitionsDefinition(
    {"strategy": strategy_partitions, "symbol": symbol_partitions}
)

market_history_mapping = dg.MultiPartitionMapping(
    {
        "symbol": dg.DimensionPartitionMapping(
            dimension_name="symbol", partition_mapping=dg.IdentityPartitionMapping()
        )
    }
)


def backtest_key(strategy: str, symbol: str) -> dg.MultiPartitionKey:
    """The partition key of one (strategy, symbol)."""
    return dg.MultiPartitionKey({"strategy": strategy, "symbol": symbol})


def split_backtest_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(strategy, symbol) of a backtest partition key."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = backtest_partitions.get_partition_key_from_str(key)
    parts = key.keys_by_dimension
    return parts["strategy"], parts["symbol"]


# what a whole-history asset (backtests, studies) of one symbol reads: every session of its
# bars, and of its anomaly scores (so an open critical anomaly shows upstream in the graph)
history_deps = [
    dg.AssetDep("market_data", partition_mapping=market_history_mapping),
    dg.AssetDep("anomaly_scores", partition_mapping=market_history_mapping),
]
