"""Many finished runs in one database transaction, on MLflow's own SQL stores.

MLflow writes a run with three calls (``create_run``, ``log_batch``, ``set_terminated``), each
its own transaction with a dozen ORM queries: ~39 ms a run on the embedded SQLite store
(``benchmarks/tracking_overhead.py``), so a study of 1 ms trials could log at most ~25 child
runs a second, and with two workers the writer took half a core from them. MLflow has no call
that creates many runs at once, so for a store it runs in-process (``sqlite://``,
``postgresql://``, ``mysql://``: :class:`mlflow.store.tracking.sqlalchemy_store.SqlAlchemyStore`)
:class:`BulkRunWriter` inserts the rows of many runs in one session of that store: the tables
of MLflow's own ORM classes (``SqlRun``, ``SqlTag``, ``SqlParam``, ``SqlMetric``,
``SqlLatestMetric``), one ``executemany`` per table, with the same
values ``create_run`` + ``log_batch`` + ``set_terminated`` would write (run name tag, user,
artifact URI, NaN/inf handling, latest metrics), validated by MLflow's own batch validators.
A test reads bulk-written runs back through ``MlflowClient`` and compares them field by field
with runs written call by call.

Which records: finished, without artifacts, on their first attempt (a retry or a replay may
meet a half-written run, which :class:`~.writer.MlflowWriter` completes one by one). Run keys
already in the store are left out of the batch and go the one-by-one way too, so a batch
written twice adds nothing. The transaction is all or nothing: when it fails, the tracker
writes the batch's records one by one (with their retries and the outbox), so a failure costs
speed, never a run.

Against a tracking server (``http(s)://``) there is no such path: the server's REST API
writes run by run, and the tracker uses several writer threads instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from research_lab.core.tracking import tags as T
from research_lab.core.tracking.records import RunRecord

MAX_BATCH = 500          # records per transaction
_IN_CHUNK = 500          # run keys per ``IN (...)`` lookup


def insert_rows(conn: Any, rows: Mapping[Any, Sequence[Mapping[str, Any]]],
                chunk: int = 20_000) -> None:
    """Insert plain rows into MLflow tables in the order given (runs before what refers to
    them), ``chunk`` rows per ``executemany``; ``conn``: a SQLAlchemy connection or session.
    ``rows`` maps an MLflow ORM class (``SqlRun``, ``SqlTag``, ...) to its rows."""
    import sqlalchemy as sa

    for model, table_rows in rows.items():
        for k in range(0, len(table_rows), chunk):
            conn.execute(sa.insert(model.__table__), list(table_rows[k:k + chunk]))


def bulk_eligible(record: RunRecord) -> bool:
    """A record the bulk path may write: finished, no artifacts, never tried before."""
    return record.finished and not record.artifacts and record.attempts == 0


class BulkRunWriter:
    """Writes finished runs in one transaction through a :class:`~.writer.MlflowWriter`'s
    store (see the module docstring)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self._store = None
        self._artifact_locations: dict[str, str] = {}

    @property
    def store(self):
        """The client's ``SqlAlchemyStore``, or None (a tracking server, a file store)."""
        if self._store is None:
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = self.writer.client._tracking_client.store
            self._store = store if isinstance(store, SqlAlchemyStore) else False
        return self._store or None

    def available(self) -> bool:
        return not self.writer.target.is_server and self.store is not None

    def write_many(self, records: Sequence[RunRecord]) -> tuple[dict[str, str], list[RunRecord]]:
        """Write ``records`` (all :func:`bulk_eligible`) in one transaction.

        Returns ``(written, rest)``: the run id of each record written here by run key, and
        the records left for the one-by-one path (their key is in the store already). Raises
        whatever the store raises; then nothing was written."""
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.store.tracking.dbmodels.models import (
            SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag,
        )

        TABLES = (SqlRun, SqlTag, SqlParam, SqlMetric, SqlLatestMetric)  # noqa: N806
        from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_USER
        from mlflow.utils.name_utils import _generate_random_name
        from mlflow.utils.uri import append_to_uri_path
        from mlflow.utils.validation import _validate_batch_log_data, _validate_batch_log_limits

        store, writer = self.store, self.writer
        plans = []
        for record in records:
            exp_id = writer.experiment_id(record.experiment)
            tags = {**record.tags, T.RUN_KEY: record.key}
            if record.parent_key:
                tags[T.PARENT_RUN_ID] = writer.parent_run_id(exp_id, record.parent_key)
            run_name = record.run_name or tags.get(MLFLOW_RUN_NAME) or _generate_random_name()
            tags.setdefault(MLFLOW_RUN_NAME, run_name)
            ts = record.metric_timestamp
            metrics = [Metric(k, v, ts, 0) for k, v in record.metrics.items()]
            params = [Param(k, v) for k, v in record.params.items()]
            run_tags = [RunTag(k, v) for k, v in tags.items()]
            metrics, params, run_tags = _validate_batch_log_data(metrics, params, run_tags)
            _validate_batch_log_limits(metrics, params, run_tags)
            plans.append((record, exp_id, run_name, metrics, params, run_tags))

        written: dict[str, str] = {}
        with store.ManagedSessionMaker(read_only=False) as session:
            existing = self._existing_keys(session, SqlTag, [r.key for r in records])
            rest = [p[0] for p in plans if p[0].key in existing]
            rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in TABLES}
            for record, exp_id, run_name, metrics, params, run_tags in plans:
                if record.key in existing:
                    continue
                run_id = uuid.uuid4().hex
                rows[SqlRun].append(dict(
                    name=run_name, run_uuid=run_id, experiment_id=int(exp_id),
                    artifact_uri=append_to_uri_path(self._artifact_location(exp_id), run_id,
                                                    store.ARTIFACTS_FOLDER_NAME),
                    source_type="UNKNOWN", source_name="", entry_point_name="",
                    user_id=next((t.value for t in run_tags if t.key == MLFLOW_USER), "unknown"),
                    status=record.status, start_time=record.start_time,
                    end_time=record.end_time, deleted_time=None, source_version="",
                    lifecycle_stage="active"))
                rows[SqlTag].extend(dict(key=t.key, value=t.value, run_uuid=run_id)
                                    for t in run_tags)
                rows[SqlParam].extend(dict(key=p.key, value=str(p.value), run_uuid=run_id)
                                      for p in params)
                for m in metrics:
                    is_nan, value = store.sanitize_metric_value(m.value)
                    row = dict(key=m.key, value=value, timestamp=m.timestamp, step=m.step,
                               is_nan=is_nan, run_uuid=run_id)
                    rows[SqlMetric].append(row)
                    rows[SqlLatestMetric].append(row)
                written[record.key] = run_id
            insert_rows(session, rows)
        return written, rest

    def _artifact_location(self, exp_id: str) -> str:
        if exp_id not in self._artifact_locations:
            exp = self.writer.client.get_experiment(exp_id)
            self._artifact_locations[exp_id] = exp.artifact_location
        return self._artifact_locations[exp_id]

    @staticmethod
    def _existing_keys(session: Any, tag_model: Any, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            rows = (session.query(tag_model.value)
                    .filter(tag_model.key == T.RUN_KEY, tag_model.value.in_(chunk)).all())
            found.update(r[0] for r in rows)
        return found
