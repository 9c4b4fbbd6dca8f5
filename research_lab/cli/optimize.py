"""``research-lab optimize``: run an optimization study, join one as a worker, or serve the
HTTP API.

::

    research-lab optimize --strategy sma_cross --param-space config/param_spaces/sma_cross.yaml \\
        --symbols ACME --start 2018-01-02 --end 2024-12-31 --metric sharpe_ratio \\
        --n-trials 100 --study-name acme-sma [--storage URL] [--workers N] [--timeout S]
    research-lab optimize --strategy examples/strategies/pairs.py:PairsSpread \
        --bounds period=10:60 --bounds entry=1.0:2.5 --symbols ACME GLOBEX --together \
        --study-name acme-globex-pairs                # ONE study, both symbols feed the strategy
    research-lab optimize worker --study-name acme-sma --storage postgresql://...   # one study
    research-lab optimize worker [--idle-exit S]    # a service (docker): joins any open study
    research-lab optimize serve [--port 8765]                                      # HTTP API
    research-lab optimize list | show NAME | stop NAME | delete NAME [--storage URL]  # studies

Bars come from the market-data store (one query per symbol) or ``--csv FILE``. Several
symbols run one study each (``<study-name>.<SYMBOL>``); with ``--together`` they run ONE study
whose trials feed all of them (2 to 8) to one backtrader strategy as ``self.datas``, in the
order given. A progress bar (stderr) follows the
finished trials; the final report (best value and parameters, IS/OOS and walk-forward
efficiency, deflated Sharpe, PBO, leaderboard) goes to stdout.

Exit codes: 0 done; 2 bad input (one line naming the problem; nothing written: every input is
checked before a study is created); 3 refused by the market-hours policy (the line says why
and when it could run).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from research_lab.cli.common import iso_date, symbols_arg

ACTIONS = ("run", "worker", "serve", "list", "show", "stop", "delete")


def register(sub) -> None:
    p = sub.add_parser("optimize", help="optimization studies (Optuna): run, worker, serve",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run",
                   help="run a study (default), join one as a worker, serve the HTTP API, "
                   "list the studies of a storage, show / stop / delete one")
    p.add_argument("name", nargs="?", metavar="NAME", help="show / stop / delete: the study")
    p.add_argument("--strategy", metavar="NAME",
                   help="a registered strategy (sma_cross, ...) or a reference pkg.mod.Class / "
                   "file.py:Class (loading it runs its code)")
    p.add_argument("--strategy-path", action="append", default=[], metavar="DIR",
                   help="folder to import a strategy reference from (repeatable)")
    p.add_argument("--param-space", metavar="FILE", type=Path,
                   help="search space YAML/JSON (default: the strategy's full space)")
    p.add_argument("--bounds", action="append", default=[], metavar="NAME=LOW:HIGH[:STEP]",
                   help="search NAME over LOW..HIGH (or NAME=a,b,c), instead of a space file")
    p.add_argument("--symbols", nargs="+", metavar="S", help="symbols (one study each)")
    p.add_argument("--together", action="store_true",
                   help="one study: all --symbols (2 to 8) feed ONE backtrader strategy as "
                   "self.datas, in the order given (pairs, spreads)")
    p.add_argument("--csv", metavar="FILE", type=Path, help="bars from a CSV file (one symbol)")
    p.add_argument("--start", type=iso_date, help="first session, YYYY-MM-DD")
    p.add_argument("--end", type=iso_date, help="last session, YYYY-MM-DD")
    p.add_argument("--metric", action="append", metavar="NAME",
                   help="objective metric (default sharpe_ratio); twice for multi-objective")
    p.add_argument("--direction", action="append", choices=("maximize", "minimize"),
                   help="per metric (default: the metric's natural direction)")
    p.add_argument("--loss", metavar="MODULE:FUNCTION",
                   help="minimize a loss function of one fold's per-bar returns instead of a "
                   "metric (pkg.mod:fn or file.py:fn; loading it runs its code)")
    p.add_argument("--min-trades", type=int, metavar="N",
                   help="trades a trial needs over its folds (config: study.min_trades, 0)")
    p.add_argument("--n-trials", type=int, metavar="N", help="trials to finish (config: 100)")
    p.add_argument("--study-name", metavar="NAME", help="study name (resumes if it exists)")
    p.add_argument("--storage", metavar="URL",
                   help="postgresql://... or journal:///path (default: RESEARCH_LAB_OPTUNA_STORAGE,"
                   " else the embedded journal file)")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (config: 4)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds (also capped before "
                   "the next market open)")
    p.add_argument("--seed", type=int, help="sampler seed (config: 42)")
    p.add_argument("--sampler", metavar="NAME",
                   help="tpe (default), random, grid, qmc, cmaes, gp, nsga2, nsga3")
    p.add_argument("--market-hours", choices=("refuse", "wait", "ignore"),
                   help="during a session: refuse (default), wait for the close, or ignore")
    p.add_argument("--config", metavar="FILE", type=Path, help="optimize.yaml to use")
    p.add_argument("--out", metavar="DIR", type=Path, help="folder for plots and report.json")
    p.add_argument("--mlflow", metavar="URI", help="tracking URI (default: the configured one)")
    p.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--worker-index", type=int, metavar="I",
                   help="worker: offset of this worker's sampler seed (default: from its host "
                   "name and pid)")
    p.add_argument("--idle-exit", type=float, metavar="S",
                   help="worker without --study-name: exit after S idle seconds (default: "
                   "keep polling for studies)")
    p.add_argument("--host", default="127.0.0.1", help="serve: address (127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="serve: port (8765)")
    p.set_defaults(func=cmd_optimize)

    def error(message: str):
        p.exit(2, f"{p.prog}: error: {message} (see --help)\n")

    p.error = error  # type: ignore[method-assign]


def cmd_optimize(args: argparse.Namespace) -> int:
    if args.action == "worker":
        return cmd_worker(args)
    if args.action == "serve":
        return cmd_serve(args)
    if args.action in ("list", "show", "stop", "delete"):
        return cmd_catalog(args)
    return cmd_run(args)


def cmd_catalog(args: argparse.Namespace) -> int:
    """list / show / stop / delete the studies of a storage."""
    import json

    from research_lab.core.optimize import catalog
    from research_lab.core.optimize.config import load_optimize_config
    from research_lab.core.optimize.storage import mask, resolve_storage_url

    url = resolve_storage_url(args.storage or load_optimize_config(args.config).storage.url)
    if args.action == "list":
        rows = catalog.list_summaries(url)
        print(f"{len(rows)} stud{'y' if len(rows) == 1 else 'ies'} in {mask(url)}")
        for r in rows:
            t = r["trials"]
            best = "-" if r["best_value"] is None else f"{r['best_value']:.4f}"
            print(f"{r['name']}\t{r['state']}\t{r['strategy']} {r['symbol']}\t"
                  f"{t['done']}/{t['total']} trials\tbest {best}")
        return 0
    name = args.name or args.study_name
    if not name:
        raise ValueError(f"optimize {args.action} needs the study's NAME")
    if args.action == "show":
        from research_lab.core.optimize.storage import load_study

        print(json.dumps(catalog.study_summary(load_study(url, name)), indent=2, default=str))
    elif args.action == "stop":
        catalog.stop(url, name)
        print(f"asked the workers of {name} to stop")
    else:
        catalog.delete(url, name)
        print(f"deleted {name} from {mask(url)}")
    return 0


def _config(args: argparse.Namespace):
    from research_lab.core.optimize.config import SAMPLERS, load_optimize_config

    if args.sampler is not None and args.sampler not in SAMPLERS:
        raise ValueError(f"--sampler {args.sampler[:40]!r} is not one of {', '.join(SAMPLERS)}")
    cfg = load_optimize_config(args.config)
    cfg = cfg.override("study", n_trials=args.n_trials, workers=args.workers,
                       timeout=args.timeout, seed=args.seed)
    cfg = cfg.override("market_hours", policy=args.market_hours)
    cfg = cfg.override("sampler", type=args.sampler)
    return cfg.override("storage", url=args.storage)


def _csv_bars(args: argparse.Namespace, symbols: list[str]) -> tuple[str, object]:
    """(symbol, bars) of ``--csv`` (a file has no anomaly scores: no quality gate)."""
    from research_lab.core.marketdata.sources import CsvDirSource, SourceError

    if not args.csv.is_file():
        raise ValueError(f"--csv {args.csv}: no such file")
    try:
        frame = CsvDirSource(args.csv.parent).read(args.csv)
    except SourceError as exc:
        raise ValueError(f"--csv {args.csv}: {exc}") from None
    symbol = symbols[0] if symbols else str(frame["symbol"].iloc[0])
    return symbol, frame.assign(symbol=symbol)


def _requests(args: argparse.Namespace):
    """Every study to run, fully validated (quality gate, bars, plan) before anything is
    written: :func:`research_lab.core.optimize.usecase.prepare_study` per symbol."""
    from research_lab.core.optimize import default_space, load_space
    from research_lab.core.optimize.objective import objective_from_config
    from research_lab.core.optimize.storage import resolve_storage_url, storage_kind
    from research_lab.core.optimize.usecase import StudyInputs, prepare_study

    if not args.strategy:
        raise ValueError("--strategy is required (e.g. --strategy sma_cross)")
    from research_lab.core.strategies import get_strategy
    from research_lab.core.strategies.bounds import bounds_space, needs_bounds

    ref = get_strategy(args.strategy, args.strategy_path)  # unknown: lists the known ones
    args.strategy = ref.name  # a reference loaded here is discoverable by name in workers
    if args.together:  # one study, all the symbols feed the strategy (core.optimize.feeds)
        from research_lab.core.optimize.feeds import check_feed_symbols, require_backtrader

        if args.csv is not None:
            raise ValueError("--together reads every symbol from the store; not with --csv")
        check_feed_symbols(symbols_arg(args.symbols or []), "--symbols with --together")
        require_backtrader(ref)
    if args.bounds and args.param_space:
        raise ValueError("give --param-space FILE or --bounds, not both")
    if needs_bounds(ref) and not (args.bounds or args.param_space):
        raise ValueError(f"{ref.name} declares no bounds (a backtrader strategy): give "
                         "--bounds NAME=LOW:HIGH (repeatable) or --param-space FILE")
    if not args.study_name:
        raise ValueError("--study-name is required")
    from research_lab.core.inputs import child_path, path_name

    path_name(args.study_name, "--study-name")  # it names a folder under --out
    if not args.symbols and args.csv is None:
        raise ValueError("give --symbols (bars from the store) or --csv FILE")
    if args.csv is not None and args.symbols and len(symbols_arg(args.symbols)) > 1:
        raise ValueError("--csv holds one symbol; give at most one --symbols")
    for name in ("n_trials", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.timeout is not None and not 0 < args.timeout < float("inf"):
        raise ValueError(f"--timeout must be > 0 seconds, got {args.timeout:g}")
    if args.start and args.end and args.start > args.end:
        raise ValueError(f"--start {args.start} is after --end {args.end}")
    cfg = _config(args)
    storage_kind(resolve_storage_url(cfg.storage.url))
    if args.bounds:
        from research_lab.core.optimize.space import parse_space

        space = parse_space(bounds_space(ref, args.bounds), strategy=ref.name, where="--bounds")
    else:
        space = (load_space(args.param_space, strategy=args.strategy) if args.param_space
                 else default_space(args.strategy))
    if args.min_trades is not None and args.min_trades < 0:
        raise ValueError(f"--min-trades must be >= 0, got {args.min_trades}")
    objective = objective_from_config(cfg, args.metric, args.direction, loss=args.loss,
                                      min_trades=args.min_trades)
    symbols = symbols_arg(args.symbols or [])
    if args.together:
        return [prepare_study(StudyInputs(
            args.strategy, symbols[0], args.study_name, space=space, objective=objective,
            config=cfg, start=args.start, end=args.end, feeds=tuple(symbols[1:]),
            output_dir=str(child_path(args.out, args.study_name, where="--study-name"))
            if args.out else None))], cfg
    given = dict([_csv_bars(args, symbols)]) if args.csv is not None else dict.fromkeys(symbols)
    requests = []
    for symbol, bars in given.items():
        name = args.study_name if len(given) == 1 else f"{args.study_name}.{symbol}"
        requests.append(prepare_study(StudyInputs(
            args.strategy, symbol, name, space=space, objective=objective, config=cfg,
            start=args.start, end=args.end, bars=bars,
            output_dir=str(child_path(args.out, name, where="--study-name")) if args.out else None)))
    return requests, cfg


def _tracker(args: argparse.Namespace, cfg):
    from research_lab.core.optimize import MlflowStudyTracker, NoopTracker

    if args.no_tracking or not cfg.tracking.enabled:
        return NoopTracker()
    return MlflowStudyTracker(args.mlflow, project=cfg.tracking.project,
                              strategy_family=cfg.tracking.strategy_family)


def cmd_run(args: argparse.Namespace) -> int:
    from research_lab.core.optimize import MarketHoursError
    from research_lab.core.optimize.stopping import StudyStopped, handle_sigterm
    from research_lab.core.optimize.usecase import optimize_symbol

    requests, cfg = _requests(args)
    handle_sigterm()  # SIGTERM stops the study cleanly (workers, running trials), as Ctrl-C
    for req in requests:
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=req.n_trials or cfg.study.n_trials, desc=req.study_name,
                       unit="trial", file=sys.stderr, dynamic_ncols=True)

        def progress(counts, bar=bar):
            done = counts["done"]
            bar.n = min(done, bar.total)
            bar.set_postfix(pruned=counts["pruned"], failed=counts["fail"], refresh=False)
            bar.refresh()

        try:
            report = optimize_symbol(req, tracker=lambda _req: _tracker(args, cfg),
                                     on_progress=progress if bar else None)
        except MarketHoursError as exc:
            print(f"research-lab optimize: refused: {exc}", file=sys.stderr)
            return 3
        except StudyStopped as exc:
            print(f"research-lab optimize: {exc}", file=sys.stderr)
            return 130
        finally:
            if bar is not None:
                bar.close()
        print("\n".join(report.summary_lines()))
        print()
        print(report.leaderboard_markdown())
        # the use case writes them to --out/<study> or $RESEARCH_LAB_HOME/studies/<study>
        print(f"\nplots and report.json in {req.output_dir}: "
              f"{', '.join(report.plots.values())}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from research_lab.core.optimize.config import load_optimize_config
    from research_lab.core.optimize.storage import StorageOptions, resolve_storage_url
    from research_lab.core.optimize.worker import (
        run_worker, serve_studies, standalone_worker_index,
    )

    cfg = load_optimize_config(args.config)
    url = resolve_storage_url(args.storage or cfg.storage.url)
    options = StorageOptions(cfg.storage.heartbeat_interval, cfg.storage.grace_period,
                             cfg.storage.max_retry, cfg.storage.journal_fsync,
                                 cfg.storage.pg_synchronous_commit)
    # worker i samples with seed + i: distinct per host and process, so that N containers
    # started alike (each worker pid 1) do not draw the same points
    index = args.worker_index if args.worker_index is not None else standalone_worker_index()
    if not args.study_name:  # a service: join whichever study wants trials
        total = serve_studies(url, heartbeat=options, worker_index=index,
                              idle_exit_s=args.idle_exit)
        print(f"worker: {total} trial(s); idle for {args.idle_exit:g} s: exiting")
        return 0
    result = run_worker(url, args.study_name, quota=args.n_trials, heartbeat=options,
                        worker_index=index)
    print(f"worker {result.worker}: {result.finished} trial(s); stopped: {result.stopped}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The HTTP API; binding anything but loopback needs RESEARCH_LAB_API_TOKEN (bearer)."""
    import ipaddress

    import uvicorn

    from research_lab.api import create_app
    from research_lab.api.app import TOKEN_VAR

    try:
        loopback = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        raise ValueError(f"--host {args.host[:60]!r} is not an IP address") from None
    if not loopback and not os.environ.get(TOKEN_VAR):
        raise ValueError(f"--host {args.host} is reachable from other machines: set {TOKEN_VAR} "
                         "(clients send 'Authorization: Bearer <token>') or bind 127.0.0.1")
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0
