"""Where studies live: an embedded journal file by default, PostgreSQL for distributed studies.

One URL picks the storage (``storage.url`` in ``config/optimize.yaml``, else
``RESEARCH_LAB_OPTUNA_STORAGE``, else the embedded default):

=================================== ===========================================================
``journal:///abs/path/file.journal`` Optuna's ``JournalStorage`` on a file (also: a plain path).
(default: ``$RESEARCH_LAB_HOME/      Safe for several processes on one machine: appends are
optuna/studies.journal``)            serialized by an ``fcntl.flock`` lock (:class:`FlockLock`),
                                     which the kernel releases when a holder dies, so a killed
                                     worker never leaves a stale lock file behind. Appends are
                                     written in one ``write`` each and survive a killed process;
                                     ``storage.journal_fsync: true`` also survives power loss
                                     (an fsync per append: ~7 ms, 8 appends per trial).
``postgresql://user@host:5432/db``   Optuna's ``RDBStorage``: any number of workers on any
                                     number of machines, with heartbeats. Its sessions run with
                                     ``synchronous_commit=off`` unless
                                     ``storage.pg_synchronous_commit: true``: a commit does not
                                     wait for the WAL flush (~70 commits a trial; measured 1.25x
                                     -> 1.5x for 2 workers, before other savings took it to
                                     ~2.2x, docs/optimization.md). A killed worker loses nothing; a
                                     crash of the PostgreSQL server itself may lose the last
                                     ~0.6 s of trial records (the database stays consistent and
                                     the study re-runs the missing trials on resume).
``postgresql+journal://user@host:    Optuna's ``JournalStorage`` on PostgreSQL
5432/db[?table=NAME]``               (:mod:`.pg_journal`): an append-only log table the
                                     workers replay, ~1 round-trip per write and none for a
                                     read when no one else wrote; 5-10x the trials/s of
                                     ``RDBStorage`` (docs/optimization.md). Dead trials:
                                     process liveness on the host, as on the journal file.
``sqlite:///path.db``                ``RDBStorage`` on SQLite (one machine; not recommended for
                                     several writers: the journal file is faster and safer).
=================================== ===========================================================

Create once, then join
    :func:`create_study` makes the schema and the study once, before any worker starts: two
    workers creating the schema on an empty PostgreSQL database race on ``CREATE TYPE`` and one
    fails (measured); so does a reader opening the storage meanwhile (Optuna's RDBStorage
    constructor creates alembic's version table even with ``skip_table_creation``). On
    PostgreSQL every storage constructor and the creation run under one advisory lock, so even
    two parents racing, or a progress reader polling an empty database, are safe. Workers then :func:`open_storage` with ``skip_table_creation``
    and ``optuna.load_study`` by name.

A killed worker's trial
    * PostgreSQL / SQLite: each running trial records a heartbeat every
      ``heartbeat_interval`` seconds; a trial silent for ``grace_period`` seconds is set to
      FAIL by the next worker that starts a trial (or by the runner) and
      ``RetryHeartbeatStaleTrialCallback`` enqueues a copy with the same parameters, which the
      next ``ask`` picks up (system attribute ``failed_trial`` = the original number).
    * Journal file: Optuna has no heartbeat there. Each trial records its worker
      (``host:pid:start-time`` in user attribute ``worker``); :func:`fail_dead_local_trials`
      fails the RUNNING trials whose worker process on this host no longer exists and enqueues
      the same retry. Exact on one machine, which is what the embedded storage is for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VAR = "RESEARCH_LAB_OPTUNA_STORAGE"
WORKER_ATTR = "worker"
_ADVISORY_KEY = 7_204_931_517  # pg_advisory_lock key for schema + study creation


class StorageError(ValueError):
    """A bad storage URL, or a study that is missing where it was expected."""


def mask(url: str) -> str:
    from research_lab.core.settings import mask_url

    return mask_url(url)


def resolve_storage_url(url: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``url``, else ``RESEARCH_LAB_OPTUNA_STORAGE``, else the embedded journal file."""
    env = os.environ if env is None else env
    url = url or env.get(ENV_VAR) or None
    if url is None:
        from research_lab.core.settings import load_settings

        home = load_settings(env=env).home
        return f"journal:///{(home / 'optuna' / 'studies.journal').resolve()}".replace(
            "journal:////", "journal:///")
    kind = storage_kind(url)
    if kind == "journal" and not url.startswith("journal:"):
        return f"journal:///{Path(url).expanduser().resolve()}".replace("journal:////", "journal:///")
    return url


