"""Study partitions: strategy (static, the strategy library) × symbol (the shared dynamic
``symbol`` dimension), keys like ``sma_cross|ACME``; the same shape as ``backtest_results``.

A study depends on every session of its symbol in ``market_data``
(``market_history_mapping``) and reads that history in one store query.
"""

import dagster as dg

from research_lab.defs.backtest.partitions import (
    STRATEGY_NAMES,
    market_history_mapping,
    strategy_partitions,
)
from research_lab.defs.partitions import symbol_partitions

study_partitions = dg.MultiPartitionsDefinition(
    {"strategy": strategy_partitions, "symbol": symbol_partitions}
)

__all__ = ["STRATEGY_NAMES", "market_history_mapping", "study_key", "split_study_key",
           "study_partitions"]


def study_key(strategy: str, symbol: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"strategy": strategy, "symbol": symbol})


def split_study_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    if not isinstance(key, dg.MultiPartitionKey):
        key = study_partitions.get_partition_key_from_str(key)
    parts = key.keys_by_dimension
    return parts["strategy"], parts["symbol"]
