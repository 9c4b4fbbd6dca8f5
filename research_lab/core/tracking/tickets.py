"""What logging hands back: a :class:`RunTicket` per run, a :class:`ReplayReport` per replay."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


class RunTicket:
    """A logged run: its key at once, its MLflow run id once written (see :meth:`wait`)."""

    def __init__(self, key: str, experiment: str) -> None:
        self.key = key
        self.experiment = experiment
        self.run_id: str | None = None
        self.error: str | None = None
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def outboxed(self) -> bool:
        """True when the run could not be written and waits in the outbox."""
        return self.done and self.run_id is None

    def wait(self, timeout: float | None = None) -> str | None:
        """The run id once written; ``None`` if it went to the outbox (or on timeout)."""
        self._done.wait(timeout)
        return self.run_id

    def _resolve(self, run_id: str | None, error: str | None = None) -> None:
        self.run_id, self.error = run_id, error
        self._done.set()

    def __repr__(self) -> str:
        state = self.run_id or ("outbox" if self.outboxed else "pending")
        return f"RunTicket({self.experiment}, key={self.key[:8]}, {state})"


@dataclass(frozen=True)
class ReplayReport:
    """What one replay did: ``written`` (run key, run id), ``failed`` (run key, error), and
    how many entries were ``left`` untried because the server went away."""

    written: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    left: int = 0
    busy: bool = False

    def summary(self) -> str:
        if self.busy:
            return "another replay is running; nothing done"
        return f"{len(self.written)} written, {len(self.failed)} failed, {self.left} left"


def short_error(exc: BaseException) -> str:
    """``Type: message``, cut to 500 characters (kept in the outbox entry and the ticket)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."
