"""Rule checks on stored bars, one outcome per check with a severity.

These back the asset checks on ``market_data`` (and keep their per-session findings, because a
Dagster check in a range run is recorded once for the whole run):

==================== ======== ============================================================
check                severity what fails it
==================== ======== ============================================================
schema_ohlc          ERROR    a stored row breaks the bar schema or OHLC consistency
missing_sessions     WARN     an exchange session in the checked span has no bar
stale_prices         WARN     ``stale_run`` or more consecutive bars with identical OHLC
extreme_moves        WARN     |close-to-close log return| above ``max_abs_log_return``
==================== ======== ============================================================

Checks look only at the sessions being checked plus earlier bars passed as ``context`` (never
later ones), so a result for a session never depends on what came after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy/pandas load lazily: the Dagster definitions import this module
    import pandas as pd

ERROR = "ERROR"
WARN = "WARN"


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str
    description: str
    failing: tuple[tuple[date, str], ...] = field(default=())

    def summary(self, limit: int = 20) -> str:
        if self.passed:
            return "passed"
        lines = [f"{d.isoformat()}: {why}" for d, why in self.failing[:limit]]
        more = len(self.failing) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        return "\n".join(lines)


CHECKS: dict[str, tuple[str, str]] = {
    "schema_ohlc": (ERROR, "Every stored bar satisfies the bar schema and OHLC consistency."),
    "missing_sessions": (WARN, "Every exchange session has a bar."),
    "stale_prices": (WARN, "No run of identical OHLC bars (a frozen feed)."),
    "extreme_moves": (WARN, "No close-to-close move beyond the configured limit."),
}


def _outcome(name: str, failing: list[tuple[date, str]]) -> CheckOutcome:
    severity, description = CHECKS[name]
    return CheckOutcome(name, not failing, severity, description, tuple(failing))


def check_schema_ohlc(bars: pd.DataFrame) -> CheckOutcome:
    from research_lab.core.marketdata.schema import BarValidationError, validate_bars

    try:
        validate_bars(bars, source="store")
    except BarValidationError as exc:
        day = bars["session"].iloc[exc.row].date() if exc.row is not None else date.min
        return _outcome("schema_ohlc", [(day, exc.reason)])
    return _outcome("schema_ohlc", [])


def check_missing_sessions(
    bars: pd.DataFrame, exchange_sessions: Sequence[date]
) -> CheckOutcome:
    have = set(bars["session"].dt.date) if len(bars) else set()
    failing = [(d, "exchange session without a bar") for d in exchange_sessions if d not in have]
    return _outcome("missing_sessions", failing)


def _checked(bars: pd.DataFrame, sessions: set[date]):
    return bars["session"].dt.date.isin(sessions).to_numpy()


def check_stale_prices(
    bars: pd.DataFrame, sessions: Sequence[date], stale_run: int = 5
) -> CheckOutcome:
    """Flags a checked session that ends a run of ``stale_run`` identical OHLC bars."""
    import numpy as np

    if len(bars) < stale_run:
        return _outcome("stale_prices", [])
    ohlc = bars[["open", "high", "low", "close"]].to_numpy()
    same = np.r_[False, (ohlc[1:] == ohlc[:-1]).all(axis=1)]
    run = np.zeros(len(bars), dtype=int)
    for i in range(1, len(bars)):
        run[i] = run[i - 1] + 1 if same[i] else 0
    hit = (run >= stale_run - 1) & _checked(bars, set(sessions))
    failing = [
        (bars["session"].iloc[i].date(), f"OHLC unchanged for {run[i] + 1} bars")
        for i in np.flatnonzero(hit)
    ]
    return _outcome("stale_prices", failing)


def check_extreme_moves(
    bars: pd.DataFrame, sessions: Sequence[date], max_abs_log_return: float = 0.25
) -> CheckOutcome:
    import numpy as np

    if len(bars) < 2:
        return _outcome("extreme_moves", [])
    close = bars["close"].to_numpy()
    lr = np.r_[0.0, np.diff(np.log(close))]
    hit = (np.abs(lr) > max_abs_log_return) & _checked(bars, set(sessions))
    failing = [
        (bars["session"].iloc[i].date(), f"close moved {np.expm1(lr[i]):+.1%} in one session")
        for i in np.flatnonzero(hit)
    ]
    return _outcome("extreme_moves", failing)


def run_bar_checks(
    bars: pd.DataFrame,
    sessions: Sequence[date],
    exchange_sessions: Sequence[date],
    *,
    stale_run: int = 5,
    max_abs_log_return: float = 0.25,
) -> list[CheckOutcome]:
    """All four checks over ``bars`` (checked sessions plus earlier context rows)."""
    return [
        check_schema_ohlc(bars),
        check_missing_sessions(bars, exchange_sessions),
        check_stale_prices(bars, sessions, stale_run),
        check_extreme_moves(bars, sessions, max_abs_log_return),
    ]
