"""Indexes MLflow's schema lacks for the searches research_lab makes, added idempotently.

MLflow indexes ``tags`` and ``params`` by ``(key, run_uuid)`` and ``runs`` only by its primary
key: a tag or parameter filter (``key = 'status' AND value = 'testing'``) reads every row of
that key, a run-key lookup (one per outbox replay) reads every run's key tag, and the runs of a
few experiments are found by scanning all runs. ``research-lab project migrate`` adds:

==============================  ===============================================================
``rl_runs_experiment_start``     runs of some experiments, active or deleted, newest first
``rl_tags_value``                tag filters on research_lab's own tags (hierarchy, team,
                                 status, kind, lineage, run key)
``rl_params_value``              parameter filters (``fast = 10``)
==============================  ===============================================================

On PostgreSQL the two value indexes are *hash* indexes: a B-tree entry cannot exceed ~2.7 KB
while MLflow allows 8,000-character tag values and 6,000-character params, so a B-tree over the
value would make logging a long value fail; a hash index has no such limit and equality is all
the filters ask. The tag index is partial (``WHERE key IN (...)``, the keys research_lab
filters on); the planner uses it because ``key = 'status'`` implies the index's predicate.

What it buys (``benchmarks/tracking_queries.py``): at 10,000 runs the SQL of every query is
already 3-40 ms without these indexes — the latency users see is MLflow materializing and
serializing full runs in Python, which no index changes. The run-key lookup drops from ~4 ms
to ~0.03 ms, the tag and parameter filters halve, and the scans they replace grow linearly
with the number of runs, so the gain grows with the database.

Run it with ``research-lab project migrate --db URL`` (the server's ``--backend-store-uri``);
running it again does nothing (``CREATE INDEX IF NOT EXISTS``, PostgreSQL >= 9.5 and SQLite).
MLflow's own Alembic migrations leave indexes they do not know alone.
"""

from __future__ import annotations

from research_lab.core.settings import mask_url
from research_lab.core.tracking import tags as T
from research_lab.core.tracking.naming import PARTS

FILTERED_TAGS = (*PARTS, T.TEAM, T.STATUS, T.KIND, T.CODE_VERSION, T.DATA_VERSION, T.SEED,
                 T.DAGSTER_RUN_ID, T.PARTITION_KEY, T.RUN_KEY, "symbol")


def _in_list(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def index_statements(dialect: str) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX ...)`` for ``dialect`` (``postgresql`` or ``sqlite``)."""
    tag_keys = _in_list(FILTERED_TAGS)
    if dialect == "postgresql":  # hash: no size limit on the value, equality is all we ask
        tags_ix = f"ON tags USING hash (value) WHERE key IN ({tag_keys})"
        params_ix = "ON params USING hash (value)"
    else:
        tags_ix = f"ON tags (key, value) WHERE key IN ({tag_keys})"
        params_ix = "ON params (key, value)"
    return [
        ("rl_runs_experiment_start",
         "CREATE INDEX IF NOT EXISTS rl_runs_experiment_start "
         "ON runs (experiment_id, lifecycle_stage, start_time)"),
        ("rl_tags_value", f"CREATE INDEX IF NOT EXISTS rl_tags_value {tags_ix}"),
        ("rl_params_value", f"CREATE INDEX IF NOT EXISTS rl_params_value {params_ix}"),
    ]


def existing_indexes(conn) -> set[str]:
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    return {ix["name"] for table in ("runs", "latest_metrics", "tags", "params")
            for ix in inspector.get_indexes(table)}


def apply(db_url: str, *, dry_run: bool = False) -> list[tuple[str, bool]]:
    """Create the missing indexes on the MLflow database at ``db_url``; returns
    ``(index, created)`` per index (``created`` False: it was there already)."""
    import sqlalchemy as sa

    dialect = sa.engine.make_url(db_url).get_backend_name()
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"migrate supports postgresql and sqlite databases, not {dialect!r}")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            if not sa.inspect(conn).has_table("runs"):
                raise ValueError(f"{mask_url(db_url)} holds no MLflow schema (no 'runs' table); "
                                 "start an MLflow server or tracker on it first")
            have = existing_indexes(conn)
            out = []
            for name, ddl in index_statements(dialect):
                created = name not in have
                if created and not dry_run:
                    conn.execute(sa.text(ddl))
                out.append((name, created))
            if not dry_run and any(c for _, c in out):
                conn.execute(sa.text("ANALYZE"))
            return out
    finally:
        engine.dispose()
