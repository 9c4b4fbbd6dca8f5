"""A range run of market_data records each YEAR partition as its own materialization: its own
rows and sessions (from the store's ledger), its own data version (a hash of its sessions'
versions, as the event's version), its dimension tags, and no range-wide duplicate; written as
one batch when Dagster batches events, one by one otherwise."""

from datetime import date

import dagster as dg

from research_lab.defs.marketdata import partition_metadata
from research_lab.defs.marketdata.backfill import materialize_range
from research_lab.defs.partitions import split_market_key

MARKET = dg.AssetKey("market_data")
# two years: 2023-12-25 and 2024-01-01 are holidays (ledger rows with 0 bars)
RANGE = (date(2023, 12, 25), date(2024, 1, 5))


def _records(instance):
    return instance.fetch_materializations(MARKET, limit=1000).records


def _latest(instance):
    out = {}
    for r in _records(instance):  # newest first
        out.setdefault(r.partition_key, r.asset_materialization)
    return out


def _assert_each_partition_is_its_own(instance, symbols):
    records = _records(instance)
    assert len(records) == 2 * len(symbols)  # one per year partition, no range-wide duplicate
    for record in records:
        symbol, year = split_market_key(record.partition_key)
        mat = record.asset_materialization
        assert mat.tags["dagster/data_version"] == mat.metadata["data_version"].value
        assert mat.metadata["sessions_written"].value == 5
        assert mat.metadata["sessions_stored"].value == 5
        assert mat.metadata["rows"].value == 4  # 5 weekdays, one of them a holiday
        assert mat.metadata["year"].value == year
        assert mat.tags["dagster/partition/symbol"] == symbol
        assert mat.tags["dagster/partition/year"] == str(year)
    versions = {r.asset_materialization.tags["dagster/data_version"] for r in records}
    assert len(versions) == 2 * len(symbols)  # every (symbol, year) its own


def test_each_partition_of_a_range_run_has_its_own_data_version(lab_env, instance, store):
    result = materialize_range(instance, ["ACME", "GLOBEX"], *RANGE)
    assert result.success
    _assert_each_partition_is_its_own(instance, ["ACME", "GLOBEX"])
    # Dagster's view of the version agrees with the event's tag
    key = dg.MultiPartitionKey({"symbol": "ACME", "year": "2024"})
    record = instance.get_latest_data_version_record(MARKET, partition_key=key)
    assert record is not None
    assert record.asset_materialization.metadata["first_session"].value == "2024-01-02"


def test_the_year_version_changes_only_when_a_session_changed(lab_env, instance, store):
    assert materialize_range(instance, ["ACME"], *RANGE).success
    original = _latest(instance)["ACME|2024"].tags["dagster/data_version"]
    assert materialize_range(instance, ["ACME"], date(2024, 1, 3), date(2024, 1, 3)).success
    assert _latest(instance)["ACME|2024"].tags["dagster/data_version"] == original

    # another writer changes 2024-01-02's bar; re-ingesting 01-03 records the changed year
    bars = store.read_bars("ACME", date(2024, 1, 2), date(2024, 1, 2))
    bars["close"] = bars["close"] * 1.01
    bars["high"] = bars[["high", "close"]].max(axis=1)
    store.write_partitions("ACME", [date(2024, 1, 2)], bars, source="synthetic")
    assert materialize_range(instance, ["ACME"], date(2024, 1, 3), date(2024, 1, 3)).success
    changed = _latest(instance)["ACME|2024"].tags["dagster/data_version"]
    assert changed != original
    # the source's bar again: the year is back to its first version; 2023 never moved
    assert materialize_range(instance, ["ACME"], date(2024, 1, 2), date(2024, 1, 2)).success
    assert _latest(instance)["ACME|2024"].tags["dagster/data_version"] == original


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
    assert materialize_range(instance, ["ACME"], *RANGE).success
    materializations = [b for b in batches if "ASSET_MATERIALIZATION" in b]
    assert materializations == [["ASSET_MATERIALIZATION"] * 2]
    _assert_each_partition_is_its_own(instance, ["ACME"])


def test_without_dagsters_private_step_context_the_public_api_gives_the_same_events(
        lab_env, instance, store, monkeypatch):
    monkeypatch.setattr(partition_metadata, "_batch_logger", lambda context: None)
    assert materialize_range(instance, ["ACME"], *RANGE).success
    _assert_each_partition_is_its_own(instance, ["ACME"])


def test_a_run_that_also_scores_returns_the_output_so_the_scores_are_not_skipped(
        lab_env, instance, store):
    """market_data + anomaly_scores in one run (the UI's "materialize all"): the scores step
    runs, and each market_data year partition still has its own metadata."""
    from research_lab.defs.marketdata.assets import market_data
    from research_lab.defs.marketdata.backfill import add_symbols
    from research_lab.defs.marketdata.requests import range_tags, session_config
    from research_lab.defs.quality.assets import anomaly_scores
    from research_lab.defs.resources import default_resources

    add_symbols(instance, ["ACME"])
    result = dg.materialize(
        [market_data, anomaly_scores], instance=instance, resources=default_resources(),
        tags=range_tags(["ACME"], *RANGE),
        run_config=session_config(*RANGE, "market_data", "anomaly_scores"),
    )
    assert result.success
    skipped = [e.step_key for e in result.all_events if e.is_step_skipped]
    assert skipped == []
    assert len(result.asset_materializations_for_node("anomaly_scores")) == 2
    scored = result.asset_materializations_for_node("anomaly_scores")[0].metadata
    assert scored["sessions_scored"].value == 10
    records = _records(instance)
    assert len(records) == 2
    rows = {r.partition_key: r.asset_materialization.metadata["rows"].value for r in records}
    assert rows == {"ACME|2023": 4, "ACME|2024": 4}
