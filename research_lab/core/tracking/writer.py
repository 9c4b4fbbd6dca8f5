"""Writes one :class:`~.records.RunRecord` to MLflow, idempotently.

The only module that talks to MLflow's write API (``MlflowClient``; mlflow is imported on first
use). Per record it makes four kinds of calls: ``create_run`` (with every tag, including the
record's ``research_lab.run_key``), ``log_batch`` (params and metrics, chunked to MLflow's batch
limits), one ``log_artifact`` per artifact, and ``set_terminated``.

Idempotence, which is what lets the outbox replay a record any number of times:

* with ``lookup=True`` (every retry and every replay) the run is first searched by its run key;
  a run found finished (or archived) is left alone; a run found unfinished (the previous attempt
  died half-way) is completed rather than created again;
* params are only added (MLflow refuses to change one, and accepts the same value again);
* every metric of a record carries the record's own timestamp and step 0, and MLflow drops a
  metric identical to one it has;
* artifacts overwrite the same path with the same bytes.

A child run (a trial of a study) finds its parent by the parent's run key, so a parent that
waited in the outbox and a child logged later still meet.
"""

from __future__ import annotations

import os
import posixpath
import threading
from pathlib import Path
from typing import Any

from research_lab.core.tracking import tags as T
from research_lab.core.tracking.config import TrackingTarget
from research_lab.core.tracking.naming import ExperimentName
from research_lab.core.tracking.records import RunRecord

HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # retry.py retries, then the outbox
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",  # else set_terminated prints and re-reads
}
MAX_PARAMS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000  # MLflow: <= 100 params, <= 100 tags, <= 1000 entities per call


class ParentNotTracked(RuntimeError):
    """A child run's parent is not in MLflow yet (it waits in the outbox)."""


