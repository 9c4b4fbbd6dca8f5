"""The outbox: records waiting on disk for MLflow, so that nothing is lost.

Layout under the outbox folder (``$RESEARCH_LAB_HOME/mlflow/outbox`` by default)::

    live/<owner>.lock        held (flock) by a running tracker for its whole life
    live/<owner>/            that tracker's journal: every record it accepted and has not yet
                             written to MLflow, with copies of its artifact files
    pending/                 records that failed (server unreachable, errors) or were left
                             when a tracker stopped: what ``replay`` writes
    replay.lock              held while one replay runs (a second one returns at once)

Each entry is ``<seq>-<key>.json`` plus ``<seq>-<key>.files/`` (the artifacts, named as in
the run). The JSON is written last and atomically (write + rename), so an entry either exists
whole or not at all. A tracker journals a record *before* ``log_run`` returns, so a process that
dies (even by SIGKILL) loses nothing: a later replay finds the dead owner's journal (its lock is
free) and moves it to ``pending/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from research_lab.core.tracking.records import RunRecord

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process locking
    fcntl = None


class OutboxBusy(RuntimeError):
    """Another process is replaying this outbox right now."""


def _try_lock(path: Path):
    """An open, exclusively locked file object, or ``None`` when someone else holds it."""
    handle = open(path, "a+")
    if fcntl is None:
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _copy_into(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        shutil.copyfile(src, dst)


@dataclass(frozen=True)
class Entry:
    """One record on disk: ``path`` is its JSON file."""

    path: Path

    @property
    def files(self) -> Path:
        return self.path.with_suffix(".files")

    def record(self) -> RunRecord:
        """The record, its artifact names mapped to the copies kept in the outbox."""
        rec = RunRecord.from_json(self.path.read_text())
        return replace(rec, artifacts={n: str(self.files / n) for n in rec.artifacts})


def _write_json(path: Path, record: RunRecord) -> None:
    data = json.loads(record.to_json())
    data["artifacts"] = {name: name for name in record.artifacts}  # relative to the .files dir
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)


def _move(entry: Entry, folder: Path) -> Entry:
    target = Entry(folder / entry.path.name)
    if entry.files.exists():
        shutil.rmtree(target.files, ignore_errors=True)
        os.replace(entry.files, target.files)
    os.replace(entry.path, target.path)
    return target


class Outbox:
    """A folder of records waiting for MLflow (see the module docstring)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.pending_dir = self.root / "pending"
        self.live_dir = self.root / "live"

    # -- writing ---------------------------------------------------------------------------
    def _store(self, folder: Path, record: RunRecord) -> Entry:
        folder.mkdir(parents=True, exist_ok=True)
        entry = Entry(folder / f"{record.seq:024d}-{record.key}.json")
        if record.artifacts:
            staging = entry.files.with_name(entry.files.name + ".tmp")
            shutil.rmtree(staging, ignore_errors=True)
            for name, src in record.artifacts.items():
                _copy_into(Path(src), staging / name)
            shutil.rmtree(entry.files, ignore_errors=True)
            os.replace(staging, entry.files)
        _write_json(entry.path, record)
        return entry

    def put(self, record: RunRecord) -> Entry:
        """Store ``record`` (copying its artifact files) in ``pending/``."""
        return self._store(self.pending_dir, record)

    def update(self, entry: Entry, record: RunRecord) -> None:
        """Rewrite an entry's JSON (e.g. its attempt count and last error)."""
        _write_json(entry.path, record)

    def remove(self, entry: Entry) -> None:
        shutil.rmtree(entry.files, ignore_errors=True)
        entry.path.unlink(missing_ok=True)

    def release(self, entry: Entry, record: RunRecord | None = None) -> Entry:
        """Move a journal entry to ``pending/`` (with the updated record, if given)."""
        if not entry.path.exists():
            raise FileNotFoundError(entry.path)
        if record is not None:
            self.update(entry, record)
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        return _move(entry, self.pending_dir)

    # -- reading ---------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Pending entries, oldest first (journals of dead trackers are adopted first)."""
        self.adopt_orphans()
        if not self.pending_dir.exists():
            return []
        return [Entry(p) for p in sorted(self.pending_dir.glob("*.json"))]

    def __len__(self) -> int:
        return len(self.entries())

    def adopt_orphans(self) -> int:
        """Move the journals of trackers that are no longer running to ``pending/``."""
        if not self.live_dir.exists():
            return 0
        moved = 0
        for folder in sorted(p for p in self.live_dir.iterdir() if p.is_dir()):
            lock_path = folder.with_suffix(".lock")
            handle = _try_lock(lock_path) if lock_path.exists() else None
            if lock_path.exists() and handle is None:
                continue  # its owner is alive
            try:
                for path in sorted(folder.glob("*.json")):
                    self.pending_dir.mkdir(parents=True, exist_ok=True)
                    _move(Entry(path), self.pending_dir)
                    moved += 1
                shutil.rmtree(folder, ignore_errors=True)
                lock_path.unlink(missing_ok=True)
            finally:
                if handle is not None:
                    handle.close()
        return moved

    @contextlib.contextmanager
    def replay_lock(self) -> Iterator[None]:
        """Hold the outbox's replay lock; :class:`OutboxBusy` if another replay holds it."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = _try_lock(self.root / "replay.lock")
        if handle is None:
            raise OutboxBusy(f"another process is replaying the outbox {self.root}")
        try:
            yield
        finally:
            handle.close()

    def journal(self) -> Journal:
        """A journal for one live tracker (see :class:`Journal`)."""
        return Journal(self)


class Journal:
    """A live tracker's own folder: records it accepted, locked while the tracker runs."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        outbox.live_dir.mkdir(parents=True, exist_ok=True)
        self._lock = _try_lock(outbox.live_dir / f"{owner}.lock")  # lock first, then the folder
        self.folder = outbox.live_dir / owner
        self.folder.mkdir()

    def add(self, record: RunRecord) -> Entry:
        return self.outbox._store(self.folder, record)

    def close(self) -> None:
        """Move whatever is left to ``pending/`` and drop the folder and the lock."""
        for path in sorted(self.folder.glob("*.json")):
            self.outbox.release(Entry(path))
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._lock is not None:
            (self.outbox.live_dir / f"{self.folder.name}.lock").unlink(missing_ok=True)
            self._lock.close()
            self._lock = None
