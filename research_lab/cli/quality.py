"""``research-lab quality``: the data quality sentinel from the command line.

::

    research-lab quality score --symbols ACME --start 2024-01-02 [--end ...]   # via Dagster
    research-lab quality open [ACME ...] [--check]       # open criticals (--check: exit 1 if any)
    research-lab quality report [--markdown FILE]        # KPIs: anomalies per ingest batch,
                                                         # time to acknowledge, false positives
    research-lab quality ack ACME 2024-03-05 --verdict false_positive --reason "earnings gap" \\
        [--author NAME]
    research-lab quality calibrate [--symbols ...] [--out config/quality_thresholds.yaml]
    research-lab quality evaluate [--data-dir ../shared/data] [--per-kind 20] [--seed 7]
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from research_lab.cli.common import iso_date, symbols_arg

ROOT = Path(__file__).resolve().parents[2]


def register(sub) -> None:
    p = sub.add_parser("quality", help="data quality sentinel: scores, gates, calibration")
    q = p.add_subparsers(dest="quality_command", required=True, metavar="ACTION")

    sc = q.add_parser("score", help="materialize anomaly_scores (one Dagster run for the symbols)")
    sc.add_argument("--symbols", nargs="+", required=True)
    sc.add_argument("--start", type=iso_date, required=True, help="first session, YYYY-MM-DD")
    sc.add_argument("--end", type=iso_date, help="last session (default: last completed session)")
    sc.add_argument("--changed-only", action="store_true",
                    help="score only sessions whose bars changed since they were scored "
                    "(default: every stored session of the range)")
    sc.set_defaults(func=cmd_score)

    op = q.add_parser("open", help="list open (unacknowledged) critical anomalies")
    op.add_argument("symbols", nargs="*", help="symbols (default: all)")
    op.add_argument("--check", action="store_true", help="exit with code 1 when there is any")
    op.set_defaults(func=cmd_open)

    rep = q.add_parser("report", help="the anomaly report's KPIs (as the anomaly_report asset)")
    rep.add_argument("--markdown", type=Path, help="also write the whole report to this file")
    rep.set_defaults(func=cmd_report)

    ack = q.add_parser("ack", help="acknowledge an anomaly as a false positive or confirm it")
    ack.add_argument("symbol")
    ack.add_argument("session", type=iso_date)
    ack.add_argument("--verdict", required=True, choices=("false_positive", "confirmed"))
    ack.add_argument("--reason", required=True, help="why (kept with the override)")
    ack.add_argument("--author", help="who (default: the OS user)")
    ack.set_defaults(func=cmd_ack)

    cal = q.add_parser("calibrate", help="fit thresholds per symbol on stored history, write YAML")
    cal.add_argument("--symbols", nargs="+", help="default: every symbol in the store")
    cal.add_argument("--out", type=Path, help="default: the thresholds file in use "
                     "(RESEARCH_LAB_QUALITY_THRESHOLDS or config/quality_thresholds.yaml)")
    cal.add_argument("--target-rate", type=float, default=0.002,
                     help="share of ordinary sessions each model may warn on (default 0.002)")
    cal.add_argument("--until", type=iso_date, help="use history up to this session only")
    cal.set_defaults(func=cmd_calibrate)

    ev = q.add_parser("evaluate", help="inject labeled anomalies into real series and measure")
    ev.add_argument("--data-dir", type=Path,
                    help="folder of Yahoo CSVs (default: RESEARCH_LAB_SHARED_DATA, else "
                    "../shared/data beside the project)")
    ev.add_argument("--symbols", nargs="+", default=["ORCL", "NVDA", "YHOO"])
    ev.add_argument("--per-kind", type=int, default=20, help="anomalies per kind and symbol")
    ev.add_argument("--seed", type=int, default=7)
    ev.add_argument("--no-calibrate", action="store_true", help="use the built-in thresholds")
    ev.add_argument("--markdown", type=Path, help="also write the table to this file")
    ev.set_defaults(func=cmd_evaluate)


def _store():
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.settings import load_settings

    return BarStore.from_url(load_settings().resolved_store_url)


def cmd_score(args: argparse.Namespace) -> int:
    """``anomaly_scores`` over symbols × the years of [start, end], restricted by run config to
    that range: one run per block of symbols contiguous in the ``symbol`` partitions (one run
    for symbols ingested together)."""
    import dagster as dg

    from research_lab.cli.data import last_completed_session
    from research_lab.defs.marketdata.backfill import add_symbols, symbol_blocks
    from research_lab.defs.marketdata.requests import range_tags, session_config
    from research_lab.defs.quality.assets import anomaly_scores
    from research_lab.defs.quality.jobs import QUALITY_TAGS
    from research_lab.defs.quality.resources import AlertWebhookResource
    from research_lab.defs.resources import default_resources

    end = args.end or last_completed_session()
    if end < args.start:
        raise ValueError(f"--end {end} is before --start {args.start}")
    symbols = symbols_arg(args.symbols)
    failed = []
    with dg.DagsterInstance.get() as instance:
        order = add_symbols(instance, symbols)
        for block in symbol_blocks(order, symbols):
            config = session_config(args.start, end, "anomaly_scores",
                                    rescore=not args.changed_only)
            result = dg.materialize(
                [anomaly_scores], instance=instance,
                resources={**default_resources(), "alert_webhook": AlertWebhookResource()},
                tags={**QUALITY_TAGS, **range_tags(block, args.start, end)},
                raise_on_error=False,
                # a failing blocking check (an open critical) fails the step after the
                # materialization: the summary below says so without a stack trace
                run_config={**config,
                            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
            mats = result.asset_materializations_for_node("anomaly_scores")
            if not mats:
                failed += block
                errors = [_root_cause(e.event_specific_data.error) for e in result.all_events
                          if e.is_step_failure and e.event_specific_data is not None]
                name = block[0] if len(block) == 1 else f"{block[0]}..{block[-1]}"
                print(f"{name}: scoring failed: {errors[0] if errors else 'see the run logs'}",
                      file=sys.stderr)
                continue
            per_symbol = mats[0].metadata["per_symbol"].value
            for symbol in block:
                c = per_symbol.get(symbol, {"sessions": 0, "warning": 0, "critical": 0,
                                            "open": 0})
                print(f"{symbol}: {c['sessions']} sessions, {c['warning']} warning, "
                      f"{c['critical']} critical, {c['open']} open")
    return 1 if failed else 0


def _root_cause(error) -> str:
    """The innermost error message of a Dagster step failure (the user's problem, not Dagster's
    wrapper)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip().splitlines()[-1]


