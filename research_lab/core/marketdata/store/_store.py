"""`BarStore`: write bar partitions, read histories, list what is materialized."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..schema import data_version, validate_bars
from ._backend import backend_name, make_engine, mask_url, parse_store_url, write_transaction
from ._bars import (
    bars_from_columns,
    check_partition_rows,
    describe_sessions,
    normalize_sessions,
    normalize_symbol,
    session_versions,
)
from ._partitions import delete_symbol_rows, ledger_query, replace_many
from ._quarantine import delete_quarantine, replace_quarantine
from ._queries import bars_query, ledger_frame
from ._tables import ensure_schema, market_bars, utc_now

class PartitionConflictError(ValueError):
    """A new bar collides with a stored bar of the same symbol and timestamp that belongs to a
    session outside the ones being written (its session was wrong, here or there)."""


@dataclass(frozen=True)
class WriteSummary:
    """What one :meth:`BarStore.write_partitions` call wrote."""

    symbol: str
    sessions: tuple[date, ...]  # every partition written, including zero-row ones
    rows: int
    data_version: str  # schema.data_version of all the written bars ("empty" for none)
    first_timestamp: pd.Timestamp | None
    last_timestamp: pd.Timestamp | None
    # schema.data_version of each written session that has bars (the ledger's versions)
    session_versions: Mapping[date, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        span = f"{self.sessions[0]}..{self.sessions[-1]}" if self.sessions else "-"
        return (
            f"WriteSummary(symbol={self.symbol!r}, sessions={span} ({len(self.sessions)}), "
            f"rows={self.rows}, data_version={self.data_version!r}, "
            f"first_timestamp={self.first_timestamp}, last_timestamp={self.last_timestamp})"
        )


class BarStore:
    """Bars partitioned by (symbol, session) in SQLite or PostgreSQL; see the package docs.

    Open with :meth:`from_url` (or :func:`open_store`), one store per process (pooled
    connections must not cross ``fork``). Threads may share a store: every call checks a
    connection out of the pool (except the in-memory ``sqlite://`` form, one connection).
    """

    def __init__(self, engine: Engine, *, display_url: str | None = None) -> None:
        self._engine: Engine | None = engine
        self._display_url = display_url or mask_url(engine.url)
        ensure_schema(engine)

    @classmethod
    def from_url(cls, url: str) -> BarStore:
        """Open (and if needed create) the store at ``url``: ``sqlite:///path/to/market.db``
        or ``postgresql://user@host:port/db``."""
        parsed = parse_store_url(url)
        engine = make_engine(parsed)
        try:
            return cls(engine, display_url=mask_url(parsed))
        except sa.exc.OperationalError as exc:
            engine.dispose()
            exc.add_note(f"while opening the market-data store at {mask_url(parsed)}")
            raise

    # -- identity and lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The store's URL with any password masked (safe to log or show as metadata)."""
        return self._display_url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for extensions storing more (symbol, session) datasets)."""
        if self._engine is None:
            raise RuntimeError(f"market-data store {self._display_url} is closed")
        return self._engine

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return backend_name(self.engine)

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> BarStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BarStore({self._display_url!r})"

    # -- writing --------------------------------------------------------------------------

    def write_partitions(
        self,
        symbol: str,
        sessions: Sequence[date],
        bars: pd.DataFrame,
        *,
        source: str,
        rejects: Sequence = (),
    ) -> WriteSummary:
        """Replace the partitions (symbol, s) for every s in ``sessions`` with ``bars``.

        ``bars`` are validated (:func:`schema.validate_bars`, source label ``source:SYMBOL``)
        and must all have ``symbol`` and a session in ``sessions``; otherwise a
        ``BarValidationError`` (a ``ValueError``) names the row and field and nothing is written.
        Sessions without bars are recorded as materialized with 0 rows. One transaction:
        idempotent, and an error part-way leaves the previous rows in place.

        ``rejects`` (``quarantine.RejectedRow``) become the quarantine of these sessions in the
        same transaction, each dated one a critical anomaly of its session (see
        :mod:`._quarantine`); a session written without rejects leaves the quarantine.
        """
        return self.write_many([(symbol, sessions, bars, rejects)], source=source)[0]

    def write_many(self, items: Sequence[tuple], *, source: str) -> list[WriteSummary]:
        """:meth:`write_partitions` for several symbols in ONE transaction (the bulk path of a
        nightly run: one commit instead of one per symbol). ``items`` are
        ``(symbol, sessions, bars, rejects)``; every item is checked before the transaction, and
        any error writes nothing of any item."""
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be a non-empty label, got {source!r}")
        prepared = []
        for symbol, sessions, bars, rejects in items:
            sym = normalize_symbol(symbol)
            days = normalize_sessions(sessions)
            label = f"{source}:{sym}"
            frame = validate_bars(bars, source=label)
            check_partition_rows(bars, frame, sym, days, source=label)
            prepared.append((sym, days, frame, session_versions(frame), list(rejects)))
        if not prepared:
            return []
        now = utc_now()
        names = sorted({f"{market_bars.name}:{p[0]}" for p in prepared})
        try:
            with write_transaction(self.engine, lock_name=names[0], more_locks=names[1:]) as conn:
                replace_many(
                    conn, market_bars, [(sym, days, frame, versions)
                                        for sym, days, frame, versions, _ in prepared],
                    source=source, written_at=now,
                )
                for sym, days, frame, versions, rejects in prepared:
                    replace_quarantine(conn, sym, days, rejects, versions, now)
        except sa.exc.IntegrityError as exc:
            if len(prepared) > 1:
                raise PartitionConflictError(
                    f"{source}: nothing was written for {len(prepared)} symbols: a bar collides "
                    f"with a stored bar of another session; write them one by one to find it"
                ) from exc
            sym, days, frame, _, _ = prepared[0]
            raise PartitionConflictError(
                f"{source}:{sym}: nothing was written for {describe_sessions(days)}: "
                f"{self._describe_conflict(sym, days, frame)}"
            ) from exc
        return [
            WriteSummary(
                symbol=sym,
                sessions=days,
                rows=len(frame),
                data_version=data_version(frame),
                first_timestamp=frame["timestamp"].iloc[0] if len(frame) else None,
                last_timestamp=frame["timestamp"].iloc[-1] if len(frame) else None,
                session_versions=versions,
            )
            for sym, days, frame, versions, _ in prepared
        ]

    def _describe_conflict(self, symbol: str, days: Sequence[date], frame: pd.DataFrame) -> str:
        """Which new bar collides with a stored bar of a session outside ``days`` (error path)."""
        t = market_bars
        stamps = pd.DatetimeIndex(frame["timestamp"])
        query = sa.select(t.c.session, t.c.timestamp).where(
            t.c.symbol == symbol, t.c.timestamp.between(stamps.min(), stamps.max())
        )
        replaced = set(days)
        with self.engine.connect() as conn:
            stored = [(s, ts) for s, ts in conn.execute(query) if s not in replaced]
        new_at = dict(zip(stamps, frame["session"].dt.date))
        for session, stamp in stored:
            if stamp in new_at:
                return (
                    f"the bar at {stamp} (session {new_at[stamp]}) has the timestamp of a stored "
                    f"bar of session {session}, which this write does not replace; fix the "
                    f"session of one of them (or rewrite both sessions together)"
                )
        return "a bar collides with a stored bar of another session (same symbol and timestamp)"

    def delete_symbol(self, symbol: str) -> int:
        """Delete every bar and partition record of ``symbol``; returns the bars deleted."""
        sym = normalize_symbol(symbol)
        with write_transaction(self.engine, lock_name=f"{market_bars.name}:{sym}") as conn:
            delete_quarantine(conn, sym)
            return delete_symbol_rows(conn, sym)

    # -- reading --------------------------------------------------------------------------

    def read_bars(
        self, symbol: str, start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """The bars of ``symbol`` with start <= session <= end (inclusive, either optional),
        schema-exact and sorted by timestamp, in one query."""
        return self.read_many([symbol], start, end)

    def read_many(
        self, symbols: Iterable[str], start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """Like :meth:`read_bars` for several symbols, sorted by (symbol, timestamp)."""
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = sorted({normalize_symbol(s) for s in symbols})
        if not wanted:
            return bars_from_columns([])
        lo = normalize_sessions([start])[0] if start is not None else None
        hi = normalize_sessions([end])[0] if end is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"start {lo} is after end {hi}")
        query = bars_query(wanted, lo, hi, backend=self.backend)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return bars_from_columns(list(zip(*rows)))

    def partitions(self, symbol: str | None = None) -> pd.DataFrame:
        """The ledger: one row per materialized partition (symbol, session, rows, data_version,
        source, written_at), sorted by symbol and session."""
        sym = None if symbol is None else normalize_symbol(symbol)
        with self.engine.connect() as conn:
            rows = conn.execute(ledger_query(market_bars, sym)).all()
        return ledger_frame(rows)

    def symbols(self) -> list[str]:
        """Symbols with at least one materialized partition, sorted."""
        lp = ledger_query(market_bars).subquery()
        with self.engine.connect() as conn:
            query = sa.select(lp.c.symbol).distinct().order_by(lp.c.symbol)
            return list(conn.execute(query).scalars())

    def sessions(self, symbol: str) -> list[date]:
        """Materialized sessions of ``symbol`` (including zero-row ones), ascending."""
        lp = ledger_query(market_bars, normalize_symbol(symbol)).subquery()
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(lp.c.session).order_by(lp.c.session)).scalars())

    def last_session(self, symbol: str) -> date | None:
        """The latest materialized session of ``symbol`` (a zero-row one counts), or None."""
        lp = ledger_query(market_bars, normalize_symbol(symbol)).subquery()
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(lp.c.session))).scalar()


def open_store(url: str) -> BarStore:
    """Same as :meth:`BarStore.from_url`."""
    return BarStore.from_url(url)
