"""Where a report's benchmark and VIX come from: store, source, partial, or nothing (and why)."""

from datetime import date

import pytest

from research_lab.core.backtest.market_context import (
    LOOKBACK_DAYS,
    MarketContext,
    load_market_context,
)
from research_lab.core.marketdata.sources import SyntheticSource

START, END = date(2023, 1, 3), date(2023, 6, 30)


@pytest.fixture(scope="module")
def source():
    return SyntheticSource(seed=42, symbols=["ACME"])


class FakeStore:
    """Holds some bars per symbol; records every read."""

    def __init__(self, frames):
        self.frames, self.reads = frames, []

    def read_bars(self, symbol, start=None, end=None):
        self.reads.append((symbol, start, end))
        bars = self.frames.get(symbol)
        if bars is None:
            return SyntheticSource().fetch("^GSPC", date(1990, 1, 1), date(1990, 1, 1))  # empty
        keep = (bars["session"].dt.date >= start) & (bars["session"].dt.date <= end)
        return bars.loc[keep].reset_index(drop=True)


class BrokenSource:
    name = "yfinance"

    def symbols(self):
        return ["^GSPC", "^VIX"]

    def fetch(self, symbol, start, end):
        raise RuntimeError("could not resolve host")


def test_a_store_that_covers_the_sessions_is_used(source):
    frames = {s: source.fetch(s, date(2022, 1, 3), END) for s in ("^GSPC", "^VIX")}
    store = FakeStore(frames)
    ctx = load_market_context(START, END, store=store, source=BrokenSource(), store_label="db")
    assert ctx.lineage["benchmark"]["origin"] == "db" and ctx.lineage["vix"]["origin"] == "db"
    assert [r[0] for r in store.reads] == ["^GSPC", "^VIX"]
    assert (START - store.reads[0][1]).days == LOOKBACK_DAYS
    assert ctx.benchmark_close.name == "^GSPC" and ctx.all_notes() == ()


def test_frames_already_read_replace_the_store_query(source):
    frames = {s: source.fetch(s, date(2022, 1, 3), END) for s in ("^GSPC", "^VIX")}
    ctx = load_market_context(START, END, frames=frames, store=None, source=None)
    assert ctx.lineage["vix"]["origin"] == "store"
    assert ctx.vix_close.index[-1].date() == END


def test_the_source_fills_in_what_the_store_lacks_and_is_built_only_then(source):
    frames = {"^GSPC": source.fetch("^GSPC", date(2022, 1, 3), END)}
    built = []

    def factory():
        built.append(1)
        return source

    ctx = load_market_context(START, END, frames=frames, source=factory)
    assert ctx.lineage["benchmark"]["origin"] == "store"
    assert ctx.lineage["vix"]["origin"] == "source:synthetic"
    assert built == [1]
    assert load_market_context(START, END, frames={
        s: source.fetch(s, date(2022, 1, 3), END) for s in ("^GSPC", "^VIX")
    }, source=factory).lineage and built == [1]  # covered: the source is never built


def test_partial_store_data_is_used_when_the_source_fails_and_the_notes_say_why(source):
    frames = {"^GSPC": source.fetch("^GSPC", date(2023, 3, 1), END)}  # starts after START
    ctx = load_market_context(START, END, frames=frames, source=BrokenSource())
    assert ctx.lineage["benchmark"]["origin"] == "store (partial)"
    assert "vix" not in ctx.lineage and ctx.vix_close is None
    notes = " | ".join(ctx.all_notes())
    assert "no VIX series" in notes
    assert "^GSPC covers only part of 2023-01-03..2023-06-30" in notes
    assert "could not resolve host" in notes


def test_nothing_at_all():
    ctx = load_market_context(START, END)
    assert ctx.benchmark_close is None and ctx.vix_close is None and ctx.lineage == {}
    assert any("no benchmark index data" in n for n in ctx.all_notes())
    assert MarketContext().all_notes()[:2] == ctx.all_notes()[:2]


def test_from_frames_records_lineage(source):
    gspc = source.fetch("^GSPC", START, END)
    ctx = MarketContext.from_frames(gspc, None, origin="csv:x.csv")
    assert ctx.lineage["benchmark"]["origin"] == "csv:x.csv"
    assert ctx.lineage["benchmark"]["bars"] == len(gspc)
    assert len(ctx.lineage["benchmark"]["data_version"]) == 16
