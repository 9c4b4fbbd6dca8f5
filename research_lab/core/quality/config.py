"""How the sentinel's models are fitted: windows, refit blocks, sizes (not the thresholds).

The range computation is **causal but batched**. Models are refit once per *calendar year* of
the sessions being scored, on data strictly before that year's 1 January, and then score every
session of the year:

- Isolation Forest: each calendar year gets its own small forest (``if_trees_per_year`` trees)
  fitted on that year's clean feature rows; a session of year Y is scored by the forests of the
  ``if_years`` years before Y (a rolling 3-year forest in which each tree is fitted once, so a
  5,000-session history costs ~20 small fits).
- Prophet: one fit of log close and one of log volume on the last ``prophet_window`` sessions
  before 1 January of Y; the forecast for the year is anchored on the previous session's actual
  value through an AR(1) on the residuals, which is known the evening before each session.

Because the block boundaries depend only on the session's date, a partition gets the same
scores whether it is materialized alone (the nightly run) or inside a 20-year backfill, and no
model ever sees a session at or after the one it scores. The cost: a model may be up to a year
old; the per-session features (trailing 63-session robust scales) and the AR(1) anchoring carry
the recent information.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class SentinelConfig:
    """Model settings of the sentinel (defaults are what the benchmarks and evaluation use)."""

    scale_window: int = 63  # trailing sessions of the robust scales (return, range, volume)
    min_scale_obs: int = 20  # fewer earlier sessions: no robust scale yet (no jump z, no features)
    if_years: int = 3  # calendar years of trailing forests scoring a session
    if_trees_per_year: int = 50  # trees fitted per calendar year
    if_min_train: int = 100  # clean rows a year needs to get a forest
    prophet_window: int = 504  # trailing sessions of each Prophet fit (~2 years)
    prophet_min_train: int = 126  # fewer clean sessions: no Prophet evidence
    use_iforest: bool = True
    use_prophet: bool = True
    seed: int = 0  # Isolation Forest seed (each year's forest uses seed + year)
    warmup_days: int = 140  # calendar days read before the first training year (scales, refs)

    def context_start(self, first_session: date) -> date:
        """The first day to read from the store to score sessions from ``first_session`` on:
        the training years of the earliest block plus the scales' warm-up."""
        years_back = max(self.if_years, -(-self.prophet_window // 252) + 1)
        return date(first_session.year - years_back, 1, 1) - timedelta(days=self.warmup_days)
