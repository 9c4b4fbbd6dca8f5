"""Backtest partitions: strategy × symbol, both dynamic.

Keys look like ``sma_cross|ACME`` (Dagster orders dimensions by name). The ``strategy``
dimension is what strategy discovery found (``research_lab.core.strategies``: the built-ins and
every configured user strategy), registered in the instance by
:func:`register_strategies`: the ``strategy_partitions_sensor`` on each tick, or
``research-lab strategy register``. No strategy name is written here, and loading the
definitions imports no strategy module: a new strategy becomes a partition without a code
change, as soon as the sensor ticks or the command runs.

``market_history_mapping``: a ``backtest_results`` partition depends on *every* year partition
of its symbol in ``market_data`` (same symbol, all years: at most 27 in 2026), the whole history
it reads in one query.
"""

import dagster as dg

from research_lab.defs.partitions import symbol_partitions

strategy_partitions = dg.DynamicPartitionsDefinition(name="strategy")

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


# what a whole-history asset (backtests, studies) of one symbol reads: every year of its
# bars, and of its anomaly scores (so an open critical anomaly shows upstream in the graph)
history_deps = [
    dg.AssetDep("market_data", partition_mapping=market_history_mapping),
    dg.AssetDep("anomaly_scores", partition_mapping=market_history_mapping),
]


def register_strategies(instance: dg.DagsterInstance) -> tuple[list[str], list[str]]:
    """Add every discovered strategy missing from the ``strategy`` partitions; returns the
    names added and the discovery problems (sources that failed to import)."""
    from research_lab.core.strategies import discover

    found = discover()
    known = set(instance.get_dynamic_partitions(strategy_partitions.name))
    added = [name for name in found.strategies if name not in known]
    if added:
        instance.add_dynamic_partitions(strategy_partitions.name, added)
    return added, list(found.problems)
