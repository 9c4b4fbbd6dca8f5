"""A range run of market_data records each partition as its own materialization: its own rows,
its own data version (the store's, as the event's version), its dimension tags, and no
range-wide duplicate; written as one batch when Dagster batches events, one by one otherwise."""

from datetime import date

import dagster as dg
import pandas as pd

from research_lab.defs.marketdata import partition_metadata
from research_lab.defs.marketdata.backfill import materialize_range
from research_lab.defs.partitions import split_market_key

MARKET = dg.AssetKey("market_data")
WEEK = (date(2024, 7, 1), date(2024, 7, 5))  # July 4th 2024 is a holiday: an empty partition


def _records(instance):
    return instance.fetch_materializations(MARKET, limit=1000).records


def _assert_each_partition_is_its_own(instance, store, symbols):
    records = _records(instance)
    assert len(records) == 5 * len(symbols)  # one per partition, no range-wide duplicate
    ledgers = {}
    for symbol in symbols:
        parts = store.partitions(symbol)
        ledgers[symbol] = {pd.Timestamp(s).date(): v
                           for s, v in zip(parts["session"], parts["data_version"])}
    for record in records:
        symbol, day = split_market_key(record.partition_key)
        mat = record.asset_materialization
        expected = "empty" if day == date(2024, 7, 4) else ledgers[symbol][day]
        assert mat.tags["dagster/data_version"] == expected, record.partition_key
        assert mat.metadata["data_version"].value == expected
        assert mat.metadata["rows"].value == (0 if day == date(2024, 7, 4) else 1)
        assert mat.tags["dagster/partition/symbol"] == symbol
        assert mat.tags["dagster/partition/session"] == day.isoformat()
    versions = [r.asset_materialization.tags["dagster/data_version"] for r in records]
    assert len(set(versions)) == 4 * len(symbols) + 1  # every bar its own; the holidays "empty"


def test_each_partition_of_a_range_run_has_its_own_data_version(lab_env, instance, store):
    result = materialize_range(instance, ["ACME", "GLOBEX"], *WEEK)
    assert result.success
    _assert_each_partition_is_its_own(instance, store, ["ACME", "GLOBEX"])
    # Dagster's view of the version agrees with the event's tag
    key = dg.MultiPartitionKey({"symbol": "ACME", "session": "2024-07-02"})
    record = instance.get_latest_data_version_record(MARKET, partition_key=key)
    assert record is not None
    assert record.asset_materialization.tags["dagster/data_version"] != "empty"
    assert record.asset_materialization.metadata["rows"].value == 1


def test_the_partitions_are_written_as_one_batch_when_dagster_batches(lab_env, instance, store,
                                                                     monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    storage_cls = type(instance.event_log_storage)
    batches = []
    original = storage_cls.store_event_batch

    def spy(self, events):
        batches.append([e.dagster_event.event_type_value for e in events])
        return original(self, events)

    monkeypatch.setattr(storage_cls, "store_event_batch", spy)
    assert materialize_range(instance, ["ACME"], *WEEK).success
    materializations = [b for b in batches if "ASSET_MATERIALIZATION" in b]
    assert materializations == [["ASSET_MATERIALIZATION"] * 5]
    _assert_each_partition_is_its_own(instance, store, ["ACME"])


def test_without_dagsters_private_step_context_the_public_api_gives_the_same_events(
        lab_env, instance, store, monkeypatch):
    monkeypatch.setattr(partition_metadata, "_batch_logger", lambda context: None)
    assert materialize_range(instance, ["ACME"], *WEEK).success
    _assert_each_partition_is_its_own(instance, store, ["ACME"])


def test_a_run_that_also_scores_returns_the_output_so_the_scores_are_not_skipped(
        lab_env, instance, store):
    """market_data + anomaly_scores in one run (the UI's "materialize all"): the scores step
    runs, and each market_data partition still has its own metadata."""
    from research_lab.defs.marketdata.assets import market_data
    from research_lab.defs.marketdata.backfill import add_symbols
    from research_lab.defs.partitions import market_key
    from research_lab.defs.quality.assets import anomaly_scores
    from research_lab.defs.resources import default_resources

    add_symbols(instance, ["ACME"])
    result = dg.materialize(
        [market_data, anomaly_scores], instance=instance, resources=default_resources(),
        tags={"dagster/asset_partition_range_start": str(market_key("ACME", WEEK[0])),
              "dagster/asset_partition_range_end": str(market_key("ACME", WEEK[1]))},
    )
    assert result.success
    skipped = [e.step_key for e in result.all_events if e.is_step_skipped]
    assert skipped == []
    assert len(result.asset_materializations_for_node("anomaly_scores")) == 5
    records = _records(instance)
    assert len(records) == 5
    rows = {split_market_key(r.partition_key)[1]: r.asset_materialization.metadata["rows"].value
            for r in records}
    assert rows == {date(2024, 7, d): (0 if d == 4 else 1) for d in range(1, 6)}
