"""``research-lab backtest``: one strategy on one or more symbols, with the full report.

Everything the user typed is checked before any backtest runs (strategy, parameters and their
bounds, broker settings, dates, files, output folders); a problem exits with code 2 and one
line naming it and the valid choices, and nothing is written. Then, per symbol: load the bars,
build the :class:`~research_lab.core.backtest.report.BacktestReport` (metrics, regimes,
benchmark), and only once every report exists, write the outputs.

Where the bars come from
    ``--symbols``: the use case :func:`research_lab.core.usecases.backtest_symbols` (the one the
    ``backtest_results`` asset calls): a symbol with open critical anomalies is refused (exit 2,
    one line naming the symbol, the session and ``research-lab quality ack``; nothing written);
    bars come from the market-data store when it holds the symbol, otherwise the configured
    source (synthetic by default). The benchmark ``^GSPC`` and the volatility index ``^VIX``
    come from the store when it covers the backtest's sessions, else from the source
    (:mod:`research_lab.core.backtest.market_context`).
    ``--csv FILE``: a Yahoo or generic OHLCV file (the csv source's reader; the symbol is the
    file name, ``orcl-1995-2014.txt`` -> ``ORCL``). No index data unless ``--benchmark-csv`` /
    ``--vix-csv`` are given: benchmark metrics are then NaN and the regimes use the
    realized-volatility stand-in on the symbol's own close; the report's notes say so.

The broker
    The lab's one broker (``broker:`` in ``config/research_lab.yaml``, see
    :func:`research_lab.core.backtest.costs.load_broker`); the flags override its fields.

What is written
    ``--json OUT``: for one symbol, the report document (``result.json``'s content); for
    several, one JSON object keyed by symbol. ``--out DIR``: ``DIR/<SYMBOL>/`` with
    ``result.json``, ``equity.png``, ``trades.csv`` and ``tearsheet.html`` (unless
    ``--no-tearsheet``), each folder written atomically. A short summary goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from research_lab.cli.common import iso_date, symbols_arg
from research_lab.core.usecases.history import between
from research_lab.cli.project import add_tracking_arguments, track_backtest

ENGINES = ("auto", "fast", "backtrader")  # core.backtest.ENGINES + auto (not imported: pandas)
EXAMPLES = """examples:
  research-lab backtest --strategy sma_cross --symbols ACME GLOBEX --param fast=10 --param slow=50
  research-lab backtest --strategy close_sma_cross --csv ../shared/data/orcl-1995-2014.txt \\
      --engine backtrader --json orcl.json --out runs/
  research-lab backtest --strategy macd --symbols ACME --percent 95 --commission 0.001 --out runs/
  research-lab backtest --strategy donchian_breakout --symbols ACME --cash 50000 \
      --commission 2 --mult 5 --margin 1000 --allow-short      # futures-like
  research-lab backtest --strategy strategies.sma_crossover.SMACrossover --symbols SPY  # yours
  research-lab backtest --strategy examples/strategies/pairs.py:PairsSpread \
      --symbols ACME GLOBEX --together                          # two datas, one strategy
