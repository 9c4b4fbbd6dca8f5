"""Routes of the HTTP API (see the package docstring): ``POST /backtests/optimize``,
``GET`` and ``DELETE /backtests/optimize/{id}``. Every input is checked with the same core
functions the CLI and the asset use (the study use case's quality gate, history, session range
and walk-forward plan, and the market-hours rule) before anything is launched."""

from __future__ import annotations

import hmac
import json
import os
import re
import uuid
from datetime import date
from typing import Any, Literal, Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from research_lab.api import dagster_client as D

JOB = "optimization_job"
TOKEN_VAR = "RESEARCH_LAB_API_TOKEN"
MAX_BODY = 64 * 1024           # bytes of a request body (a search space is a few hundred)
MAX_DETAIL = 300               # characters of an error message: never a whole echoed input
_ID = re.compile(r"^[A-Za-z0-9_.^-]{1,200}$")
STATES = {"QUEUED": "queued", "NOT_STARTED": "queued", "MANAGED": "queued",
          "STARTING": "running", "STARTED": "running", "SUCCESS": "done",
          "FAILURE": "failed", "CANCELING": "canceled", "CANCELED": "canceled"}
FINAL = ("SUCCESS", "FAILURE", "CANCELED")


class OptimizeRequest(BaseModel):
    """A study to start: strategy x symbol, and optional overrides of config/optimize.yaml."""

    strategy: str = Field(max_length=64, description="a registered strategy (research-lab "
                          "strategy list), e.g. sma_cross; never a module path or file")
    symbol: str = Field(max_length=32, description="a symbol with bars in the market-data store")
    feeds: list[str] = Field(default_factory=list, description="more stored symbols fed with "
                             "`symbol` to one backtrader strategy (self.datas[1:], e.g. a pairs "
                             "strategy): one study over all of them, at most 8 symbols in all")
    n_trials: int = Field(default=100, ge=1, le=100_000, description="trials to finish")
    timeout: Optional[float] = Field(default=None, gt=0, description="seconds")
    metric: str = Field(default="sharpe_ratio", max_length=64, description="objective metric")
    direction: Optional[Literal["maximize", "minimize"]] = Field(default=None)
    min_trades: Optional[int] = Field(default=None, ge=0, le=1_000_000,
                                      description="trades a trial needs over its folds")
    sampler: Optional[str] = Field(default=None, max_length=16,
                                   description="tpe | random | grid | qmc | cmaes | gp | nsga2 | "
                                   "nsga3")
    param_space: Optional[dict[str, Any]] = Field(
        default=None, description="search space as in a space file: {params: {...}, "
        "constraints: [...]}; default: the strategy's full space")
    workers: int = Field(default=1, ge=1, le=64, description="worker processes")
    seed: Optional[int] = None
    start: Optional[date] = None
    end: Optional[date] = None
    market_hours: Optional[Literal["refuse", "wait", "ignore"]] = Field(default=None)
    tracking: bool = Field(default=True, description="log to MLflow")

    model_config = {"extra": "forbid"}


def _unprocessable(message: str, status: int = 422) -> HTTPException:
    return HTTPException(status_code=status, detail=message[:MAX_DETAIL])


