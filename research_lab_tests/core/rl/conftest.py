"""Bars and a tiny configuration for the RL tests, and one small policy trained once.

The bars are the demo data: the synthetic source's ACME (seed 42), four years (~1,000
sessions, so the 60/20/20 splits give ~600 / 200 / 200). The tiny configuration trains PPO
with short rollouts (2,048 steps, 128 per rollout) so that a policy trains in seconds.
"""

from __future__ import annotations

import datetime as dt

import pytest

from research_lab.core.rl.config import load_rl_config

START, END = dt.date(2021, 1, 1), dt.date(2024, 12, 31)

TINY = dict(
    timesteps=2048,
    hyperparameters={"PPO": {"n_steps": 128, "batch_size": 64, "n_epochs": 2},
                     "A2C": {"n_steps": 8}, "DQN": {"learning_starts": 64, "buffer_size": 2000,
                                                    "batch_size": 32, "train_freq": 4}},
    net_arch=[32, 32],
    env={"episode_length": 128},
    early_stopping={"eval_freq": 1024, "patience": 5},
    checkpoint_freq=1024,
    evaluation={"episodes": 3, "episode_length": 60},
)


def demo_bars(symbol: str = "ACME"):
    from research_lab.core.marketdata.sources import SyntheticSource

    return SyntheticSource(seed=42, end="2025-12-31").fetch(symbol, START, END)


@pytest.fixture(scope="session")
def bars():
    return demo_bars()


@pytest.fixture(scope="session")
def market():
    from research_lab.core.backtest.market_context import MarketContext

    return MarketContext.from_frames(demo_bars("^GSPC"), demo_bars("^VIX"))


@pytest.fixture(scope="session")
def tiny_config():
    return load_rl_config(**TINY)


@pytest.fixture(scope="session")
def trained(bars, tiny_config, tmp_path_factory):
    """One small PPO policy, trained once for the whole session."""
    from research_lab.core.rl.train import train_policy

    return train_policy(bars, tiny_config, out_dir=tmp_path_factory.mktemp("policy"))