"""


def register(sub) -> None:
    p = sub.add_parser(
        "backtest",
        help="backtest a strategy on stored, sourced or CSV bars (metrics, regimes, tearsheet)",
        description="Backtest one strategy on one or more symbols and report 50 metrics, a "
        "regime table and the benchmark comparison.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--strategy", required=True, metavar="NAME",
                   help="a registered strategy (research-lab strategy list), or a reference: "
                   "pkg.module.Class or path/file.py:Class (loading it runs its code)")
    p.add_argument("--strategy-path", action="append", default=[], metavar="DIR",
                   help="folder to import a strategy reference from (repeatable)")
    p.add_argument("--together", action="store_true",
                   help="feed all --symbols to one backtrader strategy as datas (pairs, spreads)")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--symbols", nargs="+", metavar="S",
                      help="symbols from the store, else the configured source")
    data.add_argument("--csv", metavar="FILE", type=Path, help="a Yahoo or generic OHLCV CSV file")
    p.add_argument("--benchmark-csv", metavar="FILE", type=Path,
                   help="benchmark index bars (CSV) instead of ^GSPC from the store/source")
    p.add_argument("--vix-csv", metavar="FILE", type=Path,
                   help="volatility index bars (CSV) instead of ^VIX from the store/source")
    p.add_argument("--start", type=iso_date, help="first session, YYYY-MM-DD")
    p.add_argument("--end", type=iso_date, help="last session, YYYY-MM-DD")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="strategy parameter (repeatable); unset ones use their defaults")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: the strategy's own (fast strategies: numba; backtrader ones: "
                   "backtrader); backtrader also runs a fast strategy, with the same orders")
    b = p.add_argument_group("broker (default: the lab's broker, `broker:` in "
                             "config/research_lab.yaml)")
    b.add_argument("--cash", type=float, help="starting cash")
    b.add_argument("--sizing", choices=("fixed", "percent"),
                   help="fixed: --stake units per entry; percent: --percent of equity")
    b.add_argument("--stake", type=float, help="units per entry (implies --sizing fixed)")
    b.add_argument("--percent", type=float,
                   help="percent of equity per entry (implies --sizing percent)")
    b.add_argument("--commission", type=float,
                   help="fraction of traded value (0.001 = 0.1%%), or per contract with --margin")
    b.add_argument("--mult", type=float, help="contract multiplier (needs --margin)")
    b.add_argument("--margin", type=float,
                   help="margin per contract: futures-like commission scheme")
    b.add_argument("--allow-short", action="store_const", const=True, default=None,
                   help="go short on sell signals")
    p.add_argument("--json", metavar="OUT", type=Path,
                   help="write the report as JSON (several symbols: an object keyed by symbol)")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="write result.json, equity.png, trades.csv, tearsheet.html "
                   "to DIR/<SYMBOL>/")
    p.add_argument("--no-tearsheet", action="store_true", help="skip the HTML tearsheet (~3 s)")
    add_tracking_arguments(p)
    p.set_defaults(func=cmd_backtest)
    _one_line_errors(p)


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """argparse prints its usage block before an error; here a usage error is one line."""

    def error(message: str):
        parser.exit(2, f"{parser.prog}: error: {message} (see --help)\n")

    parser.error = error  # type: ignore[method-assign]


class Job(NamedTuple):
    """One symbol to backtest: its bars, where they came from, what to compare against."""

    symbol: str
    bars: Any  # pd.DataFrame
    origin: str
    market: Any  # MarketContext


def parse_params(items: list[str], strategy: str) -> dict[str, Any]:
    """``["fast=10", ...]`` resolved against the strategy's space (defaults, types, bounds)."""
    from research_lab.core.strategies import get_strategy

    ref = get_strategy(strategy)  # unknown strategy: raises, listing the valid ones
    space = ref.space
    given: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(
                f"--param {item!r} is not NAME=VALUE; parameters of {strategy}: "
                + ", ".join(space.names)
            )
        if name in given:
            raise ValueError(f"--param {name} is given twice")
        given[name] = value.strip()
    return ref.resolve(given)


