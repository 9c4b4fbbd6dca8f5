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


class RealIndexSource:
    """Serves the real YHOO daily file as if it were the ^GSPC index (full history)."""

    name = "realfile"

    def __init__(self, bars):
        self.bars = bars

    def symbols(self):
        return ["^GSPC"]

    def fetch(self, symbol, start, end):
        s = self.bars["session"].dt.date
        return self.bars.loc[(s >= start) & (s <= end)].reset_index(drop=True)


def _as_index(bars):
    return bars.assign(symbol="^GSPC")


def test_sma_warm_up_is_read_from_before_the_window(dataset):
    from research_lab.core.backtest.report import backtest_report

    orcl = dataset("ORCL", full=True)
    window = orcl.loc[(orcl["session"] >= "2010-01-04") & (orcl["session"] <= "2010-12-31")]
    start, end = date(2010, 1, 4), date(2010, 12, 31)
    index = _as_index(dataset("YHOO", full=True))
    in_window = index.loc[index["session"] >= "2010-01-04"].reset_index(drop=True)
    # the store holds the index only from the window's start: the source has its history
    ctx = load_market_context(start, end, frames={"^GSPC": in_window},
                              source=RealIndexSource(index))
    assert ctx.lineage["benchmark"]["origin"] == "source:realfile"
    assert (ctx.benchmark_close.index < "2010-01-04").sum() >= 199
    report = backtest_report(window.reset_index(drop=True), "sma_cross", market=ctx)
    assert report.regimes.attrs["unclassified_days"] == 0

    # no earlier data anywhere: the store's bars are used and the notes say why
    bare = load_market_context(start, end, frames={"^GSPC": in_window})
    assert bare.lineage["benchmark"]["origin"] == "store (no warm-up)"
    assert any("0 of the 199 sessions before 2010-01-04" in n for n in bare.all_notes())
    report = backtest_report(window.reset_index(drop=True), "sma_cross", market=bare)
    assert report.regimes.attrs["unclassified_days"] == 199
    assert any("199 of" in n and "no earlier data" in n for n in report.notes)