def make_client(target: TrackingTarget):
    """An ``MlflowClient`` for ``target``. Turns MLflow's usage telemetry off (this machine
    reaches no outside host) and, for a server, sets :data:`HTTP_DEFAULTS`, each unless already
    set in the environment (process-wide: MLflow reads them per request)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if target.is_server:
        for name, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(name, value)
    elif target.is_sqlite:
        db = target.uri[len("sqlite:///"):]
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
            use_wal(Path(db).expanduser())
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=target.uri)


def use_wal(db: Path) -> None:
    """Put an SQLite file in WAL mode (persistent): one fsync per commit instead of three,
    and readers (the UI, queries) no longer block the writer."""
    import sqlite3

    try:
        conn = sqlite3.connect(db, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
    except sqlite3.Error:  # locked or read-only: MLflow works without it, only slower
        pass


def run_key_filter(key: str) -> str:
    return f"tags.`{T.RUN_KEY}` = '{key}'"


class MlflowWriter:
    """Creates experiments and runs for records; caches experiment ids and run ids by key."""

    def __init__(self, target: TrackingTarget, client: Any = None) -> None:
        self.target = target
        self._client = client
        self._lock = threading.Lock()
        self._experiments: dict[str, str] = {}
        self._runs: dict[str, str] = {}
        self._artifact_uris: dict[str, str] = {}
        self._finished: set[str] = set()  # run keys whose run is complete in MLflow

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = make_client(self.target)
            return self._client

    # -- experiments -----------------------------------------------------------------------
    def experiment_id(self, name: str, *, create: bool = True) -> str | None:
        """The id of experiment ``name`` (created with its tags, and in embedded mode its
        artifact folder, when missing and ``create``)."""
        if name in self._experiments:
            return self._experiments[name]
        parsed = ExperimentName.parse(name)
        client = self.client
        found = client.get_experiment_by_name(name)
        if found is None and not create:
            return None
        if found is None:
            from mlflow.exceptions import MlflowException

            location = None
            if self.target.artifact_root is not None:
                location = (self.target.artifact_root / name).resolve().as_uri()
            try:
                exp_id = client.create_experiment(
                    name, artifact_location=location,
                    tags={**parsed.tags(), "research_lab.naming": "v1"},
                )
            except MlflowException as exc:  # created meanwhile by another process
                if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                    raise
                exp_id = client.get_experiment_by_name(name).experiment_id
        else:
            if found.lifecycle_stage == "deleted":
                client.restore_experiment(found.experiment_id)
            exp_id = found.experiment_id
        self._experiments[name] = exp_id
        return exp_id

    # -- runs ------------------------------------------------------------------------------
    def find_run(self, experiment_id: str, key: str):
        """The run tagged with run key ``key`` in the experiment (active or deleted), or None."""
        from mlflow.entities import ViewType

        runs = self.client.search_runs(
            [experiment_id], run_key_filter(key), run_view_type=ViewType.ALL, max_results=2
        )
        return runs[0] if runs else None

    def parent_run_id(self, experiment_id: str, parent_key: str) -> str:
        if parent_key in self._runs:
            return self._runs[parent_key]
        run = self.find_run(experiment_id, parent_key)
        if run is None:
            raise ParentNotTracked(
                f"parent run {parent_key} is not in MLflow yet (it waits in the outbox; replay "
                "writes it first)"
            )
        self._runs[parent_key] = run.info.run_id
        return run.info.run_id

    def note_written(self, key: str, run_id: str) -> None:
        """Remember a run written completely elsewhere (:mod:`.bulk`)."""
        self._runs[key] = run_id
        self._finished.add(key)

    def write(self, record: RunRecord, *, lookup: bool) -> str:
        """Write ``record``; returns the MLflow run id. ``lookup``: search by run key first."""
        if record.key in self._finished:
            return self._runs[record.key]
        exp_id = self.experiment_id(record.experiment)
        client = self.client
        tags = {**record.tags, T.RUN_KEY: record.key}
        if record.parent_key:
            tags[T.PARENT_RUN_ID] = self.parent_run_id(exp_id, record.parent_key)
        run_id = self._runs.get(record.key)
        if run_id is None and lookup:
            found = self.find_run(exp_id, record.key)
            if found is not None:
                run_id = found.info.run_id
                self._artifact_uris[run_id] = found.info.artifact_uri
                if found.info.status != "RUNNING" or found.info.lifecycle_stage == "deleted":
                    self._runs[record.key] = run_id
                    self._finished.add(record.key)
                    return run_id  # written completely before (or archived since)
        if run_id is None:
            info = client.create_run(
                exp_id, start_time=record.start_time, tags=tags, run_name=record.run_name
            ).info
            run_id = info.run_id
            self._artifact_uris[run_id] = info.artifact_uri
            pending_tags: dict[str, str] = {}
        else:
            pending_tags = tags
        self._runs[record.key] = run_id
        self._log_batch(run_id, record, pending_tags)
        if record.artifacts:
            repo = self._artifact_repo(run_id)
            for name, path in record.artifacts.items():
                self._log_artifact(repo, name, Path(path))
        if record.finished:
            client.set_terminated(run_id, record.status, end_time=record.end_time)
            self._finished.add(record.key)
        return run_id

    def _artifact_repo(self, run_id: str):
        """The run's artifact repository, from the artifact URI ``create_run`` returned
        (``MlflowClient.log_artifact`` would fetch the run once more to learn it)."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        uri = self._artifact_uris.get(run_id) or self.client.get_run(run_id).info.artifact_uri
        self._artifact_uris[run_id] = uri
        return get_artifact_repository(uri, tracking_uri=self.target.uri)

    @staticmethod
    def _log_artifact(repo, name: str, path: Path) -> None:
        if path.is_dir():
            repo.log_artifacts(str(path), name)
            return
        folder = posixpath.dirname(name) or None
        if path.name == posixpath.basename(name):
            repo.log_artifact(str(path), folder)
            return
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:  # the run shows the artifact's own name
            copy = Path(tmp) / posixpath.basename(name)
            shutil.copyfile(path, copy)
            repo.log_artifact(str(copy), folder)

    def _log_batch(self, run_id: str, record: RunRecord, tags: dict[str, str]) -> None:
        from mlflow.entities import Metric, Param, RunTag

        ts = record.metric_timestamp
        params = [Param(k, v) for k, v in record.params.items()]
        metrics = [Metric(k, v, ts, 0) for k, v in record.metrics.items()]
        run_tags = [RunTag(k, v) for k, v in tags.items()]
        while params or metrics or run_tags:
            p, params = params[:MAX_PARAMS_PER_BATCH], params[MAX_PARAMS_PER_BATCH:]
            t, run_tags = run_tags[:MAX_PARAMS_PER_BATCH], run_tags[MAX_PARAMS_PER_BATCH:]
            room = MAX_ENTITIES_PER_BATCH - len(p) - len(t)
            m, metrics = metrics[:room], metrics[room:]
            self.client.log_batch(run_id, metrics=m, params=p, tags=t)
