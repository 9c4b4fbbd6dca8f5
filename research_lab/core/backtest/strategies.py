"""The strategies the engines run, resolved through :mod:`research_lab.core.strategies`.

Strategies are plugins found by discovery (``config/strategies.yaml``,
``RESEARCH_LAB_STRATEGIES``) or named by reference (``pkg.mod.Class``, ``file.py:Class``).
The built-in library (:mod:`research_lab.core.strategies.builtin`, :data:`STRATEGIES`) is
eight fast strategies defined exactly as a user defines one; adding a strategy needs no edit
here: every parity and look-ahead test over :data:`STRATEGIES` picks a new built-in up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from research_lab.core.strategies import StrategyRef, get_strategy
from research_lab.core.strategies.builtin import LIBRARY

from .signals import Rule

STRATEGIES = LIBRARY  # the built-ins, name -> class


def resolve_strategy(strategy: str | StrategyRef) -> StrategyRef:
    """A :class:`StrategyRef` for a name, a reference or a ref."""
    return strategy if isinstance(strategy, StrategyRef) else get_strategy(strategy)


def strategy_rule(
    strategy: str, params: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], Rule | None]:
    """Resolved parameters (defaults filled, validated) and the rule of a fast ``strategy``
    (None for a fast strategy that defines ``signal`` instead of ``rule``)."""
    ref = resolve_strategy(strategy)
    resolved = ref.resolve(params)
    return resolved, ref.rule(resolved)


def rule_for(strategy: str, resolved: Mapping[str, Any]) -> Rule | None:
    """The rule of already-resolved parameters (no validation: for sweeps)."""
    return resolve_strategy(strategy).rule(resolved)
