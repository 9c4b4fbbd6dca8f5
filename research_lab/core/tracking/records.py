"""The unit of tracking: a :class:`RunRecord`, plain data that can wait on disk.

A record is everything one MLflow run needs (experiment, name, params, metrics, tags, artifact
files, parent) plus a client-generated ``key``. It is validated when it is made, so that a bad
input fails in the caller with an error naming the parameter, metric, tag or file, instead of
failing later in a background thread or on replay. It round-trips through JSON
(:meth:`RunRecord.to_json` / :meth:`RunRecord.from_json`), which is how the outbox stores it.

A run logged in one go is one record with ``finished=True``. A study's parent run is two
records with the same key: one when it starts (``finished=False``), one when it finishes (its
summary metrics and artifacts, ``finished=True``); writing either is idempotent.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from research_lab.core.tracking.naming import ExperimentName

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
_KEY_RE = re.compile(r"^[/\w.\- :]+$")
_counter = iter(range(1 << 62))


def new_key() -> str:
    """A fresh run key (32 hex characters)."""
    return uuid.uuid4().hex


def next_seq() -> int:
    """A sequence number that orders records made in this process (and roughly across)."""
    return time.time_ns() * 100 + next(_counter) % 100


def now_ms() -> int:
    return int(time.time() * 1000)


def _check_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{kind} name must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY:
        raise ValueError(f"{kind} name {key[:40]!r}... is longer than {MAX_KEY} characters")
    norm = posixpath.normpath(key)
    if not _KEY_RE.match(key) or norm != key or norm.startswith(("/", "..")):
        raise ValueError(
            f"{kind} name {key!r} may only hold letters, digits, '_', '-', '.', ' ', ':' and '/' "
            "(no leading '/', no '..')"
        )
    return key


def clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        _check_key("parameter", key)
        text = value if isinstance(value, str) else json.dumps(value) if isinstance(
            value, (list, tuple, dict)) else str(value)
        if len(text) > MAX_PARAM_VALUE:
            raise ValueError(
                f"parameter {key!r} value is {len(text)} characters; MLflow keeps at most "
                f"{MAX_PARAM_VALUE} (log it as an artifact instead)"
            )
        out[key] = text
    return out


def clean_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        _check_key("metric", key)
        if value is None:
            continue  # a metric that could not be computed is left out, not logged as 0
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"metric {key!r} must be a number, got {value!r}") from None
        out[key] = number
    return out


def clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        _check_key("tag", key)
        if value is None:
            continue
        text = str(value)
        if len(text) > MAX_TAG_VALUE:
            raise ValueError(f"tag {key!r} value is longer than {MAX_TAG_VALUE} characters")
        out[key] = text
    return out


def clean_artifacts(artifacts: Mapping[str, str | os.PathLike] | None) -> dict[str, str]:
    """Artifact name (its path inside the run, e.g. ``plots/equity.png``) -> absolute local
    path of an existing file or folder."""
    out: dict[str, str] = {}
    for name, path in (artifacts or {}).items():
        _check_key("artifact", name)
        local = Path(path).expanduser()
        if not local.exists():
            raise ValueError(f"artifact {name!r}: file {local} does not exist")
        out[name] = str(local.resolve())
    return out


@dataclass(frozen=True)
class RunRecord:
    """One MLflow run (or one half of a parent run), ready to write or to wait in the outbox."""

    key: str
    experiment: str
    run_name: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    parent_key: str | None = None
    start_time: int = field(default_factory=now_ms)
    end_time: int | None = None
    finished: bool = True
    status: str = "FINISHED"
    seq: int = field(default_factory=next_seq)
    attempts: int = 0
    last_error: str | None = None
    origin: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        ExperimentName.parse(self.experiment)
        if self.status not in RUN_STATUSES:
            raise ValueError(f"run status {self.status!r} is not one of {', '.join(RUN_STATUSES)}")

    @property
    def metric_timestamp(self) -> int:
        """Every metric of the record is logged at this instant (step 0), so that writing the
        same record twice inserts nothing new."""
        return self.end_time or self.start_time

    def with_attempt(self, error: str | None) -> RunRecord:
        return replace(self, attempts=self.attempts + 1, last_error=error)

    def to_json(self) -> str:
        data = asdict(self)
        data["metrics"] = {k: (None if math.isnan(v) else v) for k, v in self.metrics.items()}
        data["version"] = 1
        return json.dumps(data, allow_nan=True, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        data = json.loads(text)
        data.pop("version", None)
        data["metrics"] = {k: (math.nan if v is None else float(v)) for k, v in data["metrics"].items()}
        return cls(**data)