def cmd_open(args: argparse.Namespace) -> int:
    from research_lab.core.quality.gate import open_criticals

    store = _store()
    try:
        found = [a for s in (symbols_arg(args.symbols) or [None]) for a in open_criticals(store, s)]
    finally:
        store.close()
    for a in found:
        print(f"{a.symbol:8s} {a.session}  {'; '.join(a.reasons)}")
    if not found:
        print("no open critical anomaly", file=sys.stderr)
    return 1 if (args.check and found) else 0


def cmd_report(args: argparse.Namespace) -> int:
    from research_lab.core.usecases import quality_report
    from research_lab.core.usecases.quality import kpi_markdown

    if args.markdown is not None and args.markdown.is_dir():
        raise ValueError(f"--markdown {args.markdown} is a folder; give a file path")
    store = _store()
    try:
        out = quality_report(store)
    finally:
        store.close()
    r = out.report
    print(f"{r.partitions} scored partitions, {r.open_count} open critical")
    print(kpi_markdown(out.kpis).replace("**", ""))
    for row in out.batches.head(10).itertuples(index=False):
        print(f"  batch {row.written_at:%Y-%m-%d %H:%M:%S} UTC: {row.partitions} partitions, "
              f"{row.flagged} flagged")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(out.markdown() + "\n")
        print(f"wrote {args.markdown}")
    return 0


def cmd_ack(args: argparse.Namespace) -> int:
    from research_lab.core.inputs import symbol
    from research_lab.core.quality.gate import acknowledge

    name = symbol(args.symbol)
    store = _store()
    try:
        row = acknowledge(store, name, args.session, verdict=args.verdict,
                          reason=args.reason, author=args.author or getpass.getuser())
    finally:
        store.close()
    print(f"{row['symbol']} {row['session']}: {row['verdict']} by {row['author']} ({row['reason']})")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.quality.calibration import calibrate_bars
    from research_lab.core.quality.thresholds import DEFAULT_PATH, resolve_path, save_thresholds
    from research_lab.core.settings import load_settings

    if not 0 < args.target_rate < 0.1:
        raise ValueError(f"--target-rate must be in (0, 0.1), got {args.target_rate}")
    out = args.out or resolve_path() or DEFAULT_PATH
    settings = load_settings()
    cal = TradingCalendar(settings.calendar)
    store = _store()
    fitted, info = {}, {}
    try:
        symbols = symbols_arg(args.symbols) if args.symbols else store.symbols()
        if not symbols:
            raise ValueError(f"the store {store.url} holds no symbols: ingest some first")
        for symbol in symbols:
            bars = store.read_bars(symbol, None, args.until)
            if bars.empty:
                raise ValueError(f"no bars stored for {symbol}")
            days = bars["session"].dt.date
            th, meta = calibrate_bars(bars, exchange_sessions=cal.sessions(days.min(), days.max()),
                                      target_rate=args.target_rate)
            fitted[symbol], info[symbol] = th, meta
            print(f"{symbol:8s} {meta['span']}  jump warn {th.jump_warn_z:.1f} crit "
                  f"{th.jump_crit_z:.1f}  IF warn {th.if_warn:.3f} crit {th.if_crit:.3f}  "
                  f"prophet warn {th.prophet_warn_z:.1f} crit {th.prophet_crit_z:.1f}")
    finally:
        store.close()
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = save_thresholds(out, fitted, info=info, target_rate=args.target_rate, calibrated_at=stamp)
    print(f"wrote {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.quality.evaluation import evaluate, load_series, markdown

    if args.per_kind < 1:
        raise ValueError(f"--per-kind must be at least 1, got {args.per_kind}")
    data_dir = args.data_dir or Path(
        os.environ.get("RESEARCH_LAB_SHARED_DATA", ROOT.parent / "shared" / "data")
    )
    if not data_dir.is_dir():
        raise ValueError(f"--data-dir {data_dir} is not a folder")
    series = load_series(data_dir, symbols_arg(args.symbols))
    result = evaluate(series, TradingCalendar(), per_kind=args.per_kind, seed=args.seed,
                      calibrate=not args.no_calibrate)
    text = markdown(result)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    return 0
