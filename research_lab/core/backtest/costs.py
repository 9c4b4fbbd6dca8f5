"""Cash, sizing and commission: the broker settings both engines apply identically.

The semantics are backtrader's defaults (``BackBroker`` with ``CommInfoBase``), so that a run
here and a run through backtrader can be compared number for number:

Commission schemes (chosen, as in backtrader, by whether a ``margin`` is given)
    * stock-like (``margin=None``): ``commission`` is a fraction of the traded value
      (``0.001`` = 0.1%, backtrader's ``setcommission(commission=0.001)``). Buying costs
      ``size * price`` in cash; a short sale credits it (``shortcash=True``).
    * futures-like (``margin`` set): ``commission`` is money per contract, ``mult`` the
      contract multiplier, ``margin`` the cash blocked per open contract. Profit and loss is
      marked to market into cash at every close; the account value is
      ``cash + |size| * margin``.

Sizing
    * ``"fixed"``: every entry is ``stake`` units (backtrader's default sizer, stake 1).
    * ``"percent"``: ``floor(value * percent / 100 / unit_cost)`` units, with ``value`` the
      account value at the signal bar's close and ``unit_cost`` the close (stock-like) or the
      margin (futures-like). Whole units only.

Orders are market orders that fill at the next bar's open. Before filling, backtrader checks
the order against cash at the signal bar's close price and again at the fill price; an order
that would leave cash below zero is rejected (status ``Margin``) and not retried until the
strategy asks again. Commission is part of both checks, so ``percent=100`` with a commission
is rejected every time: leave room (the default is 95%).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .params import ParameterError

SIZINGS = ("fixed", "percent")


@dataclass(frozen=True)
class BrokerConfig:
    """Starting cash, position sizing, commission scheme and whether shorts are allowed."""

    cash: float = 10_000.0
    sizing: str = "fixed"
    stake: float = 1.0
    percent: float = 95.0
    commission: float = 0.0
    mult: float = 1.0
    margin: float | None = None
    allow_short: bool = False

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ParameterError(f"broker settings: {what}")

        for name in ("cash", "stake", "percent", "commission", "mult"):
            value = getattr(self, name)
            need(
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value),
                f"{name}={value!r} must be a finite number",
            )
        need(self.sizing in SIZINGS, f"sizing={self.sizing!r} is not one of {list(SIZINGS)}")
        need(self.cash > 0, f"cash={self.cash!r} must be > 0")
        need(self.stake > 0, f"stake={self.stake!r} must be > 0")
        need(0 < self.percent <= 100, f"percent={self.percent!r} must be in (0, 100]")
        need(self.commission >= 0, f"commission={self.commission!r} must be >= 0")
        need(self.mult > 0, f"mult={self.mult!r} must be > 0")
        if self.margin is not None:
            need(
                isinstance(self.margin, (int, float)) and math.isfinite(self.margin)
                and self.margin > 0,
                f"margin={self.margin!r} must be a number > 0 (or None for stock-like)",
            )
        else:
            need(self.mult == 1.0, f"mult={self.mult!r} needs a margin (futures-like scheme)")

    @property
    def stocklike(self) -> bool:
        return self.margin is None

    def kernel_args(self) -> tuple[Any, ...]:
        """The positional scalars :func:`.kernels.simulate` takes after the arrays."""
        return (
            float(self.cash),
            self.sizing == "fixed",
            float(self.stake),
            float(self.percent) / 100.0,
            self.stocklike,
            float(self.commission),
            float(self.mult),
            float(self.margin) if self.margin is not None else 1.0,
            bool(self.allow_short),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def broker_config(config: BrokerConfig | None = None, **settings: Any) -> BrokerConfig:
    """A :class:`BrokerConfig` from an existing one and/or keyword settings."""
    if config is None:
        return BrokerConfig(**settings)
    if settings:
        return BrokerConfig(**{**config.to_dict(), **settings})
    return config
