"""The market-data store, run against both backends (``store_url``: SQLite file and PostgreSQL).

What is checked: exact round trips, partition replacement (idempotent, exact, neighbours kept,
ranges, zero-row partitions), atomicity (a failure part-way keeps the old rows; bad input writes
nothing), real separate processes writing and creating the schema at once, and that reading a
whole history is one SQL statement.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import traceback
from collections.abc import Callable, Sequence
from contextlib import closing
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from research_lab.core.marketdata.schema import (
    BarValidationError,
    data_version,
    empty_bars,
    validate_bars,
)
from research_lab.core.marketdata.store import (
    BarStore,
    PartitionConflictError,
    WriteSummary,
    open_store,
)
from research_lab.core.marketdata.store import _partitions
from research_lab.core.marketdata.store._backend import parse_store_url
from research_lab.core.marketdata.store._bars import session_versions

SESSIONS: list[date] = [d.date() for d in pd.bdate_range("2024-01-02", periods=30)]


def make_bars(
    symbol: str, sessions: Sequence[date], *, base: float = 100.0, per_session: int = 1
) -> pd.DataFrame:
    """Validated bars; the last bar of each session closes at 21:00 UTC, earlier ones hourly."""
    rows = []
    for i, day in enumerate(sessions):
        for k in range(per_session):
            close = base + i * 0.37 + k * 0.01 + 0.1 + 0.2  # floats that do not print short
            rows.append(
                {
                    "symbol": symbol,
                    "session": pd.Timestamp(day),
                    "timestamp": pd.Timestamp(day, tz="UTC")
                    + pd.Timedelta(hours=21 - (per_session - 1 - k)),
                    "open": close * 1.001,
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "adj_close": close / 3,
                    "volume": 1e6 + i * 0.5 + k,
                }
            )
    return validate_bars(pd.DataFrame(rows)) if rows else empty_bars()


def combine(*frames: pd.DataFrame) -> pd.DataFrame:
    """Bar frames joined into one validated frame."""
    return validate_bars(pd.concat(frames).sort_values(["symbol", "timestamp"]))


def snapshot(store: BarStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything in the store: all bars and the ledger without its clock."""
    bars = store.read_many(store.symbols()) if store.symbols() else empty_bars()
    return bars, store.partitions().drop(columns="written_at")


@pytest.fixture
def store(store_url: str):
    with open_store(store_url) as s:
        yield s


# -- round trip ---------------------------------------------------------------------------


def test_round_trip_is_exact(store: BarStore) -> None:
    bars = make_bars("AAA", SESSIONS[:3])
    bars.loc[1, "timestamp"] += pd.Timedelta(nanoseconds=123_456_789)  # ns survive
    tiny = [1e-7, 3e-7, 1e-7, 2.0000000000000004e-7, 1 / 3 * 1e-7]
    bars.loc[2, ["open", "high", "low", "close", "adj_close"]] = tiny
    bars.loc[2, "volume"] = 1.5e15 + 0.25
    bars = validate_bars(bars)

    summary = store.write_partitions("aaa", SESSIONS[:3], bars, source="test")
    got = store.read_bars("AAA")

    pd.testing.assert_frame_equal(got, bars, check_exact=True)
    assert list(got.dtypes) == list(empty_bars().dtypes)
    assert data_version(got) == data_version(bars) == summary.data_version
    assert summary == WriteSummary(
        symbol="AAA",
        sessions=tuple(SESSIONS[:3]),
        rows=3,
        data_version=data_version(bars),
        first_timestamp=bars["timestamp"].iloc[0],
        last_timestamp=bars["timestamp"].iloc[-1],
    )


def test_empty_store_reads_are_schema_exact(store: BarStore) -> None:
    got = store.read_bars("NOPE")
    pd.testing.assert_frame_equal(got, empty_bars())
    assert store.read_many([]).empty and store.symbols() == []
    assert store.last_session("NOPE") is None and store.sessions("NOPE") == []
    ledger = store.partitions()
    columns = ["symbol", "session", "rows", "data_version", "source", "written_at"]
    assert ledger.empty and list(ledger.columns) == columns


