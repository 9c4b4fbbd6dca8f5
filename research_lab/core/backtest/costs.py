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

One broker for the whole lab
    :class:`BrokerConfig`'s defaults are the lab's broker (95 % of equity per entry, 0.1 %
    commission, long only), and :func:`load_broker` overlays the ``broker:`` section of
    ``config/research_lab.yaml`` (``RESEARCH_LAB_CONFIG`` for another file). Backtests,
    studies (every trial and the study's baselines) and RL (the environment, the playback and
    its baselines) all take their broker from :func:`load_broker`, so a comparison between
    them is never a comparison between brokers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .params import ParameterError

SIZINGS = ("fixed", "percent")


@dataclass(frozen=True)
class BrokerConfig:
    """Starting cash, position sizing, commission scheme and whether shorts are allowed."""

    cash: float = 10_000.0
    sizing: str = "percent"
    stake: float = 1.0
    percent: float = 95.0
    commission: float = 0.001
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


FIELDS = tuple(BrokerConfig.__dataclass_fields__)


def load_broker(path: str | Path | None = None, **overrides: Any) -> BrokerConfig:
    """The lab's one broker: :class:`BrokerConfig`'s defaults, overlaid by the ``broker:``
    section of the configuration file (``path``, else the settings' file, which honours
    ``RESEARCH_LAB_CONFIG``), then by ``overrides`` whose value is not None (a CLI flag, a
    launch-pad field). Raises :class:`ParameterError` naming the file and the field."""
    from research_lab.core.yamlfile import read_mapping

    if path is None:
        from research_lab.core.settings import load_settings

        path = load_settings().config_path
    section: Any = {}
    where = "broker settings"
    if path is not None:
        where = f"{path}: broker"
        section = read_mapping(path, error=ParameterError).get("broker") or {}
        if not isinstance(section, dict):
            raise ParameterError(f"{where}: must be a mapping of {', '.join(FIELDS)}")
    given = {**section, **{k: v for k, v in overrides.items() if v is not None}}
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise ParameterError(f"{where}: unknown field(s) {', '.join(unknown)}; valid: "
                             f"{', '.join(FIELDS)}")
    try:
        return BrokerConfig(**given)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {str(exc).removeprefix('broker settings: ')}") from None
