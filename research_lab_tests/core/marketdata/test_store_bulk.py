"""The store's bulk path on both backends: deletes by range that match exactly the requested
sessions, no delete on a first write, binary COPY that stores what the CSV path stored, one
transaction for many symbols that a failure rolls back whole, and the vectorized per-session
results of ``ingest_partitions``."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from research_lab.core.marketdata.calendar import TradingCalendar
from research_lab.core.marketdata.ingest import ingest_partitions
from research_lab.core.marketdata.schema import data_version, empty_bars, validate_bars
from research_lab.core.marketdata.sources import make_source
from research_lab.core.marketdata.store import BarStore, market_bars, market_partitions
from research_lab.core.marketdata.store import _partitions, write_transaction
from research_lab.core.marketdata.store._backend import insert_tuples
from research_lab.core.marketdata.store._bars import session_versions

DAYS: list[date] = [d.date() for d in pd.bdate_range("2024-01-02", periods=40)]


def bars(symbol: str, days, base: float = 100.0, per_session: int = 1) -> pd.DataFrame:
    rows = []
    for i, day in enumerate(days):
        for k in range(per_session):
            close = base + i * 0.37 + k * 0.01 + 0.1 + 0.2  # floats that do not print short
            rows.append({
                "symbol": symbol, "session": pd.Timestamp(day),
                "timestamp": pd.Timestamp(day, tz="UTC")
                + pd.Timedelta(hours=21 - per_session + 1 + k),
                "open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                "adj_close": close / 3, "volume": 1e6 + i,
            })
    return validate_bars(pd.DataFrame(rows)) if rows else empty_bars()


@pytest.fixture
def store(store_url: str):
    st = BarStore.from_url(store_url)
    yield st
    st.close()


def _closes(store: BarStore, symbol: str) -> dict[date, float]:
    got = store.read_bars(symbol)
    return dict(zip(got["session"].dt.date, got["close"]))


def _ledger(store: BarStore, symbol: str) -> dict[date, str]:
    led = store.partitions(symbol)
    return dict(zip(pd.to_datetime(led["session"]).dt.date, led["source"]))


@pytest.mark.parametrize("pieces", [20, 1])  # ranges between kept sessions / listed sessions
def test_range_delete_replaces_exactly_the_requested_sessions(store, monkeypatch, pieces):
    monkeypatch.setattr(_partitions, "MAX_PIECES", pieces)
    store.write_partitions("AAA", DAYS[:12], bars("AAA", DAYS[:12]), source="old")
    store.write_partitions("BBB", DAYS[:12], bars("BBB", DAYS[:12]), source="old")
    # requested: 2, 3, 5, 6, 9 (4, 7, 8 are stored between them and must stay)
    wanted = [DAYS[i] for i in (2, 3, 5, 6, 9)]
    store.write_partitions("AAA", wanted, bars("AAA", wanted[:2], base=500), source="new")

    closes, ledger = _closes(store, "AAA"), _ledger(store, "AAA")
    old = dict(zip(bars("AAA", DAYS[:12])["session"].dt.date, bars("AAA", DAYS[:12])["close"]))
    for i, day in enumerate(DAYS[:12]):  # noqa: B007
        if day in wanted[:2]:
            assert closes[day] >= 500 and ledger[day] == "new"
        elif day in wanted:  # requested without bars: emptied, recorded with 0 rows
            assert day not in closes and ledger[day] == "new"
        else:
            assert closes[day] == old[day] and ledger[day] == "old", f"neighbour {i} touched"
    led = store.partitions("AAA")
    assert led.loc[pd.to_datetime(led["session"]).dt.date == wanted[2], "rows"].tolist() == [0]
    other = bars("BBB", DAYS[:12])
    assert _closes(store, "BBB") == dict(zip(other["session"].dt.date, other["close"]))
    assert set(_ledger(store, "BBB").values()) == {"old"}


def test_many_symbols_with_the_same_sessions_replace_exactly_theirs(store):
    for s in ("AAA", "BBB", "CCC"):
        store.write_partitions(s, DAYS[:10], bars(s, DAYS[:10]), source="old")
    items = [(s, DAYS[3:6], bars(s, DAYS[3:6], base=700), ()) for s in ("AAA", "BBB")]
    store.write_many(items, source="new")
    for s in ("AAA", "BBB"):
        ledger = _ledger(store, s)
        assert [d for d in DAYS[:10] if ledger[d] == "new"] == DAYS[3:6]
        assert all(c >= 700 for d, c in _closes(store, s).items() if d in DAYS[3:6])
        assert all(c < 700 for d, c in _closes(store, s).items() if d not in DAYS[3:6])
    assert set(_ledger(store, "CCC").values()) == {"old"}


def _deletes(store, action) -> list[str]:
    """The DELETE statements of the bars and the ledger that ``action`` ran."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        text = statement.lstrip().upper()
        if text.startswith(("DELETE FROM MARKET_BARS", "DELETE FROM MARKET_PARTITIONS")):
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", listen)
    try:
        action()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", listen)
    return seen


def test_a_first_write_deletes_nothing_and_a_rewrite_deletes_by_range(store):
    write = lambda: store.write_partitions("AAA", DAYS, bars("AAA", DAYS), source="s")  # noqa: E731
    assert _deletes(store, write) == []
    again = _deletes(store, write)
    assert again and all("BETWEEN" in s.upper() for s in again)
    assert all(" IN (" not in s.upper().replace("SYMBOL IN", "") for s in again)
    assert len(store.read_bars("AAA")) == len(DAYS)


