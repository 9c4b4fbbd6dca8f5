"""Helpers shared by the tracking tests (core and defs).

An MLflow SQLite database takes 4-9 s to create (MLflow runs its ~60 Alembic migrations); a copy
of an empty one takes milliseconds. :func:`embedded_home` therefore builds one template per test
session (shared by the xdist workers through a lock file) and copies it into each test's home.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # before any mlflow import
TRACKING_VARS = ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI", "RESEARCH_LAB_MLFLOW_OUTBOX",
                 "RESEARCH_LAB_MLFLOW_ARTIFACTS", "RESEARCH_LAB_TEAM", "RESEARCH_LAB_CONFIG")


def template_db(base: Path) -> Path:
    """An empty, migrated MLflow SQLite file under ``base`` (made once, under a lock)."""
    import mlflow

    path = base / f"mlflow-template-{mlflow.__version__}.db"
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "mlflow-template.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not path.exists():
            from mlflow.tracking import MlflowClient

            tmp = path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            MlflowClient(f"sqlite:///{tmp}").search_experiments()
            os.replace(tmp, path)
    return path


def embedded_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> Path:
    """``RESEARCH_LAB_HOME`` = ``tmp_path`` with a ready embedded MLflow store."""
    for var in TRACKING_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.setenv("RESEARCH_LAB_CODE_VERSION", "test-sha")
    (tmp_path / "mlflow").mkdir(exist_ok=True)
    shutil.copyfile(template, tmp_path / "mlflow" / "mlflow.db")
    return tmp_path
