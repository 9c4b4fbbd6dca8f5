"""``TradingEnv``: one symbol's bars as a gymnasium environment, traded by the backtest broker.

One step is one session. At the close of bar t the agent sees the observation of bar t and
picks a direction; the order that moves the position there fills at bar t + 1's open, and the
reward is paid at bar t + 1's close::

    env = TradingEnv(bars, start="2023-01-02", end="2023-12-29", config=EnvConfig())
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(1)   # go long at the next open

Fills and costs are the backtest's, not a re-implementation: every step runs the fast
engine's compiled broker loop (:func:`research_lab.core.backtest.kernels.simulate`) on the
directions chosen so far, so cash checks, next-open fills, percent or fixed sizing and both
commission schemes of :class:`~research_lab.core.backtest.costs.BrokerConfig` are exactly
those of ``run_backtest``. To keep a step cheap the loop restarts from the last bar where the
account was flat (its whole state is then the cash), so a step replays at most the current
holding period; the equity curve is bit-identical to ``run_signal(bars, directions)`` (tested).

Observation (float32, clipped to ±10): the market features of :mod:`.features` at bar t
(computed from bars up to t only), then the held direction (-1, 0, 1), the episode's return
so far (value / starting cash - 1) and its drawdown from the episode's peak (0..1).

Actions (``EnvConfig.action``):
    * ``discrete``: ``0`` flat, ``1`` long, ``2`` short (only with ``allow_short``).
    * ``box``: a target weight in [-1, 1] (without shorts mapped to (w + 1) / 2 in [0, 1]),
      rounded to the nearest direction, because the engine holds whole directions sized by
      the broker's rule (e.g. 95 % of equity), as every strategy does.

Reward (``EnvConfig.reward``, times ``reward_scale``): ``pnl`` the change in account value
net of commission over the starting cash; ``log_return`` log(value[t+1] / value[t]);
``risk_adjusted`` pnl minus ``risk_penalty`` x the increase of the drawdown.

Episodes: with ``random_start`` (training) an episode starts at a random bar of the period
(the env's ``np_random``, seeded by ``reset(seed=...)``) and lasts ``episode_length``
decisions; otherwise it covers the whole period. ``reset(options={"offset": i, "length":
n})`` starts at the i-th bar of the period. An episode is truncated at its last bar and
terminated early if the account value reaches zero or the drawdown reaches
``max_drawdown_stop``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces

from research_lab.core.backtest.costs import BrokerConfig
from research_lab.core.backtest.prices import prices_from_bars

from .config import EnvConfig
from .features import CLIP, compute_features, feature_names, warmup

ACCOUNT_FEATURES = ("direction", "episode_return", "drawdown")


def make_broker(
    settings: BrokerConfig | Mapping[str, Any] | None, allow_short: bool
) -> BrokerConfig:
    """A :class:`BrokerConfig` from settings, with ``allow_short`` from the environment."""
    if isinstance(settings, BrokerConfig):
        settings = settings.to_dict()
    return BrokerConfig(**{**dict(settings or {}), "allow_short": allow_short})


def _index(sessions: pd.DatetimeIndex, day: Any, side: str) -> int:
    stamp = pd.Timestamp(day)
    if side == "start":
        return int(sessions.searchsorted(stamp, side="left"))
    return int(sessions.searchsorted(stamp, side="right")) - 1


class TradingEnv(gym.Env):
    """A gymnasium environment over ``bars`` (one symbol), trading sessions ``start..end``.

    ``bars`` may begin before ``start``: those bars only feed the features (history). Trading
    begins at ``start`` or at the first bar with complete features, whichever is later.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        bars: pd.DataFrame,
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        config: EnvConfig | None = None,
        broker: BrokerConfig | Mapping[str, Any] | None = None,
        random_start: bool = False,
    ) -> None:
        super().__init__()
        self.config = config or EnvConfig()
        self.broker = make_broker(broker, self.config.allow_short)
        self.prices = prices_from_bars(bars)
        self.sessions = self.prices.sessions
        self.random_start = random_start
        self.features = compute_features(bars, self.config.window)
        first = max(_index(self.sessions, start, "start") if start else 0,
                    warmup(self.config.window))
        last = _index(self.sessions, end, "end") if end else len(self.sessions) - 1
        if last - first < 1:
            raise ValueError(
                f"TradingEnv: {self.prices.symbol} has {max(last - first + 1, 0)} tradable "
                f"bar(s) in {start or 'start'}..{end or 'end'} after the "
                f"{warmup(self.config.window)}-bar feature warm-up; need at least 2"
            )
        self.first, self.last = first, last
        self.directions = self._directions()
        if self.config.action == "discrete":
            self.action_space = spaces.Discrete(len(self.directions))
        else:
            self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        size = self.features.shape[1] + len(ACCOUNT_FEATURES)
        self.observation_space = spaces.Box(-CLIP, CLIP, shape=(size,), dtype=np.float32)
        from research_lab.core.backtest.kernels import simulate  # numba: loaded here

        self._simulate = simulate
        self._kernel_args = self.broker.kernel_args()
        n = len(self.sessions)
        self._signal = np.full(n, np.nan)
        self._equity = np.full(n, np.nan)
        self._out = (np.empty(n), np.empty(n, dtype=np.int64), np.empty(n), np.empty(n),
                     np.empty(n))
        self._start = self._end = self._t = first

    @property
    def observation_names(self) -> tuple[str, ...]:
        return (*feature_names(self.config.window), *ACCOUNT_FEATURES)

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """First and last session the environment trades."""
        return self.sessions[self.first].date(), self.sessions[self.last].date()

    def _directions(self) -> tuple[float, ...]:
        return (0.0, 1.0, -1.0) if self.config.allow_short else (0.0, 1.0)

    def direction(self, action: Any) -> float:
        """The direction (-1, 0, 1) an action asks for."""
        if self.config.action == "discrete":
            return self.directions[int(np.asarray(action).reshape(-1)[0])]
        w = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        if not self.config.allow_short:
            return 1.0 if (w + 1.0) / 2.0 > 0.5 else 0.0  # weight (w + 1) / 2 in [0, 1]
        return float(round(w))  # nearest of -1, 0, 1 (exactly ±0.5 rounds to flat)

    # --- episode ---------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        span = self.last - self.first
        length = options.get("length") or (self.config.episode_length if self.random_start
                                           else None)
        length = min(int(length), span) if length else span
        if "offset" in options:
            start = self.first + min(int(options["offset"]), span - length)
        elif self.random_start and length < span:
            start = self.first + int(self.np_random.integers(0, span - length + 1))
        else:
            start = self.first
        self._start, self._end, self._t = start, start + length, start
        self._signal[:] = np.nan
        self._equity[:] = np.nan
        self._equity[start] = self.broker.cash
        self._anchor, self._anchor_cash = start, float(self.broker.cash)
        self._committed = [0, 0.0, 0]  # fills, commission, rejected before the anchor
        self._window = (0, 0.0, 0)
        cash = float(self.broker.cash)
        self._cash, self._position, self._peak = cash, 0.0, cash
        return self._observation(), self._info()

    def step(self, action: Any):
        t = self._t
        if t >= self._end:
            raise RuntimeError("step() after the episode ended: call reset()")
        want = self.direction(action)
        self._signal[t] = want
        before = self._equity[t]
        value = self._advance(t + 1)
        self._t = t + 1
        drawdown_before = 1.0 - before / self._peak
        self._peak = max(self._peak, value)
        drawdown = 1.0 - value / self._peak
        reward = self._reward(before, value, drawdown_before, drawdown)
        stop = self.config.max_drawdown_stop
        terminated = value <= 0.0 or (stop is not None and drawdown >= stop)
        truncated = self._t >= self._end and not terminated
        return self._observation(), reward, bool(terminated), bool(truncated), self._info()

    def _advance(self, t1: int) -> float:
        """Run the broker from the anchor through bar ``t1``; returns the value at its close."""
        a = self._anchor
        m = t1 + 1 - a
        equity, fill_bar, fill_size, fill_price, fill_comm = (x[:m] for x in self._out)
        cash, fills, rejected, _, _, _ = self._simulate(
            self.prices.open[a:t1 + 1], self.prices.close[a:t1 + 1], self._signal[a:t1 + 1],
            self._anchor_cash, *self._kernel_args[1:],
            equity, fill_bar, fill_size, fill_price, fill_comm,
        )
        value = float(equity[m - 1])
        self._equity[t1] = value
        self._cash = float(cash)
        self._position = float(fill_size[:fills].sum())
        self._window = (int(fills), float(fill_comm[:fills].sum()), int(rejected))
        if self._position == 0.0:  # flat: the whole broker state is the cash; restart here
            self._committed = [c + w for c, w in zip(self._committed, self._window)]
            self._window = (0, 0.0, 0)
            self._anchor, self._anchor_cash = t1, float(cash)
        return value

    def _reward(self, before: float, value: float, dd_before: float, dd: float) -> float:
        c = self.config
        if c.reward == "log_return":
            r = math.log(max(value, 1e-12) / before)
        else:
            r = (value - before) / self.broker.cash
            if c.reward == "risk_adjusted":
                r -= c.risk_penalty * max(0.0, dd - dd_before)
        return float(r * c.reward_scale)

    # --- observation and info ----------------------------------------------------------------

    def _observation(self) -> np.ndarray:
        t = self._t
        value = self._equity[t]
        direction = float(np.sign(self._position))
        account = np.array(
            [direction, value / self.broker.cash - 1.0, 1.0 - value / self._peak],
            dtype=np.float32,
        )
        obs = np.concatenate([self.features[t], account])
        return np.clip(np.nan_to_num(obs, nan=0.0), -CLIP, CLIP).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        t = self._t
        fills, commission, rejected = (c + w for c, w in zip(self._committed, self._window))
        return {
            "session": self.sessions[t].date().isoformat(),
            "value": float(self._equity[t]),
            "cash": self._cash,
            "position": self._position,
            "fills": fills,
            "commission": commission,
            "rejected": rejected,
        }

    # --- what the episode did ----------------------------------------------------------------

    def episode_signal(self) -> pd.Series:
        """The direction chosen at each bar of the episode so far (NaN where none was)."""
        span = slice(self._start, self._t + 1)
        return pd.Series(self._signal[span].copy(), index=self.sessions[span], name="direction")

    def episode_equity(self) -> pd.Series:
        """The account value at each close of the episode so far."""
        span = slice(self._start, self._t + 1)
        return pd.Series(self._equity[span].copy(), index=self.sessions[span], name="equity")

    def episode_bars(self) -> slice:
        """The bar positions the episode has covered (for ``bars.iloc``)."""
        return slice(self._start, self._t + 1)
