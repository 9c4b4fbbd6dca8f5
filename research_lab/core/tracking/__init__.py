"""Experiment tracking with MLflow: one place where every backtest, study and policy can be
found, compared and traced back to its data and code.

Quick start::

    from research_lab.core.tracking import ExperimentTracker, Lineage, Scope, open_client
    from research_lab.core.tracking import queries

    with ExperimentTracker() as tracker:     # URI from RESEARCH_LAB_MLFLOW_URI /
        tracker.log_run(                      # MLFLOW_TRACKING_URI, else embedded SQLite
            "Q1_2025.Equities.MeanReversion.SMACrossover", "ACME 10/30",
            params={"fast": 10, "slow": 30}, metrics={"sharpe": 1.31},
            artifacts={"result.json": "out/result.json"},
            lineage=Lineage(data_version="9f2c6e0a1b3d4c5e", seed=7),
        )

    client = open_client()
    queries.leaderboard(client, Scope("Q1_2025", "Equities"), "sharpe", top=10)

How the pieces fit

* :mod:`.naming` — ``{Project}.{AssetClass}.{StrategyFamily}.{Strategy}`` experiment names and
  query scopes, validated with errors that name the bad part.
* :mod:`.tags` — the tags on every run (hierarchy, team, status, kind, lineage: Dagster run id,
  partition key, code version, data version, seed) and the status lifecycle.
* :mod:`.records` — a run as plain, validated, JSON-able data.
* :mod:`.tracker` — :class:`ExperimentTracker`: journal, background writes, retries, outbox,
  flush at exit; parent/child runs for studies.
* :mod:`.tickets` — :class:`RunTicket` (what ``log_run`` returns), :class:`ReplayReport`.
* :mod:`.writer` — the MLflow calls (batched, idempotent by run key).
* :mod:`.outbox` / :mod:`.retry` / :mod:`.replay` — what makes "nothing is lost" true.
* :mod:`.queries` / :mod:`.lifecycle` — leaderboards, comparisons, finding runs; status changes,
  archiving, artifact clean-up.
* :mod:`.migrate` — the indexes MLflow's schema lacks for fast searches at scale.
* :mod:`.server` — start and stop a local ``mlflow server``.
* :mod:`.backtest` — log a backtest result (params, metrics, equity/trades/orders, JSON).

``mlflow`` is imported only inside the functions that talk to it: importing this package is
cheap.
"""

from __future__ import annotations

from research_lab.core.tracking.config import TrackingTarget, resolve_target
from research_lab.core.tracking.naming import ExperimentName, NamingError, Scope
from research_lab.core.tracking.outbox import Outbox
from research_lab.core.tracking.queries import RunRow, open_client
from research_lab.core.tracking.records import RunRecord
from research_lab.core.tracking.retry import Backoff
from research_lab.core.tracking.tags import (
    STATUSES, TRANSITIONS, Lineage, StatusError, check_transition, code_version,
)
from research_lab.core.tracking.tickets import ReplayReport, RunTicket
from research_lab.core.tracking.tracker import ExperimentTracker

__all__ = [
    "STATUSES",
    "TRANSITIONS",
    "Backoff",
    "ExperimentName",
    "ExperimentTracker",
    "Lineage",
    "NamingError",
    "Outbox",
    "ReplayReport",
    "RunRecord",
    "RunRow",
    "RunTicket",
    "Scope",
    "StatusError",
    "TrackingTarget",
    "check_transition",
    "code_version",
    "open_client",
    "resolve_target",
]
