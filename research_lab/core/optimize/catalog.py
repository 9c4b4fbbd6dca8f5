"""The studies of a storage, for people: list, show, stop, delete (any storage URL).

``research-lab optimize list | show NAME | stop NAME | delete NAME [--storage URL]`` and the
HTTP API call these. A study's *state* comes from its trials and attributes:

==========  ==============================================================================
running     a trial is RUNNING
stopped     stopped before its target (``research_lab.stopped``: Ctrl-C, SIGTERM, a cancel)
done        ``n_trials`` trials finished (completed + pruned)
open        fewer finished trials, nothing running (resume it, or let workers join it)
==========  ==============================================================================
"""

from __future__ import annotations

from typing import Any

from research_lab.core.optimize import storage as S
from research_lab.core.optimize.definition import ATTR
from research_lab.core.optimize.stopping import STOPPED_ATTR, request_stop


def study_summary(study: Any) -> dict[str, Any]:
    """Name, strategy, symbol, state, trial counts, best value and parameters."""
    from research_lab.core.optimize.baselines import KPI_ATTR
    from research_lab.core.optimize.report import leaderboard, trial_counts

    trials = study.get_trials(deepcopy=False)
    counts = trial_counts(trials)
    attrs = study.user_attrs
    defn = attrs.get(ATTR) or {}
    directions = tuple(defn.get("objective", {}).get("directions") or
                       [d.name.lower() for d in study.directions])
    board = leaderboard(trials, directions, top=1)
    target = int(defn.get("n_trials", 0))
    finished = counts["done"]
    stopped = attrs.get(STOPPED_ATTR)
    if counts["running"]:
        state = "running"
    elif stopped:
        state = "stopped"
    elif target and finished >= target:
        state = "done"
    else:
        state = "open"
    return {
        "name": study.study_name, "strategy": defn.get("strategy"), "symbol": defn.get("symbol"),
        "feeds": list(defn.get("feeds") or ()),
        "state": state, "stopped": stopped, "sampler": (defn.get("sampler") or {}).get("type"),
        "metrics": (defn.get("objective") or {}).get("metrics"),
        "trials": {"done": finished, "total": target, "completed": counts["complete"],
                   "pruned": counts["pruned"], "failed": counts["fail"],
                   "running": counts["running"]},
        "best_value": board[0]["values"][0] if board else None,
        "best_params": board[0]["params"] if board else None,
        "kpis": attrs.get(KPI_ATTR),
    }


def list_summaries(url: str) -> list[dict[str, Any]]:
    return [study_summary(S.load_study(url, name)) for name in S.list_studies(url)]


def stop(url: str, name: str, reason: str = "stopped by request") -> None:
    """Ask every worker of ``name`` to stop (they do within a few seconds)."""
    request_stop(S.load_study(url, name), reason)


def delete(url: str, name: str) -> None:
    """Stop the study's workers, then delete it and its trials from the storage."""
    import optuna

    study = S.load_study(url, name)         # StorageError naming it when there is none
    request_stop(study, "deleted")
    optuna.delete_study(study_name=name, storage=S.open_storage(url))