def _broker(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as overrides of the lab's broker (checked now: a bad value exits 2)."""
    from research_lab.core.backtest.costs import load_broker

    sizing = args.sizing or ("percent" if args.percent is not None else
                             "fixed" if args.stake is not None else None)
    given = {"cash": args.cash, "sizing": sizing, "stake": args.stake, "percent": args.percent,
             "commission": args.commission, "mult": args.mult, "margin": args.margin,
             "allow_short": args.allow_short}
    overrides = {k: v for k, v in given.items() if v is not None}
    load_broker(**overrides)
    return overrides


def _safe_name(symbol: str) -> str:
    return symbol.replace("/", "_").replace("\\", "_")


def _check_outputs(args: argparse.Namespace, symbols: list[str]) -> None:
    from research_lab.core.backtest.outputs import check_output_dir

    if args.json is not None and args.json.is_dir():
        raise ValueError(f"--json {args.json} is a folder; give a file path")
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise ValueError(f"--out {args.out} exists and is not a folder")
        for symbol in symbols:
            check_output_dir(args.out / _safe_name(symbol))


def _read_csv(path: Path, what: str):
    from research_lab.core.marketdata.sources import CsvDirSource, SourceError

    if not path.is_file():
        raise ValueError(f"{what} {path}: no such file")
    try:
        return CsvDirSource(path.parent).read(path)
    except SourceError as exc:
        raise ValueError(f"{what} {path}: {exc}") from None


def _given_market(args: argparse.Namespace):
    """A MarketContext from --benchmark-csv / --vix-csv, or None when neither is given."""
    from research_lab.core.backtest.market_context import MarketContext

    if args.benchmark_csv is None and args.vix_csv is None:
        return None
    frames = {
        key: _read_csv(path, f"--{key}-csv") if path is not None else None
        for key, path in (("benchmark", args.benchmark_csv), ("vix", args.vix_csv))
    }
    ctx = MarketContext.from_frames(frames["benchmark"], frames["vix"])
    paths = {"benchmark": args.benchmark_csv, "vix": args.vix_csv}
    lineage = {k: {**v, "origin": f"csv:{paths[k]}"} for k, v in ctx.lineage.items()}
    return MarketContext(ctx.benchmark_close, ctx.vix_close, lineage, ctx.notes)


def _csv_jobs(args: argparse.Namespace) -> list[Job]:
    from research_lab.core.backtest.market_context import MarketContext

    bars = _read_csv(args.csv, "--csv")
    symbol = str(bars["symbol"].iloc[0]) if len(bars) else args.csv.stem.upper()
    bars = between(bars, args.start, args.end, f"{symbol} ({args.csv})")
    market = _given_market(args) or MarketContext()
    return [Job(symbol, bars, f"csv:{args.csv}", market)]


def _open_store(url: str):
    """The store at ``url``, or None when it is an embedded file that does not exist (a
    backtest never creates a database)."""
    from research_lab.core.marketdata.store import BarStore

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    return BarStore.from_url(url)


def _symbol_runs(args: argparse.Namespace, ref: Any, symbols: list[str],
                 params: dict[str, Any], broker: dict[str, Any], bar) -> list:
    """``--symbols``: the backtest use case (gate, history, context, reports, files, MLflow)."""
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.settings import load_settings
    from research_lab.core.usecases import Tracking, backtest_symbols

    settings = load_settings()
    sources: list[Any] = []

    def source():
        if not sources:
            options = {**settings.source_options(), "calendar": settings.calendar}
            sources.append(make_source(settings.source_kind, **options))
        return sources[0]

    store = _open_store(settings.resolved_store_url)
    made: list[Any] = []  # the MLflow tracker, made when the first run is logged

    def tracker():
        from research_lab.core.tracking.tracker import ExperimentTracker

        made.append(ExperimentTracker(args.mlflow or None))
        return made[-1]

    tracking = (Tracking(tracker, args.project, args.asset_class, args.strategy_family)
                if args.mlflow is not None else None)
    try:
        return backtest_symbols(
            symbols, ref, params, store=store, source=source, fetch_missing=True,
            start=args.start, end=args.end, broker=broker, engine=args.engine,
            together=args.together,
            market=_given_market(args),
            folder=(lambda s: args.out / _safe_name(s)) if args.out is not None else None,
            tearsheet=not args.no_tearsheet, tracking=tracking,
            progress=lambda _symbol: bar.update(1),
        )
    finally:
        for t in made:
            t.close()
        if store is not None:
            store.close()


def _deliver(report, args: argparse.Namespace) -> dict[str, Path]:
    """Everything that happens to a finished report: its files (``--out``), then MLflow
    (``--mlflow``: never fails the backtest; an unreachable server sends the run to the outbox)."""
    from research_lab.core.backtest.outputs import write_outputs

    files = {}
    if args.out is not None:
        files = write_outputs(report, args.out / _safe_name(report.symbol),
                              tearsheet=not args.no_tearsheet)
    track_backtest(args, report, files)
    return files


def cmd_backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from research_lab.core.backtest.costs import load_broker
    from research_lab.core.backtest.outputs import write_json
    from research_lab.core.backtest.report import backtest_report

    # 1. everything the user typed, before any data is read or anything written
    from research_lab.core.strategies import get_strategy

    ref = get_strategy(args.strategy, args.strategy_path)  # loads (runs) a referenced module
    params = parse_params(args.param, args.strategy)
    if args.mlflow is not None:
        from research_lab.core.tracking.naming import ExperimentName

        ExperimentName(args.project, args.asset_class, args.strategy_family, ref.name)
    broker = _broker(args)
    if args.start and args.end and args.end < args.start:
        raise ValueError(f"--end {args.end} is before --start {args.start}")
    symbols = symbols_arg(args.symbols) if args.symbols else []
    if args.symbols is not None and not symbols:
        raise ValueError("--symbols: no symbol given")
    if args.together and len(symbols) < 2:
        raise ValueError("--together needs at least two --symbols")
    _check_outputs(args, symbols or [_csv_symbol(args.csv)])

    bar = tqdm(total=len(symbols) or 1, desc=f"backtest {args.strategy}", unit="symbol",
               file=sys.stderr, disable=None)
    try:
        if args.csv is None:
            # 2.-4. the use case: gate, data, every report, then every output
            runs = _symbol_runs(args, ref, symbols, params, broker, bar)
            reports = [r.report for r in runs]
            written = {r.symbol: r.files for r in runs}
            _print_tracked(runs)
        else:
            job = _csv_jobs(args)[0]  # a bad file stops here, with nothing written
            reports = [backtest_report(job.bars, ref, params, engine=args.engine,
                                       market=job.market, origin=job.origin,
                                       **load_broker(**broker).to_dict())]
            bar.update(1)
            written = {r.symbol: _deliver(r, args) for r in reports}
    finally:
        bar.close()
    if args.json is not None:
        docs = {r.symbol: r.to_dict() for r in reports}
        write_json(args.json, next(iter(docs.values())) if len(docs) == 1 else docs)

    for report in reports:
        print(report.summary_line())
        for note in report.notes:
            print(f"  note: {note}")
        for path in written[report.symbol].values():
            print(f"  wrote {path}")
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


def _print_tracked(runs) -> None:
    for run in runs:
        if run.tracked is None:
            continue
        if run.tracked.run_id:
            print(f"mlflow: run {run.tracked.run_id} in {run.tracked.experiment}",
                  file=sys.stderr)
        else:
            print(f"mlflow: not written ({run.tracked.error}); the run waits in the outbox "
                  "(research-lab project replay-outbox)", file=sys.stderr)


def _csv_symbol(path: Path) -> str:
    from research_lab.core.marketdata.sources import symbol_for_stem

    return symbol_for_stem(path.stem)
