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


def walk_forward(sessions: Any, config: SplitConfig, folds: int, window: int = 20) -> list[Splits]:
    """``folds`` expanding walk-forward splits of ``sessions``, oldest first.

    The test period of :func:`make_splits` (the sessions after the validation period) is cut
    into ``folds`` consecutive blocks of equal length (the last takes the remainder); fold
    *k* tests on block *k*, validates on the ``validation`` sessions just before it, and
    trains on everything before that. So the test periods never overlap, every fold trains
    only on the past of its own test period, and one fold is exactly :func:`make_splits`.
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
        raise ValueError(f"walk-forward folds: {folds!r} must be an integer >= 1")
    base = make_splits(sessions, config, window)
    days = [x.date() for x in pd.DatetimeIndex(pd.to_datetime(pd.Series(sessions))).normalize()]
    n = len(days)
    first_test = days.index(base.test[0])
    n_val = first_test - days.index(base.validation[0])
    block = (n - first_test) // folds
    if block < MIN_PERIOD:
        raise ValueError(
            f"walk-forward: {folds} folds of the {n - first_test} test sessions "
            f"({base.test[0]}..{base.test[1]}) give {block} sessions a fold; need at least "
            f"{MIN_PERIOD}: use fewer folds or a larger test share (splits)")
    out = []
    for k in range(folds):
        start = first_test + k * block
        end = n - 1 if k == folds - 1 else start + block - 1
        out.append(Splits(train=(days[0], days[start - n_val - 1]),
                          validation=(days[start - n_val], days[start - 1]),
                          test=(days[start], days[end])))
    return out
