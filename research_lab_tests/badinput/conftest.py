"""Fixtures of the bad-input suite: a lab whose every store is in a temporary folder, and a
snapshot of all of it to prove that a refused input wrote nothing.

``lab``: RESEARCH_LAB_HOME with a market-data store holding ACME bars, an initialised MLflow
database, an Optuna journal storage path, an initialised DAGSTER_HOME, a working directory and
a private temporary folder (``TMPDIR``), all under ``tmp_path``; built once per session and
copied per test. ``lab.snapshot()`` reads every file below those folders (SQLite databases
table by table, row by row; other files by content) so that ``lab.assert_unchanged(before)``
names whatever was written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".pyc")
FIRST, LAST = date(2023, 1, 3), date(2023, 12, 29)


def _sqlite_digest(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {}
        for table in sorted(tables):
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
            out[table] = hashlib.sha1("\n".join(rows).encode()).hexdigest()[:12]
        return out
    finally:
        conn.close()


def snapshot_tree(root: Path) -> dict[str, object]:
    """relative path -> content digest (SQLite: per-table digests; folders: 'dir')."""
    out: dict[str, object] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel_dir = Path(dirpath).relative_to(root)
        out[str(rel_dir) + "/"] = "dir"
        for name in filenames:
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / name
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head.startswith(b"SQLite format 3"):
                out[str(rel_dir / name)] = _sqlite_digest(path)
            else:
                out[str(rel_dir / name)] = hashlib.sha1(path.read_bytes()).hexdigest()[:12]
    return out


@dataclass
class Lab:
    root: Path
    home: Path
    dagster_home: Path
    cwd: Path
    tmp: Path
    store_url: str
    mlflow_uri: str
    optuna_storage: str

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {name: snapshot_tree(path) for name, path in
                (("home", self.home), ("dagster_home", self.dagster_home), ("cwd", self.cwd),
                 ("tmp", self.tmp))}

    def assert_unchanged(self, before: dict[str, dict[str, object]]) -> None:
        after = self.snapshot()
        changes = []
        for area, files in after.items():
            old = before[area]
            for key in sorted(set(files) | set(old)):
                if files.get(key) != old.get(key):
                    if isinstance(files.get(key), dict) and isinstance(old.get(key), dict):
                        tables = [t for t in set(files[key]) | set(old[key])
                                  if files[key].get(t) != old[key].get(t)]
                        changes.append(f"{area}/{key} tables {sorted(tables)}")
                    else:
                        changes.append(f"{area}/{key}: {old.get(key)} -> {files.get(key)}")
        assert not changes, "written although refused: " + "; ".join(changes)


def _build_template(root: Path) -> None:
    """Every store initialised, as after a first real use."""
    from research_lab_tests.defs.optimize.conftest import write_bars

    home, dh = root / "home", root / "dagster_home"
    for folder in (home, dh, root / "cwd", root / "tmp"):
        folder.mkdir(parents=True)
    write_bars(f"sqlite:///{home / 'market.db'}", ("ACME",), FIRST, LAST)

    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dh)))
    instance.add_dynamic_partitions("symbol", ["ACME"])
    instance.dispose()

    from mlflow.tracking import MlflowClient

    (home / "mlflow").mkdir()
    client = MlflowClient(f"sqlite:///{home / 'mlflow' / 'mlflow.db'}")
    client.search_experiments()


@pytest.fixture(scope="session")
def lab_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("badinput_template")
    _build_template(root)
    return root


@pytest.fixture
def lab(lab_template, tmp_path, monkeypatch) -> Lab:
    root = tmp_path / "lab"
    shutil.copytree(lab_template, root)
    home = root / "home"
    made = Lab(root=root, home=home, dagster_home=root / "dagster_home", cwd=root / "cwd",
               tmp=root / "tmp", store_url=f"sqlite:///{home / 'market.db'}",
               mlflow_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
               optuna_storage=f"journal:///{home / 'optuna' / 'studies.journal'}")
    for var in list(os.environ):
        if var.startswith("RESEARCH_LAB_") and var not in ("RESEARCH_LAB_TEST_PG_URL",
                                                          "RESEARCH_LAB_SHARED_DATA"):
            monkeypatch.delenv(var)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    env = {"RESEARCH_LAB_HOME": str(home), "RESEARCH_LAB_STORE_URL": made.store_url,
           "RESEARCH_LAB_SOURCE": "synthetic", "RESEARCH_LAB_UNIVERSE": "ACME,GLOBEX",
           "RESEARCH_LAB_MLFLOW_URI": made.mlflow_uri,
           "RESEARCH_LAB_OPTUNA_STORAGE": made.optuna_storage,
           "DAGSTER_HOME": str(made.dagster_home), "TMPDIR": str(made.tmp),
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(tempfile, "tempdir", str(made.tmp))
    monkeypatch.chdir(made.cwd)
    return made


def assert_one_line_error(err: str, expected: str) -> str:
    """The error output is one ``research-lab ...: error:`` line naming the problem."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1, err
    assert expected.lower() in lines[0].lower(), lines[0]
    return lines[0]
