"""The market-data store: bars partitioned by (symbol, session), embedded or on PostgreSQL.

One URL picks the backend; the code is the same SQLAlchemy Core for both::

    from research_lab.core.marketdata.store import open_store

    with open_store("sqlite:///.research_lab/market.db") as store:      # no server needed
        store.write_partitions("AAPL", sessions, bars, source="yfinance")
        history = store.read_bars("AAPL")                                # one query

    open_store("postgresql://lab@db:5432/research_lab")                  # shared by a team

What it promises
    - ``write_partitions(symbol, sessions, bars, source=...)`` makes ``bars`` the entire
      content of the partitions (symbol, s) for s in ``sessions``, in one transaction: rewriting
      is idempotent, other partitions are untouched, an error leaves the old rows, bad input
      writes nothing. A session with no bars is recorded as materialized with 0 rows (a
      holiday). This is what a Dagster asset partitioned by symbol x session calls, for one
      session or a whole backfill range.
    - ``read_bars`` / ``read_many`` return frames exactly in the bar schema
      (:func:`..schema.empty_bars` dtypes) whose ``data_version`` equals what was written.
    - ``partitions()``, ``symbols()``, ``sessions(symbol)``, ``last_session(symbol)`` read the
      ledger of materialized partitions (row count, data version, source, written_at UTC).
    - Several processes may write different partitions at once (SQLite: WAL and a busy
      timeout, writers queue; PostgreSQL: row-level work with a per-symbol advisory lock), and
      may open an empty database at once (schema creation is locked and idempotent).

Layout
    ``_store.py``      :class:`BarStore`, :class:`WriteSummary`, :func:`open_store`
    ``_tables.py``     table definitions, storage types, schema creation
    ``_partitions.py`` the generic partition-replace helper (reuse it for anomaly scores)
    ``_bars.py``       pure bar checks, per-session versions, frame building
    ``_backend.py``    URLs, engines, write transactions, bulk inserts per backend
    ``_pgcopy.py``     frames as PostgreSQL binary ``COPY`` (the bulk write of the bars and ledger)
    ``_scores.py``     the ``anomaly_scores`` table (same keys as the bars) written by the data
                       quality sentinel through the partition-replace helper
    ``_annotations.py`` analyst overrides of anomalies and the alert delivery log
    ``_quarantine.py`` rows a source delivered that failed validation, stored with their reason
                       and raised as critical anomalies of their sessions
"""

from ._annotations import (
    ALERT_STATUSES,
    VERDICTS,
    add_override,
    anomaly_alerts,
    anomaly_overrides,
    read_alerts,
    read_overrides,
    record_alert,
)
from ._backend import write_transaction
from ._quarantine import QUARANTINE_COLUMNS, quarantined_rows, read_quarantine
from ._partitions import ledger_query, replace_partitions
from ._scores import (
    SCORE_COLUMNS,
    SCORE_FLOAT_COLUMNS,
    anomaly_scores,
    read_scores,
    score_partitions,
    write_scores,
)
from ._store import BarStore, PartitionConflictError, WriteSummary, open_store
from ._tables import (
    PARTITIONED_TABLES,
    EpochNanos,
    market_bars,
    market_partitions,
    metadata,
    utc_now,
)

__all__ = [
    "QUARANTINE_COLUMNS",
    "quarantined_rows",
    "read_quarantine",
    "ALERT_STATUSES",
    "SCORE_COLUMNS",
    "SCORE_FLOAT_COLUMNS",
    "VERDICTS",
    "add_override",
    "anomaly_alerts",
    "anomaly_overrides",
    "anomaly_scores",
    "read_alerts",
    "read_overrides",
    "read_scores",
    "record_alert",
    "score_partitions",
    "write_scores",
    "BarStore",
    "EpochNanos",
    "PARTITIONED_TABLES",
    "PartitionConflictError",
    "WriteSummary",
    "market_bars",
    "market_partitions",
    "metadata",
    "open_store",
    "ledger_query",
    "replace_partitions",
    "utc_now",
    "write_transaction",
]
