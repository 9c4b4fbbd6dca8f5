"""Retries with exponential backoff, for the errors that may go away by themselves.

:func:`is_transient` sorts MLflow's failures: a server that does not answer, times out, or says
500/502/503/504/429 (``INTERNAL_ERROR``, ``TEMPORARILY_UNAVAILABLE``,
``REQUEST_LIMIT_EXCEEDED``), and database errors of an embedded store (locked SQLite file,
dropped PostgreSQL connection) are transient; a rejected value (``INVALID_PARAMETER_VALUE``,
``BAD_REQUEST``, ...) is not, and retrying it would only waste time. Either way a record that
cannot be written goes to the outbox; only the transient ones are retried first.

The tracker turns off MLflow's own HTTP retries (``MLFLOW_HTTP_REQUEST_MAX_RETRIES=0`` unless
you set it): those wait up to ~4 minutes on a dead server, and this module's short backoff
followed by the outbox is what keeps a backtest from waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

TRANSIENT_CODES = {
    "INTERNAL_ERROR",
    "TEMPORARILY_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED",
    "DEADLINE_EXCEEDED",
    "ABORTED",
    "SERVICE_UNDER_MAINTENANCE",
}


def is_transient(exc: BaseException) -> bool:
    """True if trying again later might succeed."""
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError)):
        return False
    if isinstance(exc, OSError):  # connection refused/reset, timeouts, a full disk
        return True
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith(("requests", "urllib3")):
        return True
    if module.startswith("sqlalchemy") and name in ("OperationalError", "InterfaceError",
                                                     "DisconnectionError", "TimeoutError"):
        return True
    code = getattr(exc, "error_code", None)
    if code is not None:
        return str(code) in TRANSIENT_CODES
    return False


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries in all, waiting ``base * 2**i`` (at most ``cap``) seconds, ±25%."""

    attempts: int = 3
    base: float = 0.5
    cap: float = 8.0

    def delays(self) -> list[float]:
        return [min(self.cap, self.base * 2**i) * random.uniform(0.75, 1.25)
                for i in range(max(0, self.attempts - 1))]


def retry_call(
    fn: Callable[[], T],
    backoff: Backoff = Backoff(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    """``fn()``, retried after transient errors; the last error (or a permanent one) is raised."""
    delays = backoff.delays()
    for attempt in range(len(delays) + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            if attempt == len(delays) or not is_transient(exc):
                raise
            if on_retry is not None:
                on_retry(attempt + 1, exc)
            sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