def test_read_filters_sessions_inclusively_and_reads_many_sorted(store: BarStore) -> None:
    store.write_partitions("BBB", SESSIONS[:10], make_bars("BBB", SESSIONS[:10]), source="t")
    aaa = make_bars("AAA", SESSIONS[:10], base=7)
    store.write_partitions("AAA", SESSIONS[:10], aaa, source="t")

    window = store.read_bars("BBB", start=SESSIONS[2], end=SESSIONS[4])
    assert [d.date() for d in window["session"]] == SESSIONS[2:5]
    assert len(store.read_bars("BBB", start=SESSIONS[8])) == 2
    assert len(store.read_bars("BBB", end=SESSIONS[0])) == 1
    both = store.read_many(["bbb", "AAA"], start=SESSIONS[5])
    assert list(both["symbol"]) == ["AAA"] * 5 + ["BBB"] * 5
    pd.testing.assert_frame_equal(validate_bars(both), both)  # sorted like the schema says
    with pytest.raises(ValueError, match="after end"):
        store.read_bars("BBB", start=SESSIONS[5], end=SESSIONS[1])


# -- partition replacement ----------------------------------------------------------------


def test_rewrite_is_idempotent(store: BarStore) -> None:
    bars = make_bars("AAA", SESSIONS[:5])
    store.write_partitions("AAA", SESSIONS[:5], bars, source="test")
    first = snapshot(store)
    store.write_partitions("AAA", SESSIONS[:5], bars, source="test")
    second = snapshot(store)
    pd.testing.assert_frame_equal(first[0], second[0], check_exact=True)
    pd.testing.assert_frame_equal(first[1], second[1])
    assert len(second[0]) == 5


def test_rewriting_one_partition_replaces_exactly_its_rows(store: BarStore) -> None:
    old = make_bars("AAA", SESSIONS[:5])
    other = make_bars("ZZZ", SESSIONS[:5], base=50)
    store.write_partitions("AAA", SESSIONS[:5], old, source="first")
    store.write_partitions("ZZZ", SESSIONS[:5], other, source="first")

    new = make_bars("AAA", [SESSIONS[2]], base=200, per_session=3)  # 3 bars instead of 1
    store.write_partitions("AAA", [SESSIONS[2]], new, source="second")

    got = store.read_bars("AAA")
    expected = combine(old[old["session"] != pd.Timestamp(SESSIONS[2])], new)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    pd.testing.assert_frame_equal(store.read_bars("ZZZ"), other, check_exact=True)
    ledger = store.partitions("AAA").set_index("session")
    assert ledger.loc[pd.Timestamp(SESSIONS[2]), "rows"] == 3
    assert ledger.loc[pd.Timestamp(SESSIONS[2]), "data_version"] == data_version(new)
    assert ledger.loc[pd.Timestamp(SESSIONS[2]), "source"] == "second"
    assert (ledger.drop(pd.Timestamp(SESSIONS[2]))["source"] == "first").all()


def test_range_write_replaces_the_range_and_versions_each_session(store: BarStore) -> None:
    store.write_partitions("AAA", SESSIONS, make_bars("AAA", SESSIONS), source="backfill")
    # a second backfill of sessions 5..14 that only has bars for 5..9: 10..14 become empty
    new = make_bars("AAA", SESSIONS[5:10], base=300)
    summary = store.write_partitions("AAA", SESSIONS[5:15], new, source="backfill2")

    assert summary.rows == 5 and summary.sessions == tuple(SESSIONS[5:15])
    got = store.read_bars("AAA")
    kept = make_bars("AAA", SESSIONS)
    kept = kept[~kept["session"].isin(pd.to_datetime(SESSIONS[5:15]))]
    pd.testing.assert_frame_equal(got, combine(kept, new), check_exact=True)
    assert store.sessions("AAA") == SESSIONS  # every session still materialized
    ledger = store.partitions("AAA").set_index("session")
    for day in SESSIONS:
        on_day = got[got["session"] == pd.Timestamp(day)]
        assert ledger.loc[pd.Timestamp(day), "rows"] == len(on_day)
        assert ledger.loc[pd.Timestamp(day), "data_version"] == data_version(on_day)


def test_zero_row_partition_is_recorded(store: BarStore) -> None:
    holiday = date(2024, 7, 4)
    summary = store.write_partitions("AAA", [holiday], empty_bars(), source="calendar")
    assert (summary.rows, summary.first_timestamp, summary.data_version) == (0, None, "empty")
    assert store.sessions("AAA") == [holiday] and store.last_session("aaa") == holiday
    assert store.symbols() == ["AAA"]
    row = store.partitions("AAA").iloc[0]
    assert (row["rows"], row["data_version"], row["source"]) == (0, "empty", "calendar")
    assert row["written_at"].tzinfo is not None
    pd.testing.assert_frame_equal(store.read_bars("AAA"), empty_bars())

    # an empty write over a partition with bars empties it but keeps it materialized
    store.write_partitions("AAA", SESSIONS[:2], make_bars("AAA", SESSIONS[:2]), source="t")
    store.write_partitions("AAA", [SESSIONS[0]], empty_bars(), source="t")
    assert list(store.read_bars("AAA")["session"].dt.date) == [SESSIONS[1]]
    assert store.sessions("AAA") == [SESSIONS[0], SESSIONS[1], holiday]


