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

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SentinelConfig(BaseModel):
    """Model settings of the sentinel (defaults are what the benchmarks and evaluation use).

    Typed and validated like every configuration of the project (pydantic, frozen): a bad
    value raises :class:`~research_lab.core.environment.SettingsError` naming the field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # trailing sessions of the robust scales (return, range, volume)
    scale_window: int = Field(default=63, ge=2, strict=True)
    # fewer earlier sessions: no robust scale yet (no jump z, no features)
    min_scale_obs: int = Field(default=20, ge=2, strict=True)
    if_years: int = Field(default=3, ge=1, strict=True)  # calendar years of trailing forests
    if_trees_per_year: int = Field(default=50, ge=1, strict=True)  # trees per calendar year
    if_min_train: int = Field(default=100, ge=1, strict=True)  # clean rows a year's forest needs
    prophet_window: int = Field(default=504, ge=2, strict=True)  # sessions of each Prophet fit
    # fewer clean sessions: no Prophet evidence
    prophet_min_train: int = Field(default=126, ge=2, strict=True)
    # "exact": Prophet's model solved to its mode in-process (prophet_map); "cmdstan": Prophet
    prophet_solver: Literal["exact", "cmdstan"] = "exact"
    use_iforest: bool = True
    use_prophet: bool = True
    seed: int = Field(default=0, ge=0, strict=True)  # forest seed (each year: seed + year)
    # calendar days read before the first training year (scales, refs)
    warmup_days: int = Field(default=140, ge=0, strict=True)

    def __init__(self, **values) -> None:
        from research_lab.core.environment import SettingsError

        try:
            super().__init__(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise SettingsError(f"quality sentinel config: {field}: {err['msg']}, "
                                f"got {err.get('input')!r}") from None

    def context_start(self, first_session: date) -> date:
        """The first day to read from the store to score sessions from ``first_session`` on:
        the training years of the earliest block plus the scales' warm-up."""
        years_back = max(self.if_years, -(-self.prophet_window // 252) + 1)
        return date(first_session.year - years_back, 1, 1) - timedelta(days=self.warmup_days)
