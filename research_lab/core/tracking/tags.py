"""Run tags: where a run belongs, its status, and the lineage that makes it reproducible.

Every run carries:

=========================== ===================================================================
``project``, ``asset_class``,  the four parts of the experiment name (:mod:`.naming`)
``strategy_family``,
``strategy``
``team``                    who owns it (``RESEARCH_LAB_TEAM``, default ``research``)
``status``                  ``research`` | ``testing`` | ``production`` | ``archived``
``kind``                    ``backtest`` | ``study`` (a parent run) | ``trial`` (a child run)
                            | ``policy`` — what logged it
``dagster.run_id``          the Dagster run that produced it (when there is one)
``dagster.partition_key``   its partition key (when partitioned)
``code_version``            git sha (``-dirty`` when the tree has changes), else the package
                            version; ``RESEARCH_LAB_CODE_VERSION`` overrides
``data_version``            hash of the bars used (``marketdata.schema.data_version``)
``seed``                    the random seed
``research_lab.run_key``    a client-generated key, unique per logical run: outbox replay looks
                            it up so that a run is never created twice
=========================== ===================================================================

Status transitions (anything else raises :class:`StatusError`)::

    research   -> testing | archived
    testing    -> production | research | archived
    production -> testing | archived
    archived   -> research   (restores the run, which archiving had deleted in MLflow)
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

from research_lab.core.environment import read_environment

STATUSES = ("research", "testing", "production", "archived")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "research": ("testing", "archived"),
    "testing": ("production", "research", "archived"),
    "production": ("testing", "archived"),
    "archived": ("research",),
}
KINDS = ("backtest", "study", "trial", "policy")

TEAM = "team"
STATUS = "status"
KIND = "kind"
DAGSTER_RUN_ID = "dagster.run_id"
PARTITION_KEY = "dagster.partition_key"
CODE_VERSION = "code_version"
DATA_VERSION = "data_version"
SEED = "seed"
RUN_KEY = "research_lab.run_key"
PARENT_RUN_ID = "mlflow.parentRunId"  # MLflow's own tag: the UI nests children under it
RUN_NAME = "mlflow.runName"
GIT_COMMIT = "mlflow.source.git.commit"
DEFAULT_TEAM = "research"


class StatusError(ValueError):
    """An unknown status or a transition the lifecycle does not allow."""


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise StatusError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return status


def check_transition(current: str | None, new: str) -> None:
    """Raise :class:`StatusError` unless ``current -> new`` is allowed (``None`` = research)."""
    check_status(new)
    current = current or "research"
    if current == new:
        return
    allowed = TRANSITIONS.get(current)
    if allowed is None:
        raise StatusError(f"current status {current!r} is not one of {', '.join(STATUSES)}")
    if new not in allowed:
        options = ", ".join(allowed)
        raise StatusError(f"status cannot go from {current!r} to {new!r}; allowed: {options}")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The code's version: ``RESEARCH_LAB_CODE_VERSION``, else the git sha of the source tree
    (``-dirty`` if it has uncommitted changes), else ``research_lab==<package version>``."""
    given = read_environment().code_version
    if given:
        return given
    root = Path(__file__).resolve().parents[3]
    if (root / ".git").exists():
        try:
            sha = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()
            if sha:
                return sha + ("-dirty" if dirty else "")
        except (OSError, subprocess.SubprocessError):
            pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"research_lab=={version('research_lab')}"
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Lineage:
    """What a run was made from. Fields left ``None`` are not tagged (``code_version`` is
    filled in by the tracker when left ``None``)."""

    dagster_run_id: str | None = None
    partition_key: str | None = None
    code_version: str | None = None
    data_version: str | None = None
    seed: int | None = None

    def tags(self) -> dict[str, str]:
        pairs = {
            DAGSTER_RUN_ID: self.dagster_run_id,
            PARTITION_KEY: self.partition_key,
            CODE_VERSION: self.code_version,
            DATA_VERSION: self.data_version,
            SEED: None if self.seed is None else str(self.seed),
        }
        out = {k: str(v) for k, v in pairs.items() if v is not None}
        sha = (self.code_version or "").removesuffix("-dirty")
        if len(sha) == 40 and all(c in "0123456789abcdef" for c in sha):
            out[GIT_COMMIT] = sha
        return out
