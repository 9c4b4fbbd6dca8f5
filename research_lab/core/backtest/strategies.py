"""The strategy library: each strategy is a signal rule over named indicator lines.

Defined once here, run by both engines (:mod:`.fast_engine` and :mod:`.bt_engine`); the
parameter spaces are in ``config/strategies.yaml`` (:mod:`.params`). "-1" below means short
when shorts are allowed and flat otherwise (:mod:`.signals`).

=================== ===========================================================================
strategy            rule
=================== ===========================================================================
close_sma_cross     +1 when close crosses above SMA(period), -1 when it crosses below:
                    backtrader's test-suite strategy (``tests/test_strategy_unoptimized.py``),
                    whose published numbers on ``2006-day-001`` both engines reproduce
sma_cross           +1 / -1 when SMA(fast) crosses above / below SMA(slow)
ema_cross           +1 / -1 when EMA(fast) crosses above / below EMA(slow)
macd                +1 / -1 when EMA(fast) - EMA(slow) crosses above / below its EMA(signal)
                    (``cross: signal``) or zero (``cross: zero``)
rsi_reversion       +1 while RSI(period) < lower, -1 while RSI > upper
bollinger           +1 while close < SMA - devfactor * std, -1 while close > SMA + devfactor * std
donchian_breakout   +1 when close > highest high of the previous ``period`` bars,
                    -1 when close < lowest low of the previous ``exit_period`` bars
momentum            +1 while ROC(period) > threshold, -1 while ROC < -threshold
=================== ===========================================================================

Adding a strategy: write a builder ``params -> Rule`` below, register it in
:data:`STRATEGIES`, and give it a space in ``config/strategies.yaml`` (a test checks that
the two lists agree, and every parity and look-ahead test picks it up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import lines as L
from .params import get_space
from .signals import ABOVE_BELOW, BELOW_ABOVE, CROSS, Rule


def _close_sma_cross(p: Mapping[str, Any]) -> Rule:
    return Rule(CROSS, L.price("close"), L.sma("close", p["period"]))


def _sma_cross(p: Mapping[str, Any]) -> Rule:
    return Rule(CROSS, L.sma("close", p["fast"]), L.sma("close", p["slow"]))


def _ema_cross(p: Mapping[str, Any]) -> Rule:
    return Rule(CROSS, L.ema("close", p["fast"]), L.ema("close", p["slow"]))


def _macd(p: Mapping[str, Any]) -> Rule:
    line = L.macd("close", p["fast"], p["slow"])
    if p["cross"] == "zero":
        return Rule(CROSS, line, L.const(0.0))
    return Rule(CROSS, line, L.macd_signal("close", p["fast"], p["slow"], p["signal"]))


def _rsi_reversion(p: Mapping[str, Any]) -> Rule:
    return Rule(
        BELOW_ABOVE, L.rsi("close", p["period"]), L.const(p["lower"]), L.const(p["upper"])
    )


def _bollinger(p: Mapping[str, Any]) -> Rule:
    period, dev = p["period"], p["devfactor"]
    return Rule(
        BELOW_ABOVE,
        L.price("close"),
        L.bollinger_bot("close", period, dev),
        L.bollinger_top("close", period, dev),
    )


def _donchian_breakout(p: Mapping[str, Any]) -> Rule:
    return Rule(
        ABOVE_BELOW,
        L.price("close"),
        L.highest_before("high", p["period"]),
        L.lowest_before("low", p["exit_period"]),
    )


def _momentum(p: Mapping[str, Any]) -> Rule:
    threshold = float(p["threshold"])
    return Rule(ABOVE_BELOW, L.roc("close", p["period"]), L.const(threshold), L.const(-threshold))


STRATEGIES: dict[str, Callable[[Mapping[str, Any]], Rule]] = {
    "close_sma_cross": _close_sma_cross,
    "sma_cross": _sma_cross,
    "ema_cross": _ema_cross,
    "rsi_reversion": _rsi_reversion,
    "bollinger": _bollinger,
    "macd": _macd,
    "donchian_breakout": _donchian_breakout,
    "momentum": _momentum,
}


def strategy_rule(
    strategy: str, params: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Rule]:
    """Resolved parameters (defaults filled, validated) and the rule of ``strategy``."""
    space = get_space(strategy)  # raises for an unknown strategy, listing the known ones
    if strategy not in STRATEGIES:
        raise ValueError(
            f"strategy {strategy!r} has a parameter space but no rule in strategies.py; "
            f"rules exist for: {', '.join(sorted(STRATEGIES))}"
        )
    resolved = space.resolve(params)
    return resolved, STRATEGIES[strategy](resolved)


def rule_for(strategy: str, resolved: Mapping[str, Any]) -> Rule:
    """The rule of already-resolved parameters (no validation: for sweeps)."""
    return STRATEGIES[strategy](resolved)