def test_session_versions_equal_schema_data_version_per_session() -> None:
    bars = make_bars("AAA", SESSIONS[:6], per_session=3)
    versions = session_versions(bars)
    assert versions == {
        day: data_version(bars[bars["session"] == pd.Timestamp(day)]) for day in SESSIONS[:6]
    }


# -- atomicity ----------------------------------------------------------------------------


def test_crash_mid_insert_keeps_the_old_rows(store: BarStore, monkeypatch) -> None:
    store.write_partitions("AAA", SESSIONS[:6], make_bars("AAA", SESSIONS[:6]), source="old")
    before = snapshot(store)
    real_insert = _partitions.bulk_insert

    def insert_half_then_crash(conn, table, frame):
        real_insert(conn, table, frame.iloc[: len(frame) // 2])
        raise RuntimeError("simulated crash after a partial insert")

    monkeypatch.setattr(_partitions, "bulk_insert", insert_half_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        new = make_bars("AAA", SESSIONS[:6], base=9)
        store.write_partitions("AAA", SESSIONS[:6], new, source="new")
    monkeypatch.undo()

    after = snapshot(store)
    pd.testing.assert_frame_equal(before[0], after[0], check_exact=True)
    pd.testing.assert_frame_equal(before[1], after[1])


def test_constraint_violation_after_some_inserts_rolls_back(store: BarStore) -> None:
    d1, d2, d3 = SESSIONS[:3]
    store.write_partitions("AAA", [d1, d2, d3], make_bars("AAA", [d1, d2, d3]), source="old")
    before = snapshot(store)
    new = make_bars("AAA", [d1, d2, d3], base=500)
    new.loc[1, "session"] = pd.Timestamp(d3)  # d2's timestamp claimed by session d3: collides
    clash = r"AAA.*bar at 2024-01-03 21:00.*session 2024-01-04.*stored bar of session 2024-01-03"
    with pytest.raises(PartitionConflictError, match=clash):
        store.write_partitions("AAA", [d1, d3], new, source="new")
    after = snapshot(store)
    pd.testing.assert_frame_equal(before[0], after[0], check_exact=True)
    pd.testing.assert_frame_equal(before[1], after[1])


BAD_INPUTS: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], str]] = [
    ("wrong symbol", lambda b: b.assign(symbol=["AAA", "BBB", "AAA"]), r"row 1.*'symbol'.*BBB"),
    ("session not written", lambda b: b, r"row 2.*'session'.*2024-01-04"),
    ("invalid bars", lambda b: b.assign(high=[1.0, 0.5, 1.0]), r"src:AAA.*'high'"),
    ("missing column", lambda b: b.drop(columns="volume"), r"missing column.*volume"),
]


def test_bad_input_raises_and_writes_nothing(store: BarStore) -> None:
    store.write_partitions("AAA", SESSIONS[:3], make_bars("AAA", SESSIONS[:3]), source="old")
    before = snapshot(store)
    for name, spoil, message in BAD_INPUTS:
        bad = spoil(make_bars("AAA", SESSIONS[:3], base=42))
        with pytest.raises(ValueError, match=message):
            store.write_partitions("AAA", SESSIONS[:2], bad, source="src")
        after = snapshot(store)
        pd.testing.assert_frame_equal(before[0], after[0], check_exact=True, obj=name)
        pd.testing.assert_frame_equal(before[1], after[1], obj=name)
    with pytest.raises(BarValidationError, match="session"):
        store.write_partitions("AAA", [], make_bars("AAA", SESSIONS[:1]), source="src")
    with pytest.raises(ValueError, match="time of day"):
        store.write_partitions("AAA", [pd.Timestamp("2024-01-02 10:00")], empty_bars(), source="s")
    with pytest.raises(ValueError, match="source"):
        store.write_partitions("AAA", SESSIONS[:1], make_bars("AAA", SESSIONS[:1]), source="")


def test_delete_symbol_removes_only_that_symbol(store: BarStore) -> None:
    store.write_partitions("AAA", SESSIONS[:4], make_bars("AAA", SESSIONS[:4]), source="t")
    store.write_partitions("BBB", SESSIONS[:4], make_bars("BBB", SESSIONS[:4]), source="t")
    assert store.delete_symbol("aaa") == 4
    assert store.symbols() == ["BBB"] and store.read_bars("AAA").empty
    assert len(store.read_bars("BBB")) == 4 and store.partitions("AAA").empty