def _validate(req: OptimizeRequest) -> dict[str, Any]:
    """The run config of the study, or HTTP 4xx naming the problem: the request's own values,
    then the stored history (quality gate, bars in the range, walk-forward plan), then the
    market-hours rule, exactly as the run itself will check them."""
    from research_lab.core.optimize import default_space, load_optimize_config
    from research_lab.core.optimize.objective import objective_from_config
    from research_lab.core.optimize.config import SAMPLERS
    from research_lab.core.optimize.feeds import check_feed_symbols
    from research_lab.core.optimize.space import parse_space

    from research_lab.core.inputs import InputError, date_range, symbol as check_symbol

    try:
        symbol = check_symbol(req.symbol, "symbol")
        feeds = (check_feed_symbols([symbol, *req.feeds], "symbol and feeds")[1:]
                 if req.feeds else ())
        date_range(req.start, req.end)
    except InputError as exc:
        raise _unprocessable(str(exc)) from None
    if req.sampler is not None and req.sampler not in SAMPLERS:
        raise _unprocessable(f"sampler: not one of {', '.join(SAMPLERS)}")
    from research_lab.core.strategies import discover

    registered = discover().strategies
    if req.strategy not in registered:  # never import a path taken from a request
        raise _unprocessable(f"unknown strategy {req.strategy[:64]!r}: the API runs registered "
                             f"strategies only: {', '.join(registered)}")
    try:
        space = (parse_space(req.param_space, strategy=req.strategy, where="param_space")
                 if req.param_space is not None else default_space(req.strategy))
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    if req.start and req.end and req.start > req.end:
        raise _unprocessable(f"start {req.start} is after end {req.end}")
    cfg = load_optimize_config()
    try:  # the API never loads a loss function named by a request: metric only
        objective = objective_from_config(cfg, req.metric, req.direction, loss="",
                                          min_trades=req.min_trades)
    except ValueError as exc:
        raise _unprocessable(str(exc)) from None
    _check_history(req, symbol, space, objective, cfg, feeds)
    _check_market_hours(req, cfg)
    config: dict[str, Any] = {
        "n_trials": req.n_trials, "metric": req.metric, "workers": req.workers,
        "param_space_json": json.dumps(space.to_dict()), "tracking": req.tracking,
    }
    if feeds:
        config["feeds"] = list(feeds)
    for key in ("timeout", "direction", "seed", "market_hours", "sampler", "min_trades"):
        if getattr(req, key) is not None:
            config[key] = getattr(req, key)
    for key in ("start", "end"):
        if getattr(req, key) is not None:
            config[key] = getattr(req, key).isoformat()
    return config


def _check_history(req: OptimizeRequest, symbol: str, space: Any, objective: Any,
                   cfg: Any, feeds: tuple[str, ...] = ()) -> None:
    """The study use case's own checks (gate, bars in range, plan), without the run; for
    ``feeds`` too."""
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.optimize.usecase import StudyInputs, prepare_study
    from research_lab.core.quality.gate import QualityGateError
    from research_lab.core.settings import load_settings

    url = load_settings().resolved_store_url
    store = BarStore.from_url(url)
    try:
        stored = set(store.symbols())
    finally:
        store.close()
    for name, what in ((symbol, "symbol"), *((f, "feeds: symbol") for f in feeds)):
        if name not in stored:  # never list the stored symbols: the caller may not see them
            raise _unprocessable(f"{what} {name!r} has no bars in the market-data store")
    try:
        prepare_study(StudyInputs(req.strategy, symbol, "api-check", space=space,
                                  objective=objective, config=cfg, start=req.start,
                                  end=req.end, store_url=url, feeds=feeds))
    except QualityGateError as exc:
        raise _unprocessable(str(exc), 409) from None
    except ValueError as exc:
        text = str(exc)
        if text.startswith("no bars of"):  # the store's URL is not the caller's business
            missing = text.split()[3] if len(text.split()) > 3 else symbol
            text = (f"symbol {missing!r} has no bars between {req.start or 'the start'} and "
                    f"{req.end or 'the end'} in the market-data store")
        raise _unprocessable(text) from None


def _check_market_hours(req: OptimizeRequest, cfg: Any) -> None:
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.optimize.budget import MarketHoursError, plan_budget

    mh = cfg.market_hours
    try:
        plan_budget(calendar=TradingCalendar(mh.calendar), timeout=req.timeout,
                    margin_minutes=mh.margin_minutes, policy=req.market_hours or mh.policy,
                    sleep=lambda seconds: None)   # "wait": accepted, the run waits
    except MarketHoursError as exc:
        raise _unprocessable(str(exc), 409) from None


