"""The HTTP API of the lab: start optimization studies as Dagster runs and follow them.

::

    research-lab optimize serve            # http://127.0.0.1:8765, docs at /docs

    POST /backtests/optimize      {"strategy": "sma_cross", "symbol": "ACME", "n_trials": 50}
        -> 202 {"id": "sma_cross.ACME.3f9c2a1b", "run_id": "...", "status_url": "..."}
    GET  /backtests/optimize/{id}
        -> {"state": "running", "trials": {"done": 12, "total": 50, "pruned": 4, ...},
            "best_value": 0.83, "best_params": {...}, "leaderboard": [...], "dagster": {...}}

A study runs as a Dagster run of ``optimization_job`` (partition ``<strategy>|<symbol>``),
launched through Dagster's own GraphQL API at ``RESEARCH_LAB_DAGSTER_URL`` (default
``http://127.0.0.1:3000``), so it is queued, limited and prioritized like every other run
(tags ``research_lab/kind``, ``research_lab/asset_class``, ``dagster/priority``) and shows in
the Dagster UI. Progress comes from the Optuna storage (the same ``RESEARCH_LAB_OPTUNA_STORAGE``
or embedded journal the run uses) and the run's status from Dagster. The API holds no state of
its own: the study id is the study name, also a tag of the run.

Invalid requests get a 4xx with a message naming the field: 422 for a bad strategy, space,
metric, date or number, or a symbol without stored bars; 404 for an unknown id; 502 when the
Dagster webserver cannot be reached or refuses the run.
"""

from research_lab.api.app import create_app

__all__ = ["create_app"]
