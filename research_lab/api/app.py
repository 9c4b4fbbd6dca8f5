"""Routes of the HTTP API (see the package docstring): ``POST /backtests/optimize`` and
``GET /backtests/optimize/{id}``. Every input is checked with the same core functions the CLI
and the asset use, before anything is launched."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Any, Optional

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from research_lab.api import dagster_client as D

JOB = "optimization_job"
_ID = re.compile(r"^[A-Za-z0-9_.^-]{1,200}$")
STATES = {"QUEUED": "queued", "NOT_STARTED": "queued", "MANAGED": "queued",
          "STARTING": "running", "STARTED": "running", "SUCCESS": "done",
          "FAILURE": "failed", "CANCELING": "canceled", "CANCELED": "canceled"}


class OptimizeRequest(BaseModel):
    """A study to start: strategy x symbol, and optional overrides of config/optimize.yaml."""

    strategy: str = Field(description="a registered strategy (research-lab strategy list), e.g. "
                          "sma_cross; never a module path or file")
    symbol: str = Field(description="a symbol with bars in the market-data store")
    n_trials: int = Field(default=100, ge=1, le=100_000, description="trials to finish")
    timeout: Optional[float] = Field(default=None, gt=0, description="seconds")
    metric: str = Field(default="sharpe_ratio", description="objective metric")
    direction: Optional[str] = Field(default=None, description="maximize | minimize")
    param_space: Optional[dict[str, Any]] = Field(
        default=None, description="search space as in a space file: {params: {...}, "
        "constraints: [...]}; default: the strategy's full space")
    workers: int = Field(default=1, ge=1, le=64, description="worker processes")
    seed: Optional[int] = None
    start: Optional[date] = None
    end: Optional[date] = None
    market_hours: Optional[str] = Field(default=None, description="refuse | wait | ignore")
    tracking: bool = Field(default=True, description="log to MLflow")

    model_config = {"extra": "forbid"}


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


def _validate(req: OptimizeRequest) -> dict[str, Any]:
    """The run config of the study, or HTTP 422 naming the problem."""
    from research_lab.core.optimize import default_space, objective_spec
    from research_lab.core.optimize.space import parse_space

    symbol = req.symbol.strip().upper()
    from research_lab.core.strategies import discover

    registered = discover().strategies
    if req.strategy not in registered:  # never import a path taken from a request
        raise _unprocessable(f"unknown strategy {req.strategy!r}: the API runs registered "
                             f"strategies only: {', '.join(registered)}")
    try:
        space = (parse_space(req.param_space, strategy=req.strategy, where="param_space")
                 if req.param_space is not None else default_space(req.strategy))
        objective_spec(req.metric, req.direction)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    if req.market_hours not in (None, "refuse", "wait", "ignore"):
        raise _unprocessable(f"market_hours {req.market_hours!r} is not one of refuse, wait, ignore")
    if req.start and req.end and req.start > req.end:
        raise _unprocessable(f"start {req.start} is after end {req.end}")
    _check_bars(symbol, req.start, req.end)
    config: dict[str, Any] = {
        "n_trials": req.n_trials, "metric": req.metric, "workers": req.workers,
        "param_space_json": json.dumps(space.to_dict()), "tracking": req.tracking,
    }
    for key in ("timeout", "direction", "seed", "market_hours"):
        if getattr(req, key) is not None:
            config[key] = getattr(req, key)
    for key in ("start", "end"):
        if getattr(req, key) is not None:
            config[key] = getattr(req, key).isoformat()
    return config


def _check_bars(symbol: str, start: date | None, end: date | None) -> None:
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    store = BarStore.from_url(load_settings().resolved_store_url)
    try:
        if symbol not in store.symbols():
            raise _unprocessable(f"symbol {symbol!r} has no bars in the market-data store; "
                                 f"known: {', '.join(store.symbols()) or '(none)'}")
    finally:
        store.close()


def _progress(study_id: str) -> dict[str, Any] | None:
    """Counts, best value so far and leaderboard from the Optuna storage (None: no study yet)."""
    from research_lab.core.optimize import storage as S
    from research_lab.core.optimize.definition import read_definition
    from research_lab.core.optimize.report import leaderboard, trial_counts

    try:
        study = S.load_study(S.resolve_storage_url(None), study_id)
    except S.StorageError:
        return None
    trials = study.get_trials(deepcopy=False)
    counts = trial_counts(trials)
    defn = read_definition(study)
    board = leaderboard(trials, defn.objective.directions)
    best = board[0] if board else None
    return {
        "trials": {"done": counts["complete"] + counts["pruned"], "total": defn.n_trials,
                   "completed": counts["complete"], "pruned": counts["pruned"],
                   "failed": counts["fail"], "running": counts["running"]},
        "metric": defn.objective.primary, "direction": defn.objective.directions[0],
        "best_value": best["values"][0] if best else None,
        "best_params": best["params"] if best else None,
        "leaderboard": board,
    }


def create_app() -> FastAPI:
    app = FastAPI(title="research_lab API", version="1",
                  description="Optimization studies as Dagster runs.")

    @app.post("/backtests/optimize", status_code=202)
    def start_study(req: OptimizeRequest) -> JSONResponse:
        import dagster as dg

        from research_lab.defs.run_queue import study_run_tags

        config = _validate(req)
        symbol = req.symbol.strip().upper()
        study_id = f"{req.strategy}.{symbol}.{uuid.uuid4().hex[:8]}"
        config["study_name"] = study_id
        key = str(dg.MultiPartitionKey({"strategy": req.strategy, "symbol": symbol}))
        tags = {**study_run_tags(symbol), D.STUDY_TAG: study_id, "dagster/partition": key}
        run_config = {"ops": {"optimization_study": {"config": config}}}
        try:
            run_id = D.launch_run(JOB, run_config, tags)
        except D.DagsterUnavailable as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from None
        return JSONResponse(status_code=202, content={
            "id": study_id, "run_id": run_id, "partition": key,
            "status_url": f"/backtests/optimize/{study_id}"})

    @app.get("/backtests/optimize/{study_id}")
    def study_status(study_id: str) -> dict[str, Any]:
        if not _ID.match(study_id):
            raise HTTPException(status_code=422, detail=f"bad study id {study_id!r}")
        try:
            run = D.study_run(study_id)
        except D.DagsterUnavailable as exc:
            raise HTTPException(status_code=502, detail=str(exc)) from None
        progress = _progress(study_id)
        if run is None and progress is None:
            raise HTTPException(status_code=404, detail=f"no study {study_id!r}")
        status = run["status"] if run else None
        state = STATES.get(status, "unknown") if run else "done"
        if state == "running" and progress is None:
            state = "starting"
        out: dict[str, Any] = {"id": study_id, "state": state,
                               "dagster": {"run_id": run["runId"], "status": status} if run else None}
        out.update(progress or {"trials": None, "best_value": None, "best_params": None,
                                "leaderboard": []})
        return out

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
