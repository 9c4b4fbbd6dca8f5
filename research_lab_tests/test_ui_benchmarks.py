"""The UI benchmark's instance filler and its bad-input handling (benchmarks/ui_*.py)."""

import sys
from pathlib import Path

import dagster as dg
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import ui_instance  # noqa: E402
import ui_pages  # noqa: E402


def test_date_keys_of_each_design():
    assert ui_instance.date_keys("year", 3, 2024) == ["2022", "2023", "2024"]
    sessions = ui_instance.date_keys("session", 1, 2024)
    assert len(sessions) == 262  # 2024's weekdays (holidays included, as the project's)
    assert (sessions[0], sessions[-1]) == ("2024-01-01", "2024-12-31")
    assert "2024-01-06" not in sessions  # a Saturday


def test_fill_records_each_partition_materialized_with_its_dimensions():
    with dg.DagsterInstance.ephemeral() as instance:
        ui_instance.fill(instance, "year", ["AAA", "BBB"], ["2023", "2024"],
                         progress=lambda _: None)
        key = dg.AssetKey("market_data")
        assert instance.get_materialized_partitions(key) == {
            "AAA|2023", "AAA|2024", "BBB|2023", "BBB|2024"}
        assert instance.get_dynamic_partitions("symbol") == ["AAA", "BBB"]
        event = instance.get_latest_materialization_event(key)
        assert event.asset_materialization.partition == dg.MultiPartitionKey(
            {"symbol": "BBB", "year": "2024"})
        assert event.asset_materialization.metadata["rows"].value == 252
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(key, "schema_ohlc")])
        assert dg.AssetCheckKey(key, "schema_ohlc") in check


def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys):
    assert ui_pages.main(["--dagster-home", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"--dagster-home: no dagster.yaml in {tmp_path}"
    assert ui_pages.main(["--dagster-home", str(tmp_path), "--pages", "nope"]) == 2
    assert "--pages: unknown page 'nope'" in capsys.readouterr().err
    existing = tmp_path / "home"
    existing.mkdir()
    assert ui_instance.main(["--design", "year", "--home", str(existing)]) == 2
    assert capsys.readouterr().err.strip() == f"--home: {existing} exists (give a new folder)"
    assert list(existing.iterdir()) == []  # nothing written


def test_an_unknown_design_is_refused():
    with pytest.raises(SystemExit) as exc:
        ui_instance.main(["--design", "month", "--home", "/nonexistent/x"])
    assert exc.value.code == 2
