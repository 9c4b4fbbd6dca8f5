"""Where a use case logs its run in MLflow, and what came of it.

The adapter builds a :class:`Tracking` (the tracker it owns, the experiment's first parts and
how to tag the run's lineage); the use case names the experiment's last parts, logs, waits and
returns a :class:`Tracked` for the adapter to show. Tracking never fails a use case: a run the
server cannot take waits in the outbox and :attr:`Tracked.error` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tracking:
    """``tracker``: an ``ExperimentTracker``, or a zero-argument callable making one when the
    first run is logged (so that a refused use case creates no tracking store); experiments are
    named
    ``{project}.{asset_class}.{family}.{name}`` (the use case gives ``family`` and ``name``
    when they are its own, e.g. ``ReinforcementLearning.PPO``); ``lineage(data_version=...,
    seed=...)`` returns the run's ``Lineage`` tags (a Dagster run id, a partition key)."""

    tracker: Any
    project: str = "Default"
    asset_class: str = "Equities"
    strategy_family: str = "General"
    lineage: Callable[..., Any] | None = None
    _made: list = field(default_factory=list, init=False, repr=False, compare=False)

    def client(self) -> Any:
        """The tracker (made now if a factory was given)."""
        if hasattr(self.tracker, "log_run"):
            return self.tracker
        if not self._made:
            self._made.append(self.tracker())
        return self._made[0]

    def experiment(self, name: str, family: str | None = None) -> Any:
        """The validated experiment name (``ValueError`` naming the bad part)."""
        from research_lab.core.tracking.naming import ExperimentName

        return ExperimentName(self.project, self.asset_class, family or self.strategy_family, name)

    def lineage_of(self, data_version: str | None, seed: int | None = None) -> Any:
        if self.lineage is not None:
            return self.lineage(data_version=data_version, seed=seed)
        from research_lab.core.tracking.tags import Lineage

        return Lineage(data_version=data_version, seed=seed)


@dataclass(frozen=True)
class Tracked:
    """The MLflow run of a use case: its experiment, its id (None: waiting in the outbox)."""

    experiment: str
    run_id: str | None
    error: str | None = None

    def label(self) -> str:
        return self.run_id or "pending (outbox)"


def finish(ticket: Any, experiment: Any) -> Tracked:
    """Wait for ``ticket`` and describe the outcome."""
    run_id = ticket.wait()
    return Tracked(str(experiment), run_id or None, None if run_id else str(ticket.error))
