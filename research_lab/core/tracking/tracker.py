"""``ExperimentTracker``: log backtests, studies and policies to MLflow without losing any.

Usage::

    from research_lab.core.tracking import ExperimentTracker, Lineage

    with ExperimentTracker() as tracker:            # embedded SQLite unless a URI is configured
        ticket = tracker.log_run(
            "Q1_2025.Equities.MeanReversion.SMACrossover", "ACME fast=10 slow=30",
            params={"fast": 10, "slow": 30}, metrics={"sharpe": 1.3, "max_drawdown": -0.12},
            artifacts={"equity.csv": "out/equity.csv", "result.json": "out/result.json"},
            lineage=Lineage(data_version="9f2c...", seed=7),
        )
    ticket.run_id        # the MLflow run id (None if the run waits in the outbox)

    study = tracker.start_parent("Q1_2025.Equities.MeanReversion.SMACrossover", "study-1")
    for trial in trials:
        tracker.log_child(study, f"trial-{trial.number}", params=..., metrics=...)
    tracker.finish_parent(study, metrics={"best_sharpe": 1.8})

How it keeps both promises, speed and nothing lost:

1. ``log_run`` validates its input (a bad name, value or missing file raises ``ValueError``
   naming it), journals the record to the outbox folder (a JSON file plus copies of the artifact
   files, ~1 ms), puts it on a queue and returns a :class:`RunTicket`.
2. A background thread writes it with batched calls (:mod:`.writer`), retrying transient errors
   with backoff (:mod:`.retry`), then deletes the journal entry. On MLflow's SQL stores
   (embedded SQLite, a PostgreSQL database) the finished runs that queued up meanwhile (a
   study's trials) go in one transaction (:mod:`.bulk`): ~1 ms a run instead of ~39.
3. If the server stays unreachable or refuses the record, the entry moves to the outbox's
   ``pending/`` folder and the tracker goes offline for ``offline_cooldown`` seconds (records go
   straight to ``pending/`` without waiting on a dead server). ``replay_outbox()``, the
   ``research-lab project replay-outbox`` command and the Dagster ``tracking_outbox_sensor``
   write them later; the run key makes that idempotent.
4. ``close()`` (also called at interpreter exit, and by ``with``) waits up to ``close_timeout``
   seconds for the queue; whatever is left moves to ``pending/``. A process killed outright
   leaves its journal, which the next replay adopts.

``background=False`` writes in the caller's thread (same journal, retries and outbox).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from research_lab.core.tracking import tags as T
from research_lab.core.tracking.bulk import MAX_BATCH, BulkRunWriter, bulk_eligible
from research_lab.core.tracking.config import TrackingTarget, resolve_target
from research_lab.core.tracking.naming import ExperimentName
from research_lab.core.tracking.outbox import Entry, Outbox
from research_lab.core.tracking.records import (
    RunRecord, clean_artifacts, clean_metrics, clean_params, clean_tags, new_key, now_ms,
)
from research_lab.core.tracking.retry import Backoff, is_transient, retry_call
from research_lab.core.tracking.tickets import ReplayReport, RunTicket, short_error
from research_lab.core.tracking.writer import MlflowWriter

log = logging.getLogger("research_lab.tracking")
_STOP = object()

__all__ = ["ExperimentTracker", "ReplayReport", "RunTicket"]


class ExperimentTracker:
    """Logs runs to MLflow in the background; see the module docstring."""

    def __init__(
        self,
        uri: str | None = None,
        *,
        outbox_dir: str | None = None,
        artifact_root: str | None = None,
        team: str | None = None,
        background: bool = True,
        workers: int | None = None,
        backoff: Backoff = Backoff(),
        offline_cooldown: float = 30.0,
        close_timeout: float = 30.0,
        max_queue: int = 1000,
        code_version: str | None = None,
    ) -> None:
        self.target: TrackingTarget = resolve_target(
            uri, outbox_dir=outbox_dir, artifact_root=artifact_root, team=team
        )
        self.outbox = Outbox(self.target.outbox_dir)
        self.backoff = backoff
        self.offline_cooldown = offline_cooldown
        self.close_timeout = close_timeout
        self.background = background
        self._code_version = code_version
        self._writer = MlflowWriter(self.target)
        self._bulk = BulkRunWriter(self._writer)
        self._bulk_available: bool | None = None
        self._journal = None
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._workers = workers or (4 if self.target.is_server else 1)
        self._threads: list[threading.Thread] = []
        self._tickets: dict[str, RunTicket] = {}
        self._offline_until = 0.0
        self._closed = False
        # imported now: MLflow imports it on first use, and a first use during interpreter
        # shutdown (a script that logs and exits at once) could not register its exit hook
        import concurrent.futures.thread  # noqa: F401

        atexit.register(self.close)

    @property
    def uri(self) -> str:
        return self.target.uri

    # -- logging ---------------------------------------------------------------------------
    def _tags(self, name: ExperimentName, tags: Mapping[str, Any] | None,
              lineage: T.Lineage | None, status: str, kind: str) -> dict[str, str]:
        T.check_status(status)
        if kind not in T.KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(T.KINDS)}")
        lineage = lineage or T.Lineage()
        if lineage.code_version is None:
            lineage = replace(lineage, code_version=self._code_version or T.code_version())
        return {
            T.TEAM: self.target.team, **clean_tags(tags), **name.tags(),
            T.STATUS: status, T.KIND: kind, **lineage.tags(),
        }

    def log_run(
        self,
        experiment: ExperimentName | str,
        run_name: str | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        artifacts: Mapping[str, Any] | None = None,
        *,
        lineage: T.Lineage | None = None,
        status: str = "research",
        kind: str = "backtest",
        parent: RunTicket | None = None,
        parent_run_id: str | None = None,
        run_key: str | None = None,
        run_status: str = "FINISHED",
        start_time: int | None = None,
        finished: bool = True,
    ) -> RunTicket:
        """Log one complete run; returns at once with a :class:`RunTicket`.

        ``experiment``: ``{Project}.{AssetClass}.{StrategyFamily}.{Strategy}``; ``artifacts``:
        name in the run (e.g. ``plots/equity.png``) -> local file or folder; ``status``: the
        lifecycle tag (:data:`.tags.STATUSES`); ``parent``: the ticket of a parent run started
        with :meth:`start_parent` (or ``parent_run_id``: the MLflow id of an existing parent,
        e.g. a study resumed in another process); ``run_key``: give a deterministic key (e.g.
        from the Dagster run and partition) to make re-logging the same run a no-op;
        ``run_status``: MLflow's FINISHED / FAILED / KILLED.
        """
        name = ExperimentName.coerce(experiment)
        if parent is not None and parent.experiment != str(name):
            raise ValueError(
                f"a child run belongs in its parent's experiment {parent.experiment!r}, "
                f"not {str(name)!r}"
            )
        start = start_time or now_ms()
        all_tags = self._tags(name, tags, lineage, status, kind)
        if parent_run_id and parent is None:
            all_tags[T.PARENT_RUN_ID] = parent_run_id
        record = RunRecord(
            key=run_key or new_key(), experiment=str(name), run_name=run_name,
            params=clean_params(params), metrics=clean_metrics(metrics),
            tags=all_tags,
            artifacts=clean_artifacts(artifacts), parent_key=parent.key if parent else None,
            start_time=start, end_time=now_ms() if finished else None, finished=finished,
            status=run_status,
        )
        return self._submit(record)

    def start_parent(
        self,
        experiment: ExperimentName | str,
        run_name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        lineage: T.Lineage | None = None,
        kind: str = "study",
        run_key: str | None = None,
    ) -> RunTicket:
        """Open a parent run (an optimization study); children follow with :meth:`log_child`,
        and :meth:`finish_parent` closes it."""
        return self.log_run(
            experiment, run_name, params, None, tags, None, lineage=lineage, kind=kind,
            run_key=run_key, finished=False,
        )

    def log_child(self, parent: RunTicket, run_name: str | None = None, params=None,
                  metrics=None, tags=None, artifacts=None, *, kind: str = "trial",
                  **kwargs: Any) -> RunTicket:
        """Log a child run (a trial) under ``parent``, in the parent's experiment."""
        return self.log_run(parent.experiment, run_name, params, metrics, tags, artifacts,
                            kind=kind, parent=parent, **kwargs)

    def finish_parent(self, parent: RunTicket, metrics=None, artifacts=None, tags=None, *,
                      run_status: str = "FINISHED") -> RunTicket:
        """Close a parent run with its summary metrics (e.g. the best trial's) and artifacts."""
        record = RunRecord(
            key=parent.key, experiment=parent.experiment, metrics=clean_metrics(metrics),
            tags=clean_tags(tags), artifacts=clean_artifacts(artifacts),
            end_time=now_ms(), finished=True, status=run_status,
        )
        return self._submit(record, ticket=RunTicket(parent.key, parent.experiment))

    # -- the queue ---------------------------------------------------------------------------
    def _submit(self, record: RunRecord, ticket: RunTicket | None = None) -> RunTicket:
        with self._lock:
            if self._closed:
                raise RuntimeError("this ExperimentTracker is closed")
            if self._journal is None:
                self._journal = self.outbox.journal()
            entry = self._journal.add(record)
            # from here on the run's artifacts are the journal's copies
            record = replace(record, artifacts={n: str(entry.files / n) for n in record.artifacts})
            ticket = ticket or RunTicket(record.key, record.experiment)
            if not record.finished:  # a parent: its children and its finish wait for it
                self._tickets[record.key] = ticket
            if self.background and not self._threads:
                for i in range(self._workers):
                    t = threading.Thread(target=self._work, name=f"mlflow-tracker-{i}",
                                         daemon=True)
                    t.start()
                    self._threads.append(t)
        if self.background:
            self._queue.put((entry, record, ticket))
        else:
            self._process(entry, record, ticket)
        return ticket

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            try:
                if batch[0] is not _STOP and self._bulk_ready(batch[0][1]):
                    # what queued up while the last write ran goes in one transaction
                    while len(batch) < MAX_BATCH:
                        try:
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        batch.append(item)
                        if item is _STOP or not self._bulk_ready(item[1]):
                            break
                items = [i for i in batch if i is not _STOP]
                ready = [self._bulk_ready(i[1]) for i in items]
                if sum(ready) > 1:
                    self._process_bulk([i for i, r in zip(items, ready) if r])
                    items = [i for i, r in zip(items, ready) if not r]
                for item in items:
                    self._process(*item)
                if batch[-1] is _STOP:
                    return
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _bulk_ready(self, record: RunRecord) -> bool:
        if self._bulk_available is None:
            try:
                self._bulk_available = self._bulk.available()
            except Exception:  # noqa: BLE001 - no bulk path: every record goes one by one
                self._bulk_available = False
        # not a parent's finish: that completes a run written before
        return self._bulk_available and bulk_eligible(record) and record.key not in self._tickets

    def _parent_ready(self, entry: Entry, record: RunRecord, ticket: RunTicket) -> bool:
        """Wait for the run this record depends on (a child's parent, a parent's start);
        False (and the record is in the outbox) when that run waits in the outbox."""
        first = self._tickets.get(record.parent_key or record.key)
        if first is not None and first is not ticket:  # a child, or a parent's finish
            first.wait(self.close_timeout)
            if first.run_id is None:
                self._to_outbox(entry, record, ticket, "parent run waits in the outbox")
                return False
            if record.key == first.key:
                self._tickets.pop(record.key, None)
        if time.monotonic() < self._offline_until:
            self._to_outbox(entry, record, ticket, "tracking server failed recently (offline)")
            return False
        return True

    def _process_bulk(self, items: list[tuple[Entry, RunRecord, RunTicket]]) -> None:
        """Many finished runs in one transaction (:mod:`.bulk`); on any failure, one by one."""
        ready = [item for item in items if self._parent_ready(*item)]
        if not ready:
            return
        try:
            written, _ = self._bulk.write_many([record for _, record, _ in ready])
        except Exception as exc:  # noqa: BLE001 - the one-by-one path retries or outboxes
            log.info("bulk write of %d runs failed (%s); writing them one by one",
                     len(ready), short_error(exc))
            written = {}
        for entry, record, ticket in ready:
            run_id = written.get(record.key)
            if run_id is None:
                self._process(entry, record, ticket, lookup=True, checked=True)
                continue
            self._writer.note_written(record.key, run_id)
            self.outbox.remove(entry)
            ticket._resolve(run_id)

    def _process(self, entry: Entry, record: RunRecord, ticket: RunTicket, *,
                 lookup: bool = False, checked: bool = False) -> None:
        if not checked and not self._parent_ready(entry, record, ticket):
            return
        tries = [0]

        def attempt() -> str:
            tries[0] += 1
            return self._writer.write(record, lookup=lookup or tries[0] > 1 or record.attempts > 0)

        try:
            run_id = retry_call(attempt, self.backoff, on_retry=lambda n, e: log.info(
                "retrying MLflow write of %s (attempt %d): %s", record.key, n + 1, e))
        except Exception as exc:  # noqa: BLE001 - every failure goes to the outbox
            if is_transient(exc):
                self._offline_until = time.monotonic() + self.offline_cooldown
            log.warning("MLflow write failed (%s); run %s kept in the outbox %s",
                        short_error(exc), record.key, self.outbox.pending_dir)
            self._to_outbox(entry, record, ticket, short_error(exc))
            return
        self.outbox.remove(entry)
        ticket._resolve(run_id)

    def _to_outbox(self, entry: Entry, record: RunRecord, ticket: RunTicket, error: str) -> None:
        try:
            self.outbox.release(entry, record.with_attempt(error))
        except FileNotFoundError:  # close() moved it already
            pass
        ticket._resolve(None, error)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every accepted run is written or outboxed; False on timeout."""
        if not self.background:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Flush (up to ``timeout``, default ``close_timeout``), stop the workers, and move
        anything unwritten to the outbox. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        timeout = self.close_timeout if timeout is None else timeout
        if not self.flush(timeout):
            self._offline_until = float("inf")  # the rest goes straight to the outbox
            self.flush(5.0)
        for _ in self._threads:
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:  # pragma: no cover - workers are daemons; exit ends them
                break
        for t in self._threads:
            t.join(1.0)
        if self._journal is not None:
            self._journal.close()

    def __enter__(self) -> ExperimentTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the outbox ----------------------------------------------------------------------------
    def replay_outbox(self, limit: int | None = None) -> ReplayReport:
        """Write the outbox's pending runs, oldest first; stops early if the server is down
        (see :func:`.replay.replay`)."""
        from research_lab.core.tracking.replay import replay

        return replay(self.outbox, self._writer, self.backoff, limit=limit)

    def pending(self) -> int:
        """How many runs wait in the outbox's ``pending/`` folder."""
        return len(self.outbox.entries())
