"""Read-only questions over the runs: leaderboards, side-by-side comparisons, finding runs.

Each function takes an ``MlflowClient`` (:func:`open_client` makes one for the configured URI)
and a :class:`~.naming.Scope` (a project, optionally narrowed to an asset class, a strategy
family, a strategy), and returns plain :class:`RunRow` records::

    client = open_client()                                   # env / embedded default
    top = leaderboard(client, Scope("Q1_2025", "Equities"), "sharpe", top=10)
    rows = find_runs(client, Scope("Q1_2025"), params={"fast": 10}, tags={"status": "testing"})
    table = compare(client, [top[0].run_id, top[1].run_id])

A scope selects experiments by their tags (set when the experiment is created by convention),
then searches runs in those experiments with one ``search_runs`` call per page of 1,000: the
server does the filtering and the ordering (see ``research-lab project migrate`` for the
indexes that keep this fast at 10,000+ runs). Archived runs are deleted in MLflow and so left
out unless ``include_archived=True``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from research_lab.core.inputs import InputError, filter_key, filter_value, shown
from research_lab.core.tracking import tags as T
from research_lab.core.tracking.naming import PARTS, ExperimentName, NamingError, Scope

PAGE = 1000
COMPARATORS = {"=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"}
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def open_client(uri: str | None = None):
    """An ``MlflowClient`` for ``uri`` (else the environment, else the embedded default)."""
    from research_lab.core.tracking.config import resolve_target
    from research_lab.core.tracking.writer import make_client

    return make_client(resolve_target(uri))


@dataclass(frozen=True)
class RunRow:
    """One run, flattened for tables and JSON."""

    run_id: str
    experiment: str
    run_name: str | None
    status: str
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    @property
    def started(self) -> str:
        return datetime.fromtimestamp(self.start_time / 1000, timezone.utc).strftime(
            "%Y-%m-%d %H:%M")

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "experiment": self.experiment, "run_name": self.run_name,
            "status": self.status, "start_time": self.start_time, "params": self.params,
            "metrics": self.metrics,
            "tags": {k: v for k, v in self.tags.items() if not k.startswith("mlflow.")},
        }


def _row(run, names: Mapping[str, str]) -> RunRow:
    tags = dict(run.data.tags)
    return RunRow(
        run_id=run.info.run_id, experiment=names.get(run.info.experiment_id, ""),
        run_name=run.info.run_name, status=tags.get(T.STATUS, "research"),
        start_time=run.info.start_time or 0, params=dict(run.data.params),
        metrics=dict(run.data.metrics), tags=tags,
        deleted=run.info.lifecycle_stage == "deleted",
    )


def quote(value: Any, where: str = "filter value") -> str:
    """A value as an MLflow filter literal; refuses quotes, which the filter grammar cannot
    escape (:func:`research_lab.core.inputs.filter_value`)."""
    return filter_value(value, where)


def key(name: Any, where: str = "name") -> str:
    """A parameter, metric or tag name, backquoted for a filter or an ``order_by``."""
    return filter_key(name, where)


def check_run_id(run_id: str) -> str:
    """``run_id`` when it looks like an MLflow run id (letters, digits, ``-``, ``_``)."""
    if not RUN_ID.match(str(run_id)):
        raise InputError(f"run id {shown(run_id)} is not a run id (letters and digits, "
                         "e.g. 3f2a9c...)")
    return str(run_id)


def experiments(client, scope: Scope = Scope(), *, include_deleted: bool = False
                ) -> dict[str, str]:
    """Experiment id -> name for every experiment named by convention within ``scope``."""
    from mlflow.entities import ViewType

    clauses = [f"tags.{key(k, 'tag')} = {quote(v, k)}" for k, v in scope.tags().items()]
    clauses.append("tags.`research_lab.naming` = 'v1'")
    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    out: dict[str, str] = {}
    token = None
    while True:
        page = client.search_experiments(view_type=view, max_results=PAGE,
                                         filter_string=" AND ".join(clauses), page_token=token)
        for exp in page:
            try:
                if scope.matches(ExperimentName.parse(exp.name)):
                    out[exp.experiment_id] = exp.name
            except NamingError:
                continue
        token = page.token
        if not token:
            return out


def list_projects(client) -> dict[str, list[str]]:
    """Project -> its experiment names (sorted)."""
    projects: dict[str, list[str]] = {}
    for name in experiments(client).values():
        projects.setdefault(ExperimentName.parse(name).project, []).append(name)
    return {p: sorted(v) for p, v in sorted(projects.items())}


def filter_string(params: Mapping[str, Any] | None = None, tags: Mapping[str, Any] | None = None,
                  extra: str | None = None) -> str:
    """MLflow filter for exact parameter and tag values (ANDed), plus ``extra`` as given."""
    clauses = [f"params.{key(k, 'parameter')} = {quote(v, f'parameter {k}')}"
               for k, v in (params or {}).items()]
    clauses += [f"tags.{key(k, 'tag')} = {quote(v, f'tag {k}')}" for k, v in (tags or {}).items()]
    if extra:
        clauses.append(f"({extra})" if " or " in extra.lower() else extra)
    return " AND ".join(clauses)


def iter_runs(client, scope: Scope = Scope(), filter_str: str = "",
              order_by: Sequence[str] | None = None, *, limit: int | None = None,
              include_archived: bool = False, only_archived: bool = False) -> Iterator[RunRow]:
    """Runs in ``scope`` matching an MLflow filter string, page by page."""
    from mlflow.entities import ViewType

    names = experiments(client, scope, include_deleted=include_archived or only_archived)
    if not names:
        return
    view = (ViewType.DELETED_ONLY if only_archived
            else ViewType.ALL if include_archived else ViewType.ACTIVE_ONLY)
    token, seen = None, 0
    while True:
        size = PAGE if limit is None else min(PAGE, limit - seen)
        page = client.search_runs(list(names), filter_str, run_view_type=view,
                                  max_results=size, order_by=list(order_by or []),
                                  page_token=token)
        for run in page:
            yield _row(run, names)
            seen += 1
        token = page.token
        if not token or (limit is not None and seen >= limit):
            return


def leaderboard(client, scope: Scope, metric: str, *, top: int = 10, ascending: bool = False,
                tags: Mapping[str, Any] | None = None, kind: str | None = None) -> list[RunRow]:
    """The ``top`` runs by ``metric`` (highest first unless ``ascending``), among runs that
    have it; ``tags`` narrows further (e.g. ``{"status": "testing"}``)."""
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    wanted = dict(tags or {})
    if kind:
        wanted[T.KIND] = kind
    # MLflow sorts runs without the metric last; dropping them here is cheaper than a
    # "metric > -inf" filter, which makes MLflow join latest_metrics a second time
    order = [f"metrics.{key(metric, 'metric')} {'ASC' if ascending else 'DESC'}",
             "attributes.start_time DESC"]
    rows = iter_runs(client, scope, filter_string(tags=wanted), order, limit=top)
    return [r for r in rows if metric in r.metrics]


def find_runs(client, scope: Scope = Scope(), *, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, where: str | None = None,
              limit: int | None = 100, include_archived: bool = False) -> list[RunRow]:
    """Runs whose parameters and tags have exactly these values (newest first); ``where``
    adds a raw MLflow filter such as ``"metrics.sharpe > 1"`` (checked by MLflow's parser
    first, so a malformed one is refused even where no experiment matches)."""
    if where:
        from mlflow.utils.search_utils import SearchUtils

        for clause in SearchUtils.parse_search_filter(where):
            if str(clause.get("comparator", "")).upper() not in COMPARATORS:
                raise InputError(f"--where: comparator {clause.get('comparator')!r} is not one "
                                 f"of {', '.join(sorted(COMPARATORS))}")
    return list(iter_runs(client, scope, filter_string(params, tags, where),
                          ["attributes.start_time DESC"], limit=limit,
                          include_archived=include_archived))


def get_rows(client, run_ids: Sequence[str]) -> list[RunRow]:
    names: dict[str, str] = {}
    rows = []
    for run_id in run_ids:
        check_run_id(run_id)
    for run_id in run_ids:
        run = client.get_run(run_id)
        exp_id = run.info.experiment_id
        if exp_id not in names:
            names[exp_id] = client.get_experiment(exp_id).name
        rows.append(_row(run, names))
    return rows


def compare(client, run_ids: Sequence[str]) -> dict[str, Any]:
    """Side by side: ``{"runs": [...], "params": {name: [v per run]}, "metrics": ...,
    "tags": ...}``, with rows for every key any of the runs has (missing -> None), and
    ``"differs"``: the param names whose values are not all equal."""
    if len(run_ids) < 2:
        raise ValueError("compare needs at least two run ids")
    rows = get_rows(client, run_ids)
    shown_tags = (*PARTS, T.STATUS, T.KIND, T.CODE_VERSION, T.DATA_VERSION, T.SEED,
                  T.DAGSTER_RUN_ID, T.PARTITION_KEY)

    def table(attr: str, keys: Sequence[str] | None = None) -> dict[str, list[Any]]:
        names = keys or sorted({k for r in rows for k in getattr(r, attr)})
        return {k: [getattr(r, attr).get(k) for r in rows] for k in names}

    params = table("params")
    return {
        "runs": [{"run_id": r.run_id, "run_name": r.run_name, "experiment": r.experiment}
                 for r in rows],
        "params": params,
        "metrics": table("metrics"),
        "tags": {k: v for k, v in table("tags", shown_tags).items() if any(v)},
        "differs": [k for k, v in params.items() if len(set(v)) > 1],
    }
