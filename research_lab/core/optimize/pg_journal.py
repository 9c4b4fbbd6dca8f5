"""Optuna's ``JournalStorage`` on PostgreSQL: ``postgresql+journal://user@host:5432/db``.

Why hand-written: Optuna ships journal backends for a file (one machine) and Redis, and its
PostgreSQL storage is ``RDBStorage``, which costs ~80 statements and ~100 ms of client CPU per
trial (each read of a running trial reloads it with its params, values and attributes). A
journal is an append-only log that every process replays in memory; stored in PostgreSQL it
keeps what a team already runs (one database, backups, network access, no Redis) at a few
round-trips per trial. Optuna's ``BaseJournalBackend`` / ``BaseJournalSnapshot`` are the whole
contract (two methods each), so the backend is small.

Tables (created once, under an advisory lock; ``?table=NAME`` picks another prefix, default
``optuna_journal``):

* ``NAME_log (seq bigint primary key, body text)``: one JSON operation per row, ``seq`` dense
  from 0 (the journal's log number);
* ``NAME_snapshot (id, upto, data bytea)``: one row, the replayed state (Optuna pickles it)
  so that a new reader starts there instead of at log 0.

How it stays correct and cheap:

* **Ordering**: an append runs ``pg_advisory_xact_lock`` then ``INSERT ... max(seq) + 1``
  in one transaction, so appends are serialized and commit in ``seq`` order: a reader never
  sees log 11 before log 10 (it would skip 10 for ever). The lock is held for one insert.
* **One round-trip per write**: lock, insert, notify and the read of every log since the last
  one this process saw are one multi-statement query; Optuna's read that follows each write
  (``_sync_with_backend``) is answered from that result.
* **No round-trip for a worker's read when nothing changed** (``quiet_reads``, the workers'
  storages only): each append ends with ``pg_notify(channel, last seq)``; each process
  LISTENs, and a read first drains the notifications already on its socket (no round-trip).
  If no other process has written past what this one holds, the read returns nothing without
  asking the server. A notification is sent at commit, after the rows are visible, and is on
  the socket a moment later: such a read may miss a log committed in the last moment (as if
  it had run a moment earlier), which a sampler, a pruner or a trial count tolerates. Every
  other reader (the runner, its monitor, the report, the CLI) reads the table each time, so
  what it reads after a worker finished includes all of that worker's trials.
* **Snapshots**: Optuna offers one every 100 trials; this backend stores it only when at
  least ``max(800, upto / 4)`` logs were appended since the stored one (a 20,000-trial study's
  state is tens of MB: storing each would write gigabytes), so a new reader replays at most
  about a fifth of the log.
* ``synchronous_commit=off`` for these sessions unless ``storage.pg_synchronous_commit``: a
  killed worker loses nothing; a crash of the server itself may lose the last ~0.6 s of logs.

Limits: heartbeats are an ``RDBStorage`` feature; on this storage a dead worker's trial is
failed by process liveness on the same host (:func:`.storage.fail_dead_local_trials`), as on
the journal file. The snapshot is a pickle: anyone who can write the database can run code in
its readers (as with Optuna's Redis backend).
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from optuna.storages.journal import BaseJournalBackend
from optuna.storages.journal._base import BaseJournalSnapshot  # not re-exported by Optuna 5

SCHEME = "postgresql+journal://"
DEFAULT_TABLE = "optuna_journal"
SNAPSHOT_MIN_LOGS = 800
_TABLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
# Optuna's JournalOperation codes of writes to one trial of this process (param, intermediate
# value, user and system attribute): buffered until the next round-trip
_BUFFERED = frozenset({5, 7, 8, 9})
# ... except the trial's worker (.storage.WORKER_ATTR): other processes read it to fail the
# trials of a dead worker, so it is in the table as soon as the trial starts
_UNBUFFERED_USER_ATTRS = frozenset({"worker"})


def _bufferable(log: dict[str, Any]) -> bool:
    if log.get("op_code") not in _BUFFERED:
        return False
    return not _UNBUFFERED_USER_ATTRS.intersection(log.get("user_attr") or ())


class PgJournalURLError(ValueError):
    """A ``postgresql+journal://`` URL that cannot be used (the message is one line)."""


