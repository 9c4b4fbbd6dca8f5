"""The trading environment: a valid gymnasium env, no look-ahead, the backtest's own fills."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research_lab.core.backtest.api import run_signal
from research_lab.core.rl.config import EnvConfig
from research_lab.core.rl.env import TradingEnv
from research_lab.core.rl.features import compute_features, feature_names, warmup

BROKERS = {
    "percent_commission": dict(sizing="percent", percent=95.0, commission=0.001),
    "stake": dict(sizing="fixed", stake=3.0, commission=0.002),
    "futures": dict(sizing="percent", percent=50.0, commission=2.0, mult=10.0, margin=1000.0),
    "all_in": dict(sizing="percent", percent=100.0, commission=0.001),
}
ENVS = {
    "discrete": EnvConfig(),
    "discrete_short": EnvConfig(allow_short=True),
    "box": EnvConfig(action="box"),
    "box_short": EnvConfig(action="box", allow_short=True, reward="risk_adjusted"),
    "log_reward": EnvConfig(reward="log_return", window=5),
}


@pytest.mark.parametrize("name", sorted(ENVS))
def test_check_env_passes(bars, name):
    from stable_baselines3.common.env_checker import check_env

    env = TradingEnv(bars.iloc[:300], config=ENVS[name], broker=BROKERS["percent_commission"])
    check_env(env, warn=True, skip_render_check=True)
    assert env.observation_space.shape == (len(env.observation_names),)


def _play(env: TradingEnv, actions) -> list:
    env.reset(seed=0)
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, info))
        if terminated or truncated:
            break
    return out


def _random_actions(env: TradingEnv, n: int, seed: int) -> list:
    env.action_space.seed(seed)
    # runs of equal actions, so positions are held for a while (as a policy would)
    actions = []
    while len(actions) < n:
        actions += [env.action_space.sample()] * int(np.random.default_rng(len(actions) + seed)
                                                     .integers(1, 12))
    return actions[:n]


@pytest.mark.parametrize("broker", sorted(BROKERS))
@pytest.mark.parametrize("short", [False, True])
def test_fills_and_costs_are_the_backtest_engines(bars, broker, short):
    """Same action sequence -> the env's equity curve is run_signal's, to the bit (fast) and
    to 1e-9 (backtrader); the env's fill and commission totals are the engine's."""
    settings = {**BROKERS[broker], "allow_short": short}
    env = TradingEnv(bars.iloc[:400], config=EnvConfig(allow_short=short), broker=settings)
    steps = _play(env, _random_actions(env, 400, seed=sorted(BROKERS).index(broker) * 2 + short))
    played = bars.iloc[env.episode_bars()].reset_index(drop=True)
    signal = env.episode_signal()
    fast = run_signal(played, signal, **settings)
    np.testing.assert_array_equal(env.episode_equity().to_numpy(), fast.equity.to_numpy())
    info = steps[-1][2]
    assert info["fills"] == len(fast.orders) > 10
    assert info["rejected"] == fast.rejected_orders
    assert info["commission"] == pytest.approx(fast.orders["commission"].sum(), rel=1e-12)
    assert info["position"] == fast.final_position
    assert info["cash"] == fast.final_cash
    if broker == "all_in":
        assert info["rejected"] > 0, "the margin-rejection path must be exercised"
    ref = run_signal(played, signal, engine="backtrader", **settings)
    np.testing.assert_allclose(env.episode_equity().to_numpy(), ref.equity.to_numpy(),
                               rtol=1e-9)


def test_reward_is_the_change_in_equity_net_of_costs(bars):
    env = TradingEnv(bars.iloc[:200], config=EnvConfig(reward_scale=1.0),
                     broker=BROKERS["percent_commission"])
    steps = _play(env, [1] * 30 + [0] * 30)
    equity = env.episode_equity().to_numpy()
    rewards = np.array([r for _, r, _ in steps])
    np.testing.assert_allclose(rewards, np.diff(equity) / 10_000.0, rtol=0, atol=1e-15)
    assert steps[-1][2]["commission"] > 0 and steps[-1][2]["position"] == 0
    assert rewards.sum() == pytest.approx((equity[-1] - 10_000.0) / 10_000.0)


def test_an_action_fills_at_the_next_open(bars):
    env = TradingEnv(bars.iloc[:120], broker={"sizing": "fixed", "stake": 1.0, "commission": 0.0})
    env.reset()
    t = env.first
    env.step(1)  # decided at the close of bar t, filled at the open of t + 1
    _, _, _, _, info = env.step(1)
    assert info["position"] == 1.0
    expected = 10_000.0 - bars["open"].iloc[t + 1] + bars["close"].iloc[t + 2]
    assert info["value"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("t_offset", [0, 37, 120])
def test_observation_at_t_ignores_later_bars(bars, t_offset):
    """Change every bar after t (prices and volume): the observation at t is bit-identical."""
    n = 300
    a = bars.iloc[:n].reset_index(drop=True)
    b = a.copy()
    t = warmup(20) + t_offset
    later = b.index > t
    rng = np.random.default_rng(t_offset)
    scale = rng.uniform(0.5, 1.5, later.sum())
    for col in ("open", "high", "low", "close", "adj_close"):
        b.loc[later, col] = b.loc[later, col] * scale
    b.loc[later, "volume"] = b.loc[later, "volume"] * 3
    actions = _random_actions(TradingEnv(a), t_offset + 1, seed=5)
    env_a, env_b = TradingEnv(a), TradingEnv(b)
    obs_a = [s[0] for s in _play(env_a, actions[:t_offset])] or [env_a.reset()[0]]
    obs_b = [s[0] for s in _play(env_b, actions[:t_offset])] or [env_b.reset()[0]]
    np.testing.assert_array_equal(np.array(obs_a), np.array(obs_b))
    fa, fb = compute_features(a, 20), compute_features(b, 20)
    np.testing.assert_array_equal(fa[: t + 1], fb[: t + 1])
    assert not np.array_equal(fa[t + 1 :], fb[t + 1 :]), "the later bars did change"


def test_features_are_complete_after_warmup(bars):
    f = compute_features(bars, 20)
    assert f.shape == (len(bars), len(feature_names(20)))
    assert np.isfinite(f[warmup(20):]).all()
    assert np.isnan(f[warmup(20) - 2]).any()


def test_period_and_history(bars):
    """Bars before ``start`` are history: trading starts at ``start``, not after a warm-up."""
    sessions = pd.DatetimeIndex(bars["session"])
    env = TradingEnv(bars, start=sessions[400].date(), end=sessions[500].date())
    assert env.period == (sessions[400].date(), sessions[500].date())
    obs, info = env.reset()
    assert info["session"] == sessions[400].date().isoformat()
    assert env.last - env.first == 100
    early = TradingEnv(bars, end=sessions[100].date())
    assert early.first == warmup(20)  # no history before the data: wait for the warm-up
    with pytest.raises(ValueError, match="tradable bar"):
        TradingEnv(bars, end=sessions[30].date())


def test_random_starts_are_seeded_and_episodes_truncate(bars):
    env = TradingEnv(bars, config=EnvConfig(episode_length=50), random_start=True)
    starts = [env.reset(seed=s)[1]["session"] for s in (1, 2, 1)]
    assert starts[0] == starts[2] != starts[1]
    env.reset(seed=3)
    n, truncated = 0, False
    while not truncated:
        *_, terminated, truncated, _ = env.step(0)
        n += 1
        assert not terminated
    assert n == 50
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_drawdown_stop_terminates(bars):
    env = TradingEnv(bars, config=EnvConfig(max_drawdown_stop=0.02),
                     broker=BROKERS["percent_commission"])
    env.reset()
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(1)
    assert terminated, "a long-only run through four years must lose 2 % at some point"
    assert obs[-1] >= 0.02 - 1e-6  # the drawdown feature


def test_box_actions_round_to_directions(bars):
    long_only = TradingEnv(bars.iloc[:200], config=EnvConfig(action="box"))
    assert [long_only.direction(np.array([w])) for w in (-1, -0.2, 0.0, 0.1, 1)] == \
        [0, 0, 0, 1, 1]
    short = TradingEnv(bars.iloc[:200], config=EnvConfig(action="box", allow_short=True))
    assert [short.direction(np.array([w])) for w in (-1, -0.6, -0.5, 0.4, 0.5, 0.8)] == \
        [-1, -1, 0, 0, 0, 1]
