"""Static charts for reports: a PNG of the equity curve over its drawdown.

Drawn on a bare ``matplotlib.figure.Figure`` with the Agg canvas: no pyplot, so no global
figure registry to leak into, no backend to select and no display needed (a Dagster run or a
test on a server draws the same file a notebook does). matplotlib is imported inside the
function so that importing this package stays cheap.

The chart has two panels sharing the date axis:

- top: account value (log scale when it spans more than 10x, where a linear axis would flatten
  the early years), with the running peak dotted;
- bottom: drawdown in percent below the running peak, filled, the worst point marked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._quantstats import quiet
from .returns import as_date_series, drawdown_series


def _money(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def equity_drawdown_plot(
    equity: pd.Series,
    path: str | Path,
    title: str | None = None,
    *,
    dpi: int = 110,
) -> Path:
    """Write the equity + drawdown chart of ``equity`` (account value by date) to ``path`` (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

    eq = as_date_series(equity, "equity").dropna()
    if len(eq) < 2:
        raise ValueError("equity_drawdown_plot needs at least 2 equity values")
    dd = drawdown_series(eq) * 100.0
    worst = dd.idxmin()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)

    with quiet():
        fig = Figure(figsize=(10, 6.2), layout="constrained")
        FigureCanvasAgg(fig)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2.6, 1))
        top.plot(eq.index, eq.to_numpy(), color="#1f4e79", linewidth=1.2, label="equity")
        top.plot(
            eq.index,
            eq.cummax().to_numpy(),
            color="#1f4e79",
            linewidth=0.7,
            linestyle=":",
            alpha=0.7,
            label="running peak",
        )
        if eq.min() > 0 and eq.max() / eq.min() > 10:
            top.set_yscale("log")
            top.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            top.yaxis.set_minor_formatter(NullFormatter())
        top.yaxis.set_major_formatter(FuncFormatter(_money))
        top.set_ylabel("account value")
        top.grid(True, which="major", alpha=0.3)
        top.legend(loc="upper left", frameon=False)
        total = eq.iloc[-1] / eq.iloc[0] - 1.0
        top.set_title(
            f"{title or 'Equity and drawdown'}  ({eq.index[0].date()} .. {eq.index[-1].date()}, "
            f"total return {total:+.1%})",
            loc="left",
            fontsize=11,
        )

        bottom.fill_between(dd.index, dd.to_numpy(), 0.0, color="#c0392b", alpha=0.35, linewidth=0)
        bottom.plot(dd.index, dd.to_numpy(), color="#c0392b", linewidth=0.8)
        bottom.plot([worst], [dd.loc[worst]], marker="v", color="#7b241c")
        bottom.text(
            0.995,
            0.06,
            f"max drawdown {dd.loc[worst]:.1f}% on {worst.date()}",
            transform=bottom.transAxes,
            ha="right",
            fontsize=9,
            color="#7b241c",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 2},
        )
        bottom.set_ylim(min(dd.min() * 1.15, -1.0), 0.5)
        bottom.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        bottom.set_ylabel("drawdown")
        bottom.grid(True, alpha=0.3)
        bottom.margins(x=0)
        fig.savefig(out, format="png", dpi=dpi)
    return out