def test_a_failure_after_the_bars_of_many_symbols_keeps_every_old_row(store, monkeypatch):
    for s in ("AAA", "BBB"):
        store.write_partitions(s, DAYS[:5], bars(s, DAYS[:5]), source="old")
    before = (store.read_many(["AAA", "BBB"]), store.partitions().drop(columns="written_at"))
    real = _partitions.bulk_insert

    def crash_at_the_ledger(conn, table, frame):
        if table is market_partitions:
            raise RuntimeError("simulated crash after the bars")
        real(conn, table, frame)

    monkeypatch.setattr(_partitions, "bulk_insert", crash_at_the_ledger)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.write_many([(s, DAYS[:8], bars(s, DAYS[:8], base=9), ()) for s in ("AAA", "BBB")],
                         source="new")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(before[0], store.read_many(["AAA", "BBB"]), check_exact=True)
    pd.testing.assert_frame_equal(before[1], store.partitions().drop(columns="written_at"))


@pytest.mark.postgres
def test_binary_copy_stores_what_the_csv_copy_stored(pg_url):
    frame = bars("ÅB", DAYS[:6])  # a non-ASCII symbol: text is UTF-8
    frame.loc[0, ["open", "close", "low"]] = [5e-324, 5e-324, 5e-324]  # the smallest subnormal
    frame.loc[1, "volume"] = 0.1 + 0.2
    frame.loc[2, "high"] = 1e9
    ledger = _partitions._ledger_rows(
        "market_bars", [("ÅB", DAYS[:8], frame, session_versions(frame))], "sourcé",
        pd.Timestamp("2024-05-01 12:34:56.789123", tz="UTC").to_pydatetime())
    assert set(ledger["data_version"].str.len()) == {16, 5}  # two text lengths: "empty"
    with BarStore.from_url(pg_url) as store:
        got = []
        for path in ("binary", "csv"):
            with write_transaction(store.engine, lock_name="t") as conn:
                for table, rows in ((market_bars, frame), (market_partitions, ledger)):
                    if path == "binary":
                        _partitions.bulk_insert(conn, table, rows)
                    else:
                        insert_tuples(conn, table, [c.name for c in table.columns],
                                      _partitions.driver_rows(conn, table, rows))
            got.append((store.read_bars("ÅB"), store.partitions("ÅB")))
            store.delete_symbol("ÅB")
    (bars_bin, led_bin), (bars_csv, led_csv) = got
    pd.testing.assert_frame_equal(bars_bin, bars_csv, check_exact=True)
    pd.testing.assert_frame_equal(bars_bin, frame, check_exact=True)
    pd.testing.assert_frame_equal(led_bin, led_csv, check_exact=True)
    assert list(led_bin["rows"]) == [1] * 6 + [0, 0]
    assert list(led_bin["source"].unique()) == ["sourcé"]
    assert led_bin["written_at"].iloc[0] == pd.Timestamp("2024-05-01 12:34:56.789123", tz="UTC")


def test_fast_session_versions_equal_data_version_with_one_and_several_bars() -> None:
    mixed = validate_bars(pd.concat([bars("AAA", DAYS[:3]), bars("AAA", DAYS[3:6], per_session=3)]))
    versions = session_versions(mixed)
    assert len(versions) == 6
    for day, version in versions.items():
        assert version == data_version(mixed[mixed["session"].dt.date == day])


def test_typed_frames_skip_parsing_but_not_checks() -> None:
    good = bars("AAA", DAYS[:4])
    as_text = good.astype({"session": str, "timestamp": str})
    pd.testing.assert_frame_equal(validate_bars(good), validate_bars(as_text), check_exact=True)
    with pytest.raises(ValueError, match=r"row 2.*'high'"):
        validate_bars(good.assign(high=[200.0, 200.0, 1.0, 200.0]))
    with pytest.raises(ValueError, match=r"not sorted|duplicate"):
        validate_bars(good.iloc[[1, 0, 2, 3]])


def test_per_session_results_of_a_range(tmp_path):
    """Each session's own rows, timestamps, close and version; holidays and missing days."""
    cal = TradingCalendar()
    src = make_source("synthetic", symbols=("ACME",))
    days = [d.date() for d in pd.bdate_range("2024-12-20", "2025-01-03")]  # Christmas, New Year
    with BarStore.from_url(f"sqlite:///{tmp_path / 'm.db'}") as store:
        report = ingest_partitions(src, store, cal, {"ACME": days})
        stored = store.read_bars("ACME")
    per = report.summaries[0].per_session
    assert [p.session for p in per] == days
    holidays = {date(2024, 12, 25), date(2025, 1, 1)}
    assert {p.session for p in per if p.holiday} == holidays
    for p in per:
        mine = stored[stored["session"].dt.date == p.session]
        assert p.rows == len(mine)
        if p.rows:
            assert p.first_timestamp == mine["timestamp"].iloc[0]
            assert p.last_timestamp == mine["timestamp"].iloc[-1]
            assert p.last_close == mine["close"].iloc[-1]
            assert p.data_version == data_version(mine)
        else:
            assert p.session in holidays and p.data_version == "empty" and not p.missing
    table = per.frame()
    assert list(table["rows"]) == [p.rows for p in per]
    assert report.summaries[0].holidays == tuple(sorted(holidays))
    assert np.isnan(table.loc[table["holiday"], "last_close"]).all()
