"""Train / validation / test periods by date, and the environments over them.

The periods never overlap and follow each other in time: the agent learns on the first,
training stops early on the second, and the third is touched only by playback and
evaluation. Each environment is built from the bars *up to the end of its own period*, so no
later bar can reach it; the bars before its period feed the features (history, not
look-ahead), which is why the validation and test environments can trade from their first
session while the training environment waits for the feature warm-up.

From :class:`~.config.SplitConfig`: fractions of the symbol's sessions (0.6 / 0.2 / rest by
default), or explicit ``train_end`` and ``validation_end`` dates (test = everything after).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .config import RLConfig, SplitConfig
from .features import warmup

MIN_PERIOD = 20  # sessions a validation or test period needs; training needs warm-up + this


@dataclass(frozen=True)
class Splits:
    """First and last session of each period (inclusive)."""

    train: tuple[dt.date, dt.date]
    validation: tuple[dt.date, dt.date]
    test: tuple[dt.date, dt.date]

    def __post_init__(self) -> None:
        periods = [("train", self.train), ("validation", self.validation), ("test", self.test)]
        for name, (a, b) in periods:
            if a > b:
                raise ValueError(f"splits: {name} starts {a} after it ends {b}")
        for (n1, p1), (n2, p2) in zip(periods, periods[1:]):
            if not p1[1] < p2[0]:
                raise ValueError(f"splits: {n1} ({p1[0]}..{p1[1]}) overlaps or follows "
                                 f"{n2} ({p2[0]}..{p2[1]})")

    def to_dict(self) -> dict[str, str]:
        return {f"{name}_{edge}": day.isoformat()
                for name in ("train", "validation", "test")
                for edge, day in zip(("start", "end"), getattr(self, name))}


def make_splits(sessions: Any, config: SplitConfig, window: int = 20) -> Splits:
    """The three periods of ``sessions`` (the symbol's bar sessions, ascending)."""
    days = pd.DatetimeIndex(pd.to_datetime(pd.Series(sessions))).normalize()
    n = len(days)
    if config.train_end is not None and config.validation_end is not None:
        n_train = int(days.searchsorted(pd.Timestamp(config.train_end), side="right"))
        n_val = int(days.searchsorted(pd.Timestamp(config.validation_end), side="right")) - n_train
        how = f"train_end {config.train_end}, validation_end {config.validation_end}"
    else:
        n_train, n_val = int(n * config.train), int(n * config.validation)
        how = f"fractions {config.train} / {config.validation} / rest"
    n_test = n - n_train - n_val
    need_train = warmup(window) + MIN_PERIOD
    if n_train < need_train or n_val < MIN_PERIOD or n_test < MIN_PERIOD:
        raise ValueError(
            f"splits ({how}) of {n} sessions give train {n_train}, validation {n_val}, test "
            f"{n_test} sessions; need at least {need_train} (feature warm-up + {MIN_PERIOD}), "
            f"{MIN_PERIOD} and {MIN_PERIOD}: load more history or move the split dates"
        )
    d = [x.date() for x in days]
    return Splits(
        train=(d[0], d[n_train - 1]),
        validation=(d[n_train], d[n_train + n_val - 1]),
        test=(d[n_train + n_val], d[-1]),
    )


def bars_until(bars: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """The bars with session <= ``end`` (what an environment of a period may see)."""
    return bars.loc[pd.to_datetime(bars["session"]) <= pd.Timestamp(end)].reset_index(drop=True)


def period_env(bars: pd.DataFrame, splits: Splits, period: str, config: RLConfig,
               *, random_start: bool | None = None):
    """The :class:`~.env.TradingEnv` of ``period`` (``train``, ``validation`` or ``test``):
    bars up to the period's end, trading from its start. Training episodes start at random
    sessions unless ``random_start=False``."""
    from .env import TradingEnv

    start, end = getattr(splits, period)
    return TradingEnv(
        bars_until(bars, end), start=start, end=end, config=config.env,
        broker=config.broker, random_start=(period == "train") if random_start is None
        else random_start,
    )
