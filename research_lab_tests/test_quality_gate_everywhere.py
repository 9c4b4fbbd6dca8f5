"""An open critical anomaly blocks the CLI and the assets alike, through the same use case.

The CLI's ``backtest --symbols``, ``rl train`` and ``rl evaluate`` refuse the symbol with exit
code 2 and one line naming the symbol, the session and ``research-lab quality ack``, writing
nothing; the ``backtest_results`` and ``rl_policy`` assets fail with the very same message; an
analyst's acknowledgement lets the backtest through.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from research_lab.defs.backtest.partitions import register_strategies

from research_lab.cli import main

DAY = date(2023, 2, 1)


@pytest.fixture
def flagged_home(tmp_path, monkeypatch):
    """A home whose store holds ACME (Jan-Mar 2023) with a critical score on 2023-02-01."""
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.marketdata.store import BarStore, write_scores

    home = tmp_path / "home"
    url = f"sqlite:///{home / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(home))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "synthetic")
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,GLOBEX,^GSPC,^VIX")
    monkeypatch.delenv("RESEARCH_LAB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    bars = SyntheticSource(symbols=["ACME"]).fetch("ACME", date(2023, 1, 3), date(2023, 3, 31))
    with BarStore.from_url(url) as store:
        store.write_partitions("ACME", list(bars["session"].dt.date), bars, source="test")
        version = store.partitions("ACME").set_index("session").loc[pd.Timestamp(DAY),
                                                                      "data_version"]
        write_scores(store, "ACME", [DAY], pd.DataFrame([{
            "symbol": "ACME", "session": DAY, "bars_version": version, "severity": "critical",
            "reasons": '["close is 100x the previous close"]', "rules": "unit_error",
            "jump_z": 40.0, "price_ratio": 100.0, "if_score": 0.9, "prophet_close_z": 30.0,
            "prophet_volume_z": 0.1, "thresholds": "{}",
        }]))
    return home


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _refused(argv: list[str], capsys, root: Path) -> str:
    before = _files(root)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    line = captured.err.strip()
    assert "ACME has 1 open critical data anomaly: 2023-02-01: close is 100x" in line
    assert "research-lab quality ack ACME" in line
    assert _files(root) == before  # nothing written: no files, no MLflow store, no policy
    return line


def test_cli_commands_refuse_a_symbol_with_an_open_critical(flagged_home, tmp_path, capsys):
    root = tmp_path
    line = _refused(["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "--json",
                     "out.json", "--out", "runs", "--mlflow"], capsys, root)
    assert line.startswith("research-lab backtest: error: ")
    # a clean symbol first, the flagged one second: still nothing written for the clean one
    _refused(["backtest", "--strategy", "sma_cross", "--symbols", "GLOBEX", "ACME", "--start",
              "2023-01-03", "--end", "2023-03-31", "--out", "runs"], capsys, root)
    _refused(["rl", "train", "ACME", "--out", "policy", "--no-progress"], capsys, root)
    fake = tmp_path / "p" / "policy.zip"  # never read: the gate refuses first
    fake.parent.mkdir()
    fake.write_bytes(b"")
    _refused(["rl", "evaluate", "ACME", "--policy", str(fake)], capsys, root)
    assert not (root / "runs").exists() and not (root / "policy").exists()


def _failure(result) -> str:
    event = next(e for e in result.all_events if e.is_step_failure)
    return event.event_specific_data.error.message.strip()


def test_assets_fail_with_the_same_message_and_an_ack_unblocks(flagged_home, tmp_path, capsys):
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.quality.gate import acknowledge
    from research_lab.defs.backtest.assets import backtest_results
    from research_lab.defs.resources import default_resources
    from research_lab.defs.rl.assets import rl_policy
    from research_lab.defs.tracking.resources import TrackingResource

    assert main(["backtest", "--strategy", "sma_cross", "--symbols", "ACME"]) == 2
    cli_message = capsys.readouterr().err.strip().removeprefix("research-lab backtest: error: ")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        instance.add_dynamic_partitions("symbol", ["ACME"])
        register_strategies(instance)  # the strategy partitions (the sensor's job when on)
        for asset, key, config in ((backtest_results, "sma_cross|ACME", {"tearsheet": False}),
                                   (rl_policy, "ACME", {})):
            result = dg.materialize([asset], instance=instance, partition_key=key,
                                    resources={**default_resources(),
                                               "tracking": TrackingResource(background=False)},
                                    raise_on_error=False,
                                    run_config={"ops": {asset.op.name: {"config": config}}})
            assert not result.success
            assert cli_message in _failure(result), asset.op.name
    assert not (flagged_home / "backtests").exists() and not (flagged_home / "rl").exists()

    with BarStore.from_url(f"sqlite:///{flagged_home / 'market.db'}") as store:
        acknowledge(store, "ACME", DAY, verdict="false_positive", reason="checked the tape",
                    author="analyst")
    assert main(["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "--param",
                 "fast=3", "--param", "slow=8"]) == 0
    assert "sma_cross(fast=3, slow=8) on ACME" in capsys.readouterr().out
