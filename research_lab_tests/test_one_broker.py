"""One broker: a commission changed in (a copy of) config/research_lab.yaml reaches the CLI
backtest, a study's definition (its trials and baselines) and RL's environment, playback and
baselines; the other configuration files may no longer define one."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from research_lab.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMMISSION = 0.0037  # not a default anywhere


@pytest.fixture
def lab_config(tmp_path, monkeypatch):
    doc = yaml.safe_load((ROOT / "config" / "research_lab.yaml").read_text())
    assert doc["broker"]["commission"] != COMMISSION
    doc["broker"]["commission"] = COMMISSION
    path = tmp_path / "research_lab.yaml"
    path.write_text(yaml.safe_dump(doc))
    home = tmp_path / "home"
    monkeypatch.setenv("RESEARCH_LAB_CONFIG", str(path))
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(home))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", f"sqlite:///{home / 'market.db'}")
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,^GSPC,^VIX")
    for var in ("RESEARCH_LAB_SOURCE", "RESEARCH_LAB_OPTIMIZE_CONFIG", "RESEARCH_LAB_RL_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    return path


def test_the_shipped_defaults_are_one_set():
    from research_lab.core.backtest.costs import BrokerConfig

    shipped = yaml.safe_load((ROOT / "config" / "research_lab.yaml").read_text())["broker"]
    defaults = BrokerConfig().to_dict()
    assert {k: defaults[k] for k in shipped} == shipped  # the file states the code's defaults
    for name in ("optimize.yaml", "rl.yaml"):
        assert "broker" not in yaml.safe_load((ROOT / "config" / name).read_text()), name


def test_backtest_study_and_rl_use_the_configured_commission(lab_config, tmp_path, capsys):
    from research_lab.core.backtest.costs import load_broker
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.optimize import StudyRequest, load_optimize_config
    from research_lab.core.optimize.runner import build_definition
    from research_lab.core.optimize.space import default_space
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.evaluate import evaluate_policy
    from research_lab.core.rl.splits import period_env
    from research_lab.core.rl.train import train_policy
    from research_lab_tests.core.rl.conftest import TINY

    assert load_broker().commission == COMMISSION

    # the CLI backtest: no flag, so the lab's broker; a flag overrides it
    out = tmp_path / "a.json"
    argv = ["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "--start",
            "2023-01-03", "--end", "2023-06-30", "--json", str(out)]
    assert main(argv) == 0
    assert json.loads(out.read_text())["broker"]["commission"] == COMMISSION
    assert main([*argv, "--commission", "0.002"]) == 0
    assert json.loads(out.read_text())["broker"]["commission"] == 0.002

    # a study: its definition's broker runs every trial and the study's baselines
    bars = SyntheticSource(seed=42, end="2025-12-31").fetch("ACME", date(2021, 1, 4),
                                                            date(2024, 12, 31))
    cfg = load_optimize_config()
    assert cfg.broker.commission == COMMISSION
    defn = build_definition(StudyRequest("sma_cross", "ACME", bars, default_space("sma_cross"),
                                         "broker-test", config=cfg))
    assert defn.broker["commission"] == COMMISSION

    # RL: the environment, the playback and both baselines
    config = load_rl_config(**{**TINY, "timesteps": 128})
    assert config.broker_settings()["commission"] == COMMISSION
    trained = train_policy(bars, config, out_dir=tmp_path / "policy")
    assert period_env(bars, trained.splits, "test", config).broker.commission == COMMISSION
    ev = evaluate_policy(trained.policy_path, bars, splits=trained.splits,
                         best_strategy=("sma_cross", {"fast": 10, "slow": 50}))
    for report in (ev.playback.report, ev.buy_and_hold, ev.best_strategy):
        assert report.result.broker["commission"] == COMMISSION
    capsys.readouterr()


@pytest.mark.parametrize(("text", "message"), [
    ("broker: {commision: 0.1}\n", "broker: unknown field(s) commision; valid: cash"),
    ("broker: {percent: 120}\n", "broker: percent=120 must be in (0, 100]"),
    ("broker: [1, 2]\n", "broker: must be a mapping"),
])
def test_a_bad_broker_section_is_named(lab_config, text, message, capsys):
    lab_config.write_text(text)
    assert main(["backtest", "--strategy", "sma_cross", "--symbols", "ACME"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{lab_config}: {message}" in err
