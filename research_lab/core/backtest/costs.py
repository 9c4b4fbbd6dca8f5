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

Slippage and spread (backtrader's ``set_slippage_perc`` / ``set_slippage_fixed`` with their
defaults: slip at the open, capped at the bar's high for buys and low for sells)
    * ``slippage_perc``: a buy fills at ``open * (1 + slippage_perc)``, a sell at
      ``open * (1 - slippage_perc)``;
    * ``slippage_fixed``: a buy fills at ``open + slippage_fixed``, a sell at
      ``open - slippage_fixed`` (price units);
    * ``spread``: the quoted bid-ask spread as a fraction of the price; every fill pays half
      of it, i.e. it adds ``spread / 2`` to ``slippage_perc``.
    Percentage and fixed slippage exclude each other (backtrader would silently prefer the
    percentage); so do ``spread`` and ``slippage_fixed``.

Margin, liquidation, bankruptcy (backtrader has no margin call: the rule is research_lab's,
implemented identically in both engines and checked at every close, before the signal)
    * a stock-like short can only be opened when the account value is at least
      ``initial_margin`` x the short's value (``units * close``); otherwise the order only
      closes what is held (the refused entries are counted);
    * **margin call**: while a position is open and the account value falls below
      ``maintenance_margin`` x ``|position| * close`` (stock-like) or x ``|position| *
      margin`` (futures-like), the whole position is closed at the next open by a forced
      order (not checked against cash: backtrader's ``submit(check=False)``);
      ``maintenance_margin=0`` turns margin calls off;
    * **bankruptcy**: when the account value reaches 0 or below at a close, the position is
      closed at the next open and the account stops trading for the rest of the run. Its
      per-bar return is -1 on that bar and 0 afterwards, so no metric divides by a
      non-positive equity.

Run conditions (not the broker's, but set in the same one place and recorded with it)
    * ``price_basis``: ``"raw"`` (default: the prices as traded, what backtrader's own tests
      use) or ``"adjusted"`` (total-return prices: every price of a bar scaled by
      ``adj_close / close``, for signals and fills alike), see :mod:`.prices`;
    * ``gaps``: what to do with sessions of the exchange calendar missing inside the bars'
      span: ``"refuse"`` (default: the run stops with the missing sessions named), ``"fill"``
      (a flat bar at the previous close, nothing traded on it), ``"ignore"`` (bridge the hole,
      as before; still reported), see :mod:`.gaps`;
    * ``risk_free_rate``: annual, any sign (default 0), used by every metric path (the report's
      Sharpe, Sortino, Omega, PSR and :mod:`research_lab.core.metrics.fast`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .params import ParameterError

SIZINGS = ("fixed", "percent")
PRICE_BASES = ("raw", "adjusted")  # the same tuple as .prices.PRICE_BASES (tested)
GAP_POLICIES = ("refuse", "fill", "ignore")
FRACTIONS = ("slippage_perc", "spread", "initial_margin", "maintenance_margin")


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
    slippage_perc: float = 0.0
    slippage_fixed: float = 0.0
    spread: float = 0.0
    initial_margin: float = 0.5
    maintenance_margin: float = 0.25
    price_basis: str = "raw"
    gaps: str = "refuse"
    risk_free_rate: float = 0.0

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ParameterError(f"broker settings: {what}")

        for name in ("cash", "stake", "percent", "commission", "mult", "slippage_fixed",
                     "risk_free_rate", *FRACTIONS):
            value = getattr(self, name)
            need(
                isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value),
                f"{name}={value!r} must be a finite number",
            )
        need(self.sizing in SIZINGS, f"sizing={self.sizing!r} is not one of {list(SIZINGS)}")
        need(self.price_basis in PRICE_BASES,
             f"price_basis={self.price_basis!r} is not one of {list(PRICE_BASES)}")
        need(self.gaps in GAP_POLICIES, f"gaps={self.gaps!r} is not one of {list(GAP_POLICIES)}")
        need(self.risk_free_rate > -1, f"risk_free_rate={self.risk_free_rate!r} must be > -1")
        need(self.cash > 0, f"cash={self.cash!r} must be > 0")
        need(self.stake > 0, f"stake={self.stake!r} must be > 0")
        need(0 < self.percent <= 100, f"percent={self.percent!r} must be in (0, 100]")
        need(self.commission >= 0, f"commission={self.commission!r} must be >= 0")
        need(self.mult > 0, f"mult={self.mult!r} must be > 0")
        for name in FRACTIONS:
            value = getattr(self, name)
            top = 1 if name.endswith("margin") else 0.5
            need(0 <= value <= top, f"{name}={value!r} must be a fraction in [0, {top}]")
        need(self.slippage_fixed >= 0, f"slippage_fixed={self.slippage_fixed!r} must be >= 0")
        need(
            not (self.slippage_fixed and (self.slippage_perc or self.spread)),
            "slippage_fixed excludes slippage_perc and spread (give one kind of slippage)",
        )
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
            self.slip_perc,
            float(self.slippage_fixed),
            float(self.initial_margin),
            float(self.maintenance_margin),
        )

    @property
    def slip_perc(self) -> float:
        """The percentage slippage the engines apply: ``slippage_perc + spread / 2``."""
        return float(self.slippage_perc) + float(self.spread) / 2.0

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