def _progress(study_id: str) -> dict[str, Any] | None:
    """Counts, best value so far and leaderboard from the Optuna storage (None: no study yet)."""
    from research_lab.core.optimize import storage as S
    from research_lab.core.optimize.definition import read_definition
    from research_lab.core.optimize.baselines import KPI_ATTR
    from research_lab.core.optimize.report import leaderboard, pareto_front, trial_counts
    from research_lab.core.optimize.stopping import STOPPED_ATTR

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
        "trials": {"done": counts["done"], "total": defn.n_trials,
                   "completed": counts["complete"], "pruned": counts["pruned"],
                   "failed": counts["fail"], "running": counts["running"]},
        "metric": defn.objective.primary, "direction": defn.objective.directions[0],
        "best_value": best["values"][0] if best else None,
        "best_params": best["params"] if best else None,
        "leaderboard": board,
        "pareto": (pareto_front(study, defn.objective.directions)
                   if defn.objective.multi else None),
        "kpis": study.user_attrs.get(KPI_ATTR),
        "stopped": study.user_attrs.get(STOPPED_ATTR),
    }


def create_app(token: str | None = None) -> FastAPI:
    """The app; ``token`` (default ``RESEARCH_LAB_API_TOKEN``): every route but ``/health``
    then needs ``Authorization: Bearer <token>``."""
    token = token if token is not None else (os.environ.get(TOKEN_VAR) or None)
    app = FastAPI(title="research_lab API", version="1",
                  description="Optimization studies as Dagster runs.")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if token and request.url.path != "/health":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Bearer"},
                                    content={"detail": "missing or wrong bearer token"})
        if request.method in ("POST", "PUT", "PATCH"):
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse(status_code=411, content={"detail": "Content-Length needed"})
            if int(length) > MAX_BODY:
                return JSONResponse(status_code=413, content={
                    "detail": f"request body of {length} bytes; the limit is {MAX_BODY}"})
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # field and reason only: pydantic's own errors would echo the whole input back
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(status_code=422, content={"detail": "; ".join(parts)[:MAX_DETAIL]})

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
            raise HTTPException(status_code=502, detail=str(exc)[:MAX_DETAIL]) from None
        return JSONResponse(status_code=202, content={
            "id": study_id, "run_id": run_id, "partition": key,
            "status_url": f"/backtests/optimize/{study_id}"})

    def _find(study_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if not _ID.match(study_id):
            raise HTTPException(status_code=422, detail="bad study id")
        try:
            run = D.study_run(study_id)
        except D.DagsterUnavailable as exc:
            raise HTTPException(status_code=502, detail=str(exc)[:MAX_DETAIL]) from None
        progress = _progress(study_id)
        if run is None and progress is None:
            raise HTTPException(status_code=404, detail=f"no study {study_id!r}")
        return run, progress

    @app.get("/backtests/optimize/{study_id}")
    def study_status(study_id: str) -> dict[str, Any]:
        run, progress = _find(study_id)
        status = run["status"] if run else None
        state = STATES.get(status, "unknown") if run else "done"
        if state == "running" and progress is None:
            state = "starting"
        out: dict[str, Any] = {"id": study_id, "state": state,
                               "dagster": {"run_id": run["runId"], "status": status} if run else None}
        out.update(progress or {"trials": None, "best_value": None, "best_params": None,
                                "leaderboard": [], "kpis": None, "stopped": None})
        out["failure"] = None
        if state == "failed":
            try:
                out["failure"] = (D.run_failure(run["runId"]) or "")[:2000] or None
            except D.DagsterUnavailable:
                out["failure"] = None
        return out

    @app.delete("/backtests/optimize/{study_id}", status_code=202)
    def cancel_study(study_id: str) -> JSONResponse:
        """Cancel: terminate the Dagster run and ask every worker of the study to stop."""
        from research_lab.core.optimize import storage as S
        from research_lab.core.optimize.stopping import request_stop

        run, progress = _find(study_id)
        if progress is not None:
            request_stop(S.load_study(S.resolve_storage_url(None), study_id),
                         "canceled through the API")
        if run is not None and run["status"] not in FINAL:
            try:
                D.terminate_run(run["runId"])
            except D.DagsterUnavailable as exc:
                raise HTTPException(status_code=502, detail=str(exc)[:MAX_DETAIL]) from None
        return JSONResponse(status_code=202, content={"id": study_id, "state": "canceling"})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
