"""Changing things: create experiments by convention, move runs through their status, archive
old or weak runs, and free the disk space of archived runs.

* :func:`create_experiment` makes ``{Project}.{AssetClass}.{StrategyFamily}.{Strategy}`` with its
  part tags (idempotent: an existing one is returned, a deleted one restored).
* :func:`set_status` checks the transition (:data:`.tags.TRANSITIONS`) and sets the ``status``
  tag; moving to ``archived`` also deletes the run in MLflow (lifecycle ``deleted``: hidden from
  searches and the UI, still restorable), and moving an archived run back to ``research``
  restores it.
* :func:`archive_runs` archives the runs of a scope that started before a date and/or whose
  metric is below a threshold. Runs in ``production`` are skipped unless asked for.
* :func:`cleanup_artifacts` deletes the artifact files of archived runs (the run's params,
  metrics and tags stay, so leaderboards of the past still explain themselves). Permanent
  removal of the runs themselves is MLflow's ``mlflow gc``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from research_lab.core.tracking import tags as T
from research_lab.core.tracking.config import TrackingTarget
from research_lab.core.tracking.naming import ExperimentName, Scope
from research_lab.core.tracking.queries import RunRow, filter_string, iter_runs


def create_experiment(target: TrackingTarget, name: ExperimentName | str,
                      client=None) -> str:
    """The id of the experiment ``name`` (created by convention if missing)."""
    from research_lab.core.tracking.writer import MlflowWriter

    return MlflowWriter(target, client).experiment_id(str(ExperimentName.coerce(name)))


def set_status(client, run_id: str, new: str) -> tuple[str, str]:
    """Move one run to status ``new``; returns ``(old, new)``. Raises ``StatusError`` for a
    transition the lifecycle does not allow."""
    run = client.get_run(run_id)
    old = run.data.tags.get(T.STATUS, "research")
    if run.info.lifecycle_stage == "deleted" and old != "archived":
        old = "archived"  # deleted by hand in MLflow: treat as archived
    T.check_transition(old, new)
    if old == new:
        return old, new
    if old == "archived":
        client.restore_run(run_id)
    client.set_tag(run_id, T.STATUS, new)
    if new == "archived":
        client.delete_run(run_id)
    return old, new


@dataclass(frozen=True)
class ArchiveRule:
    """Which runs to archive: started before ``before`` and/or ``metric`` below ``below``
    (both given: both must hold)."""

    before: date | None = None
    metric: str | None = None
    below: float | None = None
    include_production: bool = False

    def __post_init__(self) -> None:
        if self.before is None and self.metric is None:
            raise ValueError("give --before DATE and/or --below METRIC=VALUE to choose runs")
        if (self.metric is None) != (self.below is None):
            raise ValueError("a metric threshold needs both the metric name and the value")

    def filter_string(self) -> str:
        clauses = []
        if self.before is not None:
            ms = int(datetime.combine(self.before, time(), timezone.utc).timestamp() * 1000)
            clauses.append(f"attributes.start_time < {ms}")
        if self.metric is not None:
            clauses.append(f"metrics.`{self.metric}` < {float(self.below)!r}")
        return " AND ".join(clauses)


def archive_runs(client, scope: Scope, rule: ArchiveRule, *, dry_run: bool = False
                 ) -> list[RunRow]:
    """Archive the runs of ``scope`` that ``rule`` selects; returns them (``dry_run``: only
    list them)."""
    chosen = [
        row for row in iter_runs(client, scope, filter_string(extra=rule.filter_string()),
                                 ["attributes.start_time ASC"])
        if rule.include_production or row.status != "production"
    ]
    if not dry_run:
        for row in chosen:
            set_status(client, row.run_id, "archived")
    return chosen


@dataclass(frozen=True)
class Cleaned:
    run_id: str
    experiment: str
    files: int


def _count_files(repo, path: str | None = None) -> int:
    total = 0
    for info in repo.list_artifacts(path):
        total += _count_files(repo, info.path) if info.is_dir else 1
    return total


def cleanup_artifacts(client, scope: Scope, *, dry_run: bool = False,
                      tags: Mapping[str, str] | None = None) -> list[Cleaned]:
    """Delete the artifact files of archived runs in ``scope``; returns the runs that had
    files (a second call finds none: idempotent)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    wanted = {T.STATUS: "archived", **(tags or {})}
    out = []
    for row in iter_runs(client, scope, filter_string(tags=wanted), only_archived=True):
        run = client.get_run(row.run_id)
        repo = get_artifact_repository(run.info.artifact_uri,
                                       tracking_uri=client.tracking_uri)
        files = _count_files(repo)
        if not files:
            continue
        if not dry_run:
            repo.delete_artifacts()
        out.append(Cleaned(row.run_id, row.experiment, files))
    return out