def parse_url(url: str) -> tuple[str, str]:
    """(libpq URL, table prefix) of ``postgresql+journal://user@host:port/db[?table=NAME]``."""
    from research_lab.core.settings import mask_url

    if not url.startswith(SCHEME):
        raise PgJournalURLError(f"{mask_url(url)!r} is not a {SCHEME}... URL")
    parts = urlsplit("postgresql://" + url[len(SCHEME):])
    where = f"storage URL {mask_url(url)!r}"
    if not parts.hostname:
        raise PgJournalURLError(f"{where} names no host: {SCHEME}user@host:5432/db")
    db = parts.path.lstrip("/")
    if not db or "/" in db:
        raise PgJournalURLError(f"{where} names no database: {SCHEME}user@host:5432/db")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise PgJournalURLError(f"{where} has a bad port") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"table"})
    if unknown:
        raise PgJournalURLError(f"{where}: unknown parameter(s) {', '.join(unknown)}; "
                                "valid: table")
    table = query.get("table", [DEFAULT_TABLE])[-1]
    if not _TABLE_RE.match(table):
        raise PgJournalURLError(f"{where}: table must be lower-case letters, digits and _ "
                                "(at most 41), starting with a letter or _")
    return parts._replace(query="", fragment="").geturl(), table


class PgJournalBackend(BaseJournalBackend, BaseJournalSnapshot):
    """A ``BaseJournalBackend`` + ``BaseJournalSnapshot`` on PostgreSQL (see the module
    docstring). Built by :func:`journal_storage`; thread-safe (one lock per backend)."""

    def __init__(self, dsn: str, table: str = DEFAULT_TABLE,
                 synchronous_commit: bool = False, buffer_trial_writes: bool = True,
                 quiet_reads: bool = False) -> None:
        self._dsn = dsn
        self._quiet_reads = quiet_reads
        self._table = table
        self._synchronous_commit = synchronous_commit
        self._buffering = buffer_trial_writes
        self._key = 0x5F0A_0000_0000 + zlib.crc32(table.encode())  # the append lock
        self._channel = f"{table}_appended"
        self._lock = threading.RLock()
        self._conn: Any = None
        self._pid = None
        self._fetched = 0            # table position: one past the highest seq read
        self._delivered = 0          # logs handed to Optuna (= _fetched + len(_buffer))
        self._known_max = 0          # highest seq another process announced (0: read first)
        self._buffer: list[str] = []  # this process's trial writes not yet in the table
        self._ready: list[dict[str, Any]] = []  # logs to hand to Optuna at its next read
        self._snapshot_upto: int | None = None
        self.round_trips = 0         # queries sent (for the benchmark and the tests)
        self.logs_read = 0           # rows read from the table
        self._connect()
        self._create_tables()

    # -- connection ------------------------------------------------------------------------
    def _connect(self) -> None:
        import psycopg2

        options = "" if self._synchronous_commit else "-c synchronous_commit=off"
        conn = psycopg2.connect(self._dsn, options=options, connect_timeout=10,
                                application_name="research_lab optuna journal")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"LISTEN {self._channel}; SELECT pg_backend_pid()")
            self._pid = cur.fetchone()[0]
        self._conn = conn
        self._known_max = max(self._known_max, self._fetched)  # re-read once after reconnect

    def _execute(self, sql: str, params: Any = None, fetch: bool = True,
                 retry: bool = True) -> list[tuple]:
        import psycopg2

        for attempt in (0, 1):
            try:
                if self._conn is None or self._conn.closed:
                    self._connect()
                with self._conn.cursor() as cur:
                    self.round_trips += 1
                    cur.execute(sql, params)
                    rows = cur.fetchall() if fetch else []
                self._drain()
                return rows
            except (psycopg2.InterfaceError, psycopg2.OperationalError):
                # a dropped connection: reconnect once (reads only: an append that may have
                # reached the server is not sent twice)
                if attempt or not retry:
                    raise
                self._conn = None
        raise AssertionError("unreachable")

    def _drain(self) -> None:
        conn = self._conn
        if conn is not None and conn.notifies:
            for n in conn.notifies:
                if n.pid != self._pid and n.payload:
                    self._known_max = max(self._known_max, int(n.payload))
            conn.notifies.clear()

    def _create_tables(self) -> None:
        t = self._table
        self._execute(
            f"SELECT pg_advisory_xact_lock({self._key}); "
            f"CREATE TABLE IF NOT EXISTS {t}_log (seq bigint PRIMARY KEY, body text NOT NULL); "
            f"CREATE TABLE IF NOT EXISTS {t}_snapshot (id int PRIMARY KEY, upto bigint NOT NULL, "
            "data bytea NOT NULL)", fetch=False)

    def __getstate__(self) -> dict[str, Any]:
        self.flush()
        state = self.__dict__.copy()
        state.update(_conn=None, _lock=None, _fetched=0, _delivered=0, _known_max=0,
                     _buffer=[], _ready=[], _snapshot_upto=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self.flush()
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- the one round-trip: append (buffered + new logs), notify, read what is new ----------
    def _sync(self, new: list[str]) -> None:
        bodies = self._buffer + new
        t = self._table
        start = self._fetched
        if bodies:
            rows = self._execute(
                f"SELECT pg_advisory_xact_lock({self._key}); "
                f"WITH ins AS (INSERT INTO {t}_log (seq, body) "
                f"SELECT n.m + o.i - 1, o.b FROM (SELECT coalesce(max(seq) + 1, 0) AS m "
                f"FROM {t}_log) n, unnest(%s::text[]) WITH ORDINALITY AS o(b, i) "
                "RETURNING seq) "
                f"SELECT pg_notify('{self._channel}', max(seq)::text) FROM ins; "
                f"SELECT seq, body FROM {t}_log WHERE seq >= %s ORDER BY seq",
                (bodies, start), retry=False)
        else:
            rows = self._execute(f"SELECT seq, body FROM {t}_log WHERE seq >= %s ORDER BY seq",
                                 (start,))
        self.logs_read += len(rows)
        if rows and (rows[0][0] != start or rows[-1][0] != start + len(rows) - 1):
            raise RuntimeError(f"journal table {t}_log has a gap after {start}")
        # the buffered logs are the first rows this append wrote: Optuna already has them
        own = len(self._buffer)
        first_own = start + len(rows) - len(bodies)
        self._ready.extend(json.loads(body) for seq, body in rows
                           if not first_own <= seq < first_own + own)
        self._fetched = start + len(rows)
        self._buffer = []

    def flush(self) -> None:
        """Write the buffered trial writes now (a worker's last trial, a pickled storage)."""
        with self._lock:
            if self._buffer:
                self._sync([])

    # -- BaseJournalBackend ------------------------------------------------------------------
    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        bodies = [json.dumps(log, separators=(",", ":")) for log in logs]
        with self._lock:
            if self._buffering and all(_bufferable(log) for log in logs):
                # a write to this process's running trial: applied here now, in the table with
                # this process's next round-trip (at the latest when the trial finishes)
                self._buffer.extend(bodies)
                self._ready.extend(logs)
                return
            self._sync(bodies)

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        with self._lock:
            if log_number_from != self._delivered:
                # a new reader (e.g. restored from a snapshot): position by Optuna's count
                self.flush()
                self._ready = []
                self._fetched = self._delivered = log_number_from
                self._known_max = max(self._known_max, log_number_from)
            if not self._ready:
                dirty = True
                if self._quiet_reads and self._conn is not None and not self._conn.closed:
                    self._conn.poll()  # notifications already on the socket: no round-trip
                    self._drain()
                    dirty = self._known_max >= self._fetched
                if dirty:  # another process wrote past what this one holds
                    self._sync([])
            out, self._ready = self._ready, []
            self._delivered += len(out)
            return out

    # -- BaseJournalSnapshot -----------------------------------------------------------------
    def save_snapshot(self, snapshot: bytes) -> None:
        import psycopg2

        with self._lock:
            if self._buffer or self._ready or self._delivered != self._fetched:
                return  # Optuna's count would not be the table position: the next one will do
            upto = self._fetched
            if self._snapshot_upto is None:
                rows = self._execute(f"SELECT upto FROM {self._table}_snapshot WHERE id = 1")
                self._snapshot_upto = rows[0][0] if rows else 0
            if upto - self._snapshot_upto < max(SNAPSHOT_MIN_LOGS, self._snapshot_upto // 4):
                return
            self._execute(
                f"INSERT INTO {self._table}_snapshot (id, upto, data) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, data = excluded.data "
                f"WHERE {self._table}_snapshot.upto < excluded.upto",
                (upto, psycopg2.Binary(snapshot)), fetch=False)
            self._snapshot_upto = upto

    def load_snapshot(self) -> bytes | None:
        with self._lock:
            rows = self._execute(f"SELECT upto, data FROM {self._table}_snapshot WHERE id = 1")
            if not rows:
                return None
            self._snapshot_upto = rows[0][0]
            return bytes(rows[0][1])


def journal_storage(url: str, synchronous_commit: bool = False,
                    quiet_reads: bool = False) -> Any:
    """An Optuna ``JournalStorage`` on ``url`` (``postgresql+journal://...``);
    ``quiet_reads`` for a worker's own storage (see the module docstring)."""
    from optuna.storages import JournalStorage

    dsn, table = parse_url(url)
    return JournalStorage(PgJournalBackend(dsn, table, synchronous_commit,
                                           quiet_reads=quiet_reads))