# -- queries ------------------------------------------------------------------------------


def test_reading_a_full_history_is_one_statement(store: BarStore) -> None:
    store.write_partitions("AAA", SESSIONS, make_bars("AAA", SESSIONS), source="t")
    store.write_partitions("BBB", SESSIONS, make_bars("BBB", SESSIONS), source="t")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        for read in (
            lambda: store.read_bars("AAA"),
            lambda: store.read_bars("AAA", SESSIONS[3], SESSIONS[9]),
            lambda: store.read_many(["AAA", "BBB"]),
        ):
            statements.clear()
            assert len(read()) > 0
            assert len(statements) == 1, statements
            assert statements[0].lstrip().upper().startswith("SELECT")
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


# -- several processes --------------------------------------------------------------------


def _run_in_processes(target: Callable, args_per_process: list[tuple]) -> None:
    """Start one process per args tuple (released together by a barrier); fail on any error."""
    ctx = mp.get_context("fork")  # inherits the imports: a process starts in ms, not seconds
    barrier = ctx.Barrier(len(args_per_process))
    errors = ctx.Queue()
    procs = [
        ctx.Process(target=_guarded, args=(target, barrier, errors, *args))
        for args in args_per_process
    ]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(timeout=120)
    finally:
        for p in procs:
            if p.is_alive():  # hung: stop it so the test fails instead of hanging
                p.kill()
                p.join()
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def _guarded(target: Callable, barrier, errors, *args) -> None:
    try:
        barrier.wait(timeout=60)
        target(*args)
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        errors.put(traceback.format_exc())
        raise


def _write_partitions_one_by_one(url: str, symbol: str, sessions: list[date]) -> None:
    with open_store(url) as store:
        for day in sessions:
            store.write_partitions(symbol, [day], make_bars(symbol, [day]), source="worker")


def test_concurrent_writers_of_different_partitions_lose_nothing(store_url: str) -> None:
    # 4 processes on an empty database (they also race to create the schema); two share a
    # symbol and interleave their sessions, so their deletes and inserts touch neighbours
    plan = [
        ("AAA", SESSIONS[0:12:2]),
        ("AAA", SESSIONS[1:12:2]),
        ("BBB", SESSIONS[0:6]),
        ("CCC", SESSIONS[0:6]),
    ]
    _run_in_processes(_write_partitions_one_by_one, [(store_url, s, d) for s, d in plan])
    with open_store(store_url) as store:
        assert store.symbols() == ["AAA", "BBB", "CCC"]
        for symbol, n in (("AAA", 12), ("BBB", 6), ("CCC", 6)):
            expected = combine(*(make_bars(symbol, [d]) for d in SESSIONS[:n]))
            pd.testing.assert_frame_equal(store.read_bars(symbol), expected, check_exact=True)
            assert store.sessions(symbol) == SESSIONS[:n]


def _open_and_list(url: str) -> None:
    with open_store(url) as store:
        store.symbols()


@pytest.mark.postgres
def test_schema_creation_by_several_processes_on_an_empty_postgres(pg_url: str) -> None:
    _run_in_processes(_open_and_list, [(pg_url,)] * 4)
    engine = sa.create_engine(pg_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"market_bars", "market_partitions"} <= tables


# -- URLs and backends --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, driver",
    [
        ("sqlite:///x/market.db", "sqlite"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("postgres://u@h/db", "postgresql+psycopg2"),
    ],
)
def test_store_urls_are_normalized(url: str, driver: str) -> None:
    assert parse_store_url(url).drivername == driver


def test_unsupported_url_is_refused_without_leaking_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported store URL scheme 'mysql'") as err:
        open_store("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(err.value) and "***" in str(err.value)


@pytest.mark.postgres
def test_password_is_masked(pg_url: str) -> None:
    with_password = pg_url.replace("://postgres@", "://postgres:hunter2@")  # trust auth
    with open_store(with_password) as store:
        assert "hunter2" not in store.url and "hunter2" not in repr(store)
        assert "***" in store.url and store.backend == "postgresql"


def test_sqlite_file_gets_folders_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "market.db"
    with open_store(f"sqlite:///{path}") as store:
        store.write_partitions("AAA", SESSIONS[:1], make_bars("AAA", SESSIONS[:1]), source="t")
        assert store.backend == "sqlite"
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(RuntimeError, match="closed"):
        store.read_bars("AAA")
