"""``TrackingResource``: the experiment tracker for assets, ops and sensors.

::

    @dg.asset
    def backtest_results(context, tracking: TrackingResource, ...):
        tracker = tracking.get_tracker()
        ticket = log_backtest(tracker, name, result, lineage=tracking.lineage(context, ...))

Fields left unset resolve at run time (never at import time): the URI from
``RESEARCH_LAB_MLFLOW_URI`` / ``MLFLOW_TRACKING_URI``, else the embedded SQLite store under
``RESEARCH_LAB_HOME``. Bind a field to ``dg.EnvVar("...")`` to read a secret from the
environment of the process that runs, e.g.
``TrackingResource(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
password=dg.EnvVar("MLFLOW_TRACKING_PASSWORD"))``.

The tracker is made once per run (or sensor tick) and closed after it
(``teardown_after_execution``), which flushes what it logged in the background: a step ends
with every run written to MLflow or safe in the outbox.

Why not dagster-mlflow's ``mlflow_tracking``: it is a legacy ``@resource`` with a
``config_schema`` (no ``ConfigurableResource``, no ``EnvVar`` fields), it imports mlflow when
the module is imported (the code location would load mlflow at start), it opens one MLflow run
per Dagster run through mlflow's global "active run" state (not thread-safe; a backtest asset
logs one run per strategy × symbol, a study one parent and many children), and it has no
retry or outbox. Its one idea worth keeping, tagging runs with the Dagster run id, is in
:class:`~research_lab.core.tracking.tags.Lineage`.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import dagster as dg
from pydantic import Field, PrivateAttr

CREDENTIAL_VARS = {
    "username": "MLFLOW_TRACKING_USERNAME",
    "password": "MLFLOW_TRACKING_PASSWORD",
    "token": "MLFLOW_TRACKING_TOKEN",
}


class TrackingResource(dg.ConfigurableResource):
    """MLflow tracking: an :class:`~research_lab.core.tracking.ExperimentTracker` per run."""

    tracking_uri: Optional[str] = Field(
        default=None,
        description="http(s)://server:5000, sqlite:///path.db or postgresql://... Unset: "
        "RESEARCH_LAB_MLFLOW_URI, MLFLOW_TRACKING_URI, else embedded SQLite under "
        "RESEARCH_LAB_HOME.",
    )
    username: Optional[str] = Field(default=None, description="Server user (basic auth); "
                                    "bind to EnvVar('MLFLOW_TRACKING_USERNAME').")
    password: Optional[str] = Field(default=None, description="Server password; bind to "
                                    "EnvVar('MLFLOW_TRACKING_PASSWORD').")
    token: Optional[str] = Field(default=None, description="Server bearer token; bind to "
                                 "EnvVar('MLFLOW_TRACKING_TOKEN').")
    outbox_dir: Optional[str] = Field(default=None, description="Outbox folder. Unset: "
                                      "RESEARCH_LAB_MLFLOW_OUTBOX, else "
                                      "$RESEARCH_LAB_HOME/mlflow/outbox.")
    team: Optional[str] = Field(default=None, description="The runs' team tag. Unset: "
                                "RESEARCH_LAB_TEAM, else 'research'.")
    background: bool = Field(default=True, description="Write in a background thread "
                             "(flushed when the step ends).")
    close_timeout: float = Field(default=60.0, description="Seconds to wait at the end of a "
                                 "step for background writes before outboxing the rest.")
    _tracker: Any = PrivateAttr(default=None)

    def _export_credentials(self) -> None:
        # MLflow reads credentials only from these environment variables
        for field, var in CREDENTIAL_VARS.items():
            value = getattr(self, field)
            if value:
                os.environ[var] = value

    def target(self):
        from research_lab.core.tracking.config import resolve_target

        return resolve_target(self.tracking_uri, outbox_dir=self.outbox_dir, team=self.team)

    def get_tracker(self):
        """The run's tracker (made on first use, closed when the step ends)."""
        if self._tracker is None:
            from research_lab.core.tracking.tracker import ExperimentTracker

            self._export_credentials()
            self._tracker = ExperimentTracker(
                self.tracking_uri, outbox_dir=self.outbox_dir, team=self.team,
                background=self.background, close_timeout=self.close_timeout,
            )
        return self._tracker

    def lineage(self, context, *, data_version: str | None = None, seed: int | None = None):
        """Lineage tags for runs logged from ``context``: Dagster run id, partition key
        (the key, or ``first...last`` for a range run), data version, seed."""
        from research_lab.core.tracking.tags import Lineage

        partition = None
        if getattr(context, "has_partition_key", False):
            partition = context.partition_key
        elif getattr(context, "has_partition_key_range", False):
            rng = context.partition_key_range
            partition = f"{rng.start}...{rng.end}"
        return Lineage(dagster_run_id=context.run.run_id, partition_key=partition,
                       data_version=data_version, seed=seed)

    def pending(self) -> int:
        """Runs waiting in the outbox (cheap: counts files, imports no mlflow)."""
        from research_lab.core.tracking.outbox import Outbox

        return len(Outbox(self.target().outbox_dir).entries())

    def reachable(self) -> bool:
        """Whether the tracking server answers ``/health`` (a database URI: always True)."""
        target = self.target()
        if not target.is_server:
            return True
        from research_lab.core.tracking.server import is_healthy

        return is_healthy(target.uri, timeout=3.0)

    def replay(self, limit: int | None = None):
        """Write the outbox's pending runs (see ``ExperimentTracker.replay_outbox``)."""
        from research_lab.core.tracking.tracker import ExperimentTracker

        self._export_credentials()
        tracker = ExperimentTracker(self.tracking_uri, outbox_dir=self.outbox_dir,
                                    team=self.team, background=False)
        try:
            return tracker.replay_outbox(limit=limit)
        finally:
            tracker.close()

    def teardown_after_execution(self, context) -> None:
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None