def storage_kind(url: str) -> str:
    """``journal``, ``pg_journal``, ``postgresql`` or ``sqlite``; raises
    :class:`StorageError` otherwise."""
    if url.startswith("journal:"):
        return "journal"
    if url.startswith("postgresql+journal://"):
        from research_lab.core.optimize.pg_journal import PgJournalURLError, parse_url

        try:
            parse_url(url)
        except PgJournalURLError as exc:
            raise StorageError(str(exc)) from None
        return "pg_journal"
    if url.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        return "postgresql"
    if url.startswith("sqlite:///"):
        return "sqlite"
    if "://" not in url:
        return "journal"
    raise StorageError(
        f"storage URL {mask(url)!r} is not supported; use journal:///path/file.journal (or a "
        "path), postgresql://user@host:5432/db, postgresql+journal://user@host:5432/db or "
        "sqlite:///path.db"
    )


def journal_path(url: str) -> Path:
    return Path(url[len("journal://"):] if url.startswith("journal://") else url)


class FlockLock:
    """A ``JournalFileBackend`` lock on ``fcntl.flock``: blocking, no polling, released by the
    kernel when the holder exits or is killed (Optuna's own locks leave a lock file behind
    and make the next writer wait out a 30 s grace period)."""

    def __init__(self, path: str) -> None:
        self._path = path + ".flock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


@dataclass(frozen=True)
class StorageOptions:
    """Heartbeats and retries (RDB storages) and the journal file's durability."""

    interval: int = 5           # heartbeat interval, seconds
    grace_period: int = 20      # a trial silent this long is failed (and retried)
    max_retry: int = 3
    journal_fsync: bool = False  # fsync each append (survives power loss; ~7 ms per append)
    pg_synchronous_commit: bool = False  # PostgreSQL: wait for the WAL flush at each commit


def _journal_storage(path: Path, fsync: bool = False) -> Any:
    import json

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.storages.journal._file import BaseJournalFileLock

    class Backend(JournalFileBackend):
        """Optuna's file backend; without ``fsync`` an append is flushed to the OS (safe
        when a process dies, ~0.1 ms) instead of to the disk (safe on power loss, ~7 ms)."""

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            if fsync:
                return super().append_logs(logs)
            text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            self._lock.acquire()
            try:
                with open(self._file_path, "ab") as f:
                    f.write(text.encode("utf-8"))
            finally:
                self._lock.release()

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_cls = type("FlockJournalLock", (FlockLock, BaseJournalFileLock), {})
    return JournalStorage(Backend(str(path), lock_obj=lock_cls(str(path))))


def _engine_url(url: str) -> str:
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


def open_storage(url: str, *, heartbeat: StorageOptions | None = None,
                 create_tables: bool = False, _locked: bool = False,
                 worker: bool = False) -> Any:
    """An Optuna storage for ``url``. ``heartbeat`` turns heartbeats and the retry of stale
    trials on (RDB storages). Workers pass ``create_tables=False`` (the default): the schema
    was made by :func:`create_study`. ``worker``: the storage a worker's trial loop uses
    (on ``postgresql+journal://`` its reads skip the server when nobody else wrote)."""
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    url = resolve_storage_url(url)
    kind = storage_kind(url)
    if kind == "journal":
        return _journal_storage(journal_path(url), fsync=bool(heartbeat and heartbeat.journal_fsync))
    if kind == "pg_journal":
        import psycopg2

        from research_lab.core.optimize.pg_journal import journal_storage

        try:
            return journal_storage(url, (heartbeat or StorageOptions()).pg_synchronous_commit,
                                   quiet_reads=worker)
        except psycopg2.OperationalError as exc:
            first = (str(exc).strip().splitlines() or ["connection failed"])[0]
            raise StorageError(f"cannot open {mask(url)}: {first}") from None
    kwargs: dict[str, Any] = {}
    if heartbeat is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            kwargs = dict(
                heartbeat_interval=heartbeat.interval, grace_period=heartbeat.grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                    max_retry=heartbeat.max_retry),
            )
    engine_kwargs: dict[str, Any] = {}
    if kind == "postgresql":
        engine_kwargs["pool_pre_ping"] = True
        if not (heartbeat or StorageOptions()).pg_synchronous_commit:
            engine_kwargs["connect_args"] = {"options": "-c synchronous_commit=off"}
    # RDBStorage's constructor creates alembic's version table even with
    # skip_table_creation: on PostgreSQL every constructor runs under the advisory lock
    lock = _advisory_lock(url) if not _locked else contextlib.nullcontext()
    with lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RDBStorage(_engine_url(url), engine_kwargs=engine_kwargs,
                          skip_table_creation=not create_tables, **kwargs)


