"""Several symbols feeding one backtrader strategy (``--symbols SPY AAPL --together``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def _symbol(bars: pd.DataFrame) -> str:
    return str(bars["symbol"].iloc[0]) if "symbol" in bars.columns and len(bars) else "?"


def align_feeds(bars: pd.DataFrame, feeds: Sequence[pd.DataFrame] = ()
                ) -> tuple[pd.DataFrame, list[pd.DataFrame], tuple[str, ...]]:
    """``bars`` and ``feeds`` cut to the sessions all of them share, and a note per symbol
    that lost sessions (backtrader's clock then advances once per shared session)."""
    if not feeds or not isinstance(bars, pd.DataFrame):
        return bars, list(feeds), ()
    frames = [bars, *feeds]
    shared = pd.DatetimeIndex(frames[0]["session"])
    for f in frames[1:]:
        shared = shared.intersection(pd.DatetimeIndex(f["session"]))
    if len(shared) < 2:
        raise ValueError("the feeds " + ", ".join(_symbol(f) for f in frames)
                         + f" share {len(shared)} session(s); need at least 2")
    out, notes = [], []
    for f in frames:
        keep = pd.DatetimeIndex(f["session"]).isin(shared)
        if not keep.all():
            notes.append(f"{_symbol(f)}: {int((~keep).sum())} session(s) not shared by every "
                         "feed left out")
        out.append(f.loc[keep].reset_index(drop=True))
    notes.insert(0, "feeds (datas in order): " + ", ".join(_symbol(f) for f in out))
    return out[0], out[1:], tuple(notes)