def _advisory_lock(url: str):
    """A context manager holding a PostgreSQL advisory lock (a no-op elsewhere)."""
    if storage_kind(url) != "postgresql":
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def held():
        import sqlalchemy as sa

        engine = sa.create_engine(_engine_url(url), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
        finally:
            engine.dispose()
    return held()


def create_study(url: str, study_name: str, directions: list[str],
                 user_attrs: Mapping[str, Any] | None = None) -> tuple[Any, bool]:
    """Create the storage schema and the study once (idempotent); returns (storage, created).
    An existing study keeps its attributes; its directions must match."""
    import optuna

    url = resolve_storage_url(url)
    with _advisory_lock(url):
        storage = open_storage(url, create_tables=True, _locked=True)
        try:
            study_id = storage.get_study_id_from_name(study_name)
            created = False
        except KeyError:
            study_id = None
        if study_id is None:
            from optuna.study import StudyDirection

            dirs = [StudyDirection.MAXIMIZE if d == "maximize" else StudyDirection.MINIMIZE
                    for d in directions]
            try:
                study_id = storage.create_new_study(dirs, study_name)
                created = True
            except optuna.exceptions.DuplicatedStudyError:
                study_id, created = storage.get_study_id_from_name(study_name), False
            if created:
                for key, value in dict(user_attrs or {}).items():
                    storage.set_study_user_attr(study_id, key, value)
        existing = [d.name.lower() for d in storage.get_study_directions(study_id)]
        if existing != list(directions):
            raise StorageError(
                f"study {study_name!r} exists with direction(s) {existing}; this run asks for "
                f"{list(directions)}: choose another study name")
    return storage, created


def load_study(url: str, study_name: str, *, sampler: Any = None, pruner: Any = None,
               heartbeat: StorageOptions | None = None, worker: bool = False) -> Any:
    """Join an existing study by name (``load_if_exists`` semantics without creating);
    ``worker``: see :func:`open_storage`."""
    import optuna

    try:
        storage = open_storage(url, heartbeat=heartbeat, worker=worker)
        return optuna.load_study(study_name=study_name, storage=storage, sampler=sampler,
                                 pruner=pruner)
    except KeyError:
        raise StorageError(
            f"no study named {study_name!r} in {mask(resolve_storage_url(url))}; create it first "
            "(research-lab optimize ... creates it before starting workers)") from None
    except Exception as exc:  # an empty database: no tables yet
        text = f"{exc} {exc.__cause__}"
        if "does not exist" in text or "no such table" in text or "UndefinedTable" in text:
            raise StorageError(
                f"{mask(resolve_storage_url(url))} holds no Optuna schema yet; create the study "
                "first (research-lab optimize ...), then start workers") from None
        raise


def list_studies(url: str) -> list[str]:
    """The study names of ``url``; none for a database without Optuna's tables yet.
    A server that cannot be reached is a :class:`StorageError`, never an empty list."""
    import optuna

    try:
        return [s.study_name for s in optuna.get_all_study_summaries(open_storage(url))]
    except StorageError:
        raise
    except Exception as exc:  # noqa: BLE001 - sorted below: empty database or unusable storage
        chain, cause = [], exc
        while cause is not None and len(chain) < 5:  # Optuna wraps the driver's error
            chain.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        text = " | ".join(chain)
        if "no such table" in text or ('relation "' in text and "does not exist" in text):
            return []  # a database no study was ever created in has no studies
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StorageError(f"cannot read the studies of {mask(url)}: {first[:200]}") from None


# -- workers and dead trials -------------------------------------------------------------------

def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def worker_id(pid: int | None = None) -> str:
    """``host:pid:start`` of this process (the start time tells a reused pid apart)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def worker_alive(worker: str) -> bool | None:
    """True/False for a worker on this host; None when it ran on another host."""
    try:
        host, pid, start = worker.rsplit(":", 2)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    ticks = _start_ticks(int(pid))
    return ticks is not None and (start == "?" or ticks == start)


def fail_dead_local_trials(study: Any, max_retry: int = 3) -> list[int]:
    """Fail the RUNNING trials whose worker process on this host is gone, and enqueue their
    retry; returns the failed trial numbers (journal storage's stand-in for heartbeats)."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    import warnings

    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get(WORKER_ATTR)
        if worker is None or worker_alive(worker) is not False:
            continue
        try:
            if not study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        failed.append(trial.number)
        retry(study, study._storage.get_trial(trial._trial_id))
    return failed


def fail_stale_trials(study: Any, max_retry: int = 3) -> list[int]:
    """Fail (and enqueue the retry of) trials whose worker died: heartbeats on RDB storages,
    process liveness on the journal file. Returns the failed trial numbers."""
    import warnings

    import optuna
    from optuna.storages._heartbeat import is_heartbeat_enabled
    from optuna.trial import TrialState

    if is_heartbeat_enabled(study._storage):
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        after = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))}
        return sorted(after - before)
    return fail_dead_local_trials(study, max_retry)
