"""``research-lab project``: experiments by convention, leaderboards, comparisons, lifecycle.

::

    research-lab project create Q1_2025.Equities.MeanReversion.SMACrossover
    research-lab project list
    research-lab project leaderboard --project Q1_2025 --asset-class Equities --metric sharpe --top 10
    research-lab project compare RUN_ID RUN_ID [RUN_ID ...]
    research-lab project find --project Q1_2025 --param fast=10 --param slow=30 [--tag status=testing]
    research-lab project status RUN_ID [--set testing]
    research-lab project archive --project Q1_2025 --before 2025-01-01 [--below sharpe=0.5] [--dry-run]
    research-lab project cleanup --project Q1_2025 [--dry-run]
    research-lab project replay-outbox [--list]
    research-lab project migrate --db postgresql://user@host:5432/mlflow

Every action takes ``--uri`` (else ``RESEARCH_LAB_MLFLOW_URI`` / ``MLFLOW_TRACKING_URI``, else
the embedded SQLite store) and most take ``--json``. The logic lives in
``research_lab.core.tracking``; this module parses and prints.

:func:`add_tracking_arguments` and :func:`track_backtest` give ``research-lab backtest`` its
``--mlflow``, ``--project``, ``--asset-class``, ``--strategy-family`` flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from research_lab.cli.common import iso_date, positive_int


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return key, value


def _threshold(text: str) -> tuple[str, float]:
    key, value = _pair(text)
    try:
        return key, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None


def _scope_args(p: argparse.ArgumentParser, *, project_required: bool = False) -> None:
    p.add_argument("--project", required=project_required, help="e.g. Q1_2025")
    p.add_argument("--asset-class", help="e.g. Equities")
    p.add_argument("--strategy-family", help="e.g. MeanReversion")
    p.add_argument("--strategy", help="e.g. SMACrossover")


def _common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    p.add_argument("--uri", help="tracking URI (default: RESEARCH_LAB_MLFLOW_URI, "
                   "MLFLOW_TRACKING_URI, else the embedded SQLite store)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def register(sub) -> None:
    p = sub.add_parser("project", help="MLflow projects: create, list, leaderboards, lifecycle")
    ps = p.add_subparsers(dest="project_command", required=True, metavar="ACTION")

    a = ps.add_parser("create", help="create an experiment {Project}.{AssetClass}."
                      "{StrategyFamily}.{Strategy} (idempotent)")
    a.add_argument("name", help="e.g. Q1_2025.Equities.MeanReversion.SMACrossover")
    _common(a, json_flag=False)
    a.set_defaults(func=cmd_create)

    a = ps.add_parser("list", help="projects and their experiments")
    _common(a)
    a.set_defaults(func=cmd_list)

    a = ps.add_parser("leaderboard", help="top runs by a metric in a project (or narrower)")
    _scope_args(a, project_required=True)
    a.add_argument("--metric", required=True, help="e.g. sharpe")
    a.add_argument("--top", type=positive_int, default=10)
    a.add_argument("--ascending", action="store_true",
                   help="lowest first (e.g. volatility; drawdowns are negative: "
                   "the default order already puts the shallowest first)")
    a.add_argument("--status", help="only runs with this status")
    a.add_argument("--kind", help="backtest | study | trial | policy")
    _common(a)
    a.set_defaults(func=cmd_leaderboard)

    a = ps.add_parser("compare", help="runs side by side: params, metrics, lineage")
    a.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    _common(a)
    a.set_defaults(func=cmd_compare)

    a = ps.add_parser("find", help="runs by parameter and tag values")
    _scope_args(a)
    a.add_argument("--param", type=_pair, action="append", default=[], metavar="NAME=VALUE")
    a.add_argument("--tag", type=_pair, action="append", default=[], metavar="NAME=VALUE")
    a.add_argument("--where", help="extra MLflow filter, e.g. \"metrics.sharpe > 1\"")
    a.add_argument("--limit", type=positive_int, default=25,
                   help="newest N matching runs (default 25: MLflow returns each run whole, "
                   "~3-8 ms per run through a server)")
    a.add_argument("--include-archived", action="store_true")
    _common(a)
    a.set_defaults(func=cmd_find)

    a = ps.add_parser("status", help="show or change a run's status "
                      "(research -> testing -> production -> archived)")
    a.add_argument("run_id")
    a.add_argument("--set", dest="new_status", metavar="STATUS")
    _common(a, json_flag=False)
    a.set_defaults(func=cmd_status)

    a = ps.add_parser("archive", help="archive runs older than a date and/or below a metric")
    _scope_args(a, project_required=True)
    a.add_argument("--before", type=iso_date, help="runs started before this date")
    a.add_argument("--below", type=_threshold, metavar="METRIC=VALUE",
                   help="runs whose metric is below the value")
    a.add_argument("--include-production", action="store_true",
                   help="also archive runs in production (skipped by default)")
    a.add_argument("--dry-run", action="store_true")
    _common(a)
    a.set_defaults(func=cmd_archive)

    a = ps.add_parser("cleanup", help="delete the artifact files of archived runs")
    _scope_args(a)
    a.add_argument("--dry-run", action="store_true")
    _common(a)
    a.set_defaults(func=cmd_cleanup)

    a = ps.add_parser("replay-outbox", help="write runs waiting in the local outbox")
    a.add_argument("--list", action="store_true", help="only list what waits")
    a.add_argument("--limit", type=positive_int)
    a.add_argument("--outbox", help="outbox folder (default: RESEARCH_LAB_MLFLOW_OUTBOX or "
                   "$RESEARCH_LAB_HOME/mlflow/outbox)")
    _common(a)
    a.set_defaults(func=cmd_replay)

    a = ps.add_parser("migrate", help="add the indexes MLflow lacks (idempotent)")
    a.add_argument("--db", help="the MLflow database URL (the server's --backend-store-uri); "
                   "default: the tracking URI when it is a database")
    a.add_argument("--dry-run", action="store_true")
    _common(a, json_flag=False)
    a.set_defaults(func=cmd_migrate)


# -- helpers -------------------------------------------------------------------------------
def _scope(args):
    from research_lab.core.tracking.naming import Scope

    return Scope(args.project, args.asset_class, args.strategy_family, args.strategy)


def _client(args):
    from research_lab.core.tracking.queries import open_client

    return open_client(args.uri)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(headers: list[str], rows: list[list[Any]], out=None) -> None:
    out = out or sys.stdout
    cells = [[_fmt(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), file=out)
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip(), file=out)


def _run_table(rows, metric: str | None = None, params: int = 4) -> None:
    keys: list[str] = []
    for r in rows:
        for k in r.params:
            if k not in keys and not k.startswith("broker.") and len(keys) < params:
                keys.append(k)
    headers = ["#", "run_id", "run_name", "experiment", "status"]
    headers += [metric] if metric else ["started"]
    headers += keys
    table = []
    for i, r in enumerate(rows, 1):
        line = [i, r.run_id, (r.run_name or "")[:32], r.experiment, r.status]
        line += [r.metrics.get(metric)] if metric else [r.started]
        line += [r.params.get(k) for k in keys]
        table.append(line)
    print_table(headers, table)


# -- commands ------------------------------------------------------------------------------
def cmd_create(args) -> int:
    from research_lab.core.tracking import lifecycle
    from research_lab.core.tracking.config import resolve_target
    from research_lab.core.tracking.naming import ExperimentName

    name = ExperimentName.parse(args.name)
    exp_id = lifecycle.create_experiment(resolve_target(args.uri), name)
    print(f"experiment {name} (id {exp_id})")
    return 0


def cmd_list(args) -> int:
    from research_lab.core.tracking.queries import list_projects

    projects = list_projects(_client(args))
    if args.json:
        _print_json(projects)
        return 0
    if not projects:
        print("no projects yet (research-lab project create NAME)")
    for project, names in projects.items():
        print(project)
        for name in names:
            print(f"  {name}")
    return 0


def cmd_leaderboard(args) -> int:
    from research_lab.core.tracking.queries import leaderboard

    tags = {"status": args.status} if args.status else None
    rows = leaderboard(_client(args), _scope(args), args.metric, top=args.top,
                       ascending=args.ascending, tags=tags, kind=args.kind)
    if args.json:
        _print_json([r.to_dict() for r in rows])
    elif not rows:
        print(f"no runs with metric {args.metric!r} in {_scope(args)}")
    else:
        _run_table(rows, args.metric)
    return 0


def cmd_compare(args) -> int:
    from research_lab.core.tracking.queries import compare

    table = compare(_client(args), args.run_ids)
    if args.json:
        _print_json(table)
        return 0
    headers = ["", *[(r["run_name"] or r["run_id"])[:24] for r in table["runs"]]]
    rows = [["run_id", *[r["run_id"] for r in table["runs"]]]]
    for section in ("params", "metrics", "tags"):
        rows.append([f"[{section}]"] + [""] * len(table["runs"]))
        for key, values in table[section].items():
            mark = " *" if section == "params" and key in table["differs"] else ""
            rows.append([key + mark, *values])
    print_table(headers, rows)
    if table["differs"]:
        print(f"\n* differs: {', '.join(table['differs'])}")
    return 0


def cmd_find(args) -> int:
    from research_lab.core.tracking.queries import find_runs

    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    rows = find_runs(_client(args), _scope(args), params=dict(args.param), tags=dict(args.tag),
                     where=args.where, limit=args.limit + 1,
                     include_archived=args.include_archived)
    more, rows = len(rows) > args.limit, rows[:args.limit]
    if args.json:
        _print_json([r.to_dict() for r in rows])
    elif not rows:
        print("no matching runs")
    else:
        _run_table(rows)
        if more:
            print(f"(the newest {args.limit}; --limit N shows more)")
    return 0


def cmd_status(args) -> int:
    from research_lab.core.tracking import lifecycle
    from research_lab.core.tracking import tags as T
    from research_lab.core.tracking.queries import check_run_id

    check_run_id(args.run_id)
    client = _client(args)
    if args.new_status is None:
        run = client.get_run(args.run_id)
        status = run.data.tags.get(T.STATUS, "research")
        allowed = ", ".join(T.TRANSITIONS.get(status, ()))
        print(f"{args.run_id}: {status} (can move to: {allowed})")
        return 0
    old, new = lifecycle.set_status(client, args.run_id, args.new_status)
    print(f"{args.run_id}: {old} -> {new}" if old != new else f"{args.run_id}: already {new}")
    return 0


def cmd_archive(args) -> int:
    from research_lab.core.tracking.lifecycle import ArchiveRule, archive_runs

    metric, below = args.below if args.below else (None, None)
    rule = ArchiveRule(before=args.before, metric=metric, below=below,
                       include_production=args.include_production)
    rows = archive_runs(_client(args), _scope(args), rule, dry_run=args.dry_run)
    if args.json:
        _print_json([r.to_dict() for r in rows])
        return 0
    verb = "would archive" if args.dry_run else "archived"
    print(f"{verb} {len(rows)} run(s) in {_scope(args)}")
    if rows:
        _run_table(rows, metric)
    return 0


def cmd_cleanup(args) -> int:
    from research_lab.core.tracking.lifecycle import cleanup_artifacts

    cleaned = cleanup_artifacts(_client(args), _scope(args), dry_run=args.dry_run)
    if args.json:
        _print_json([c.__dict__ for c in cleaned])
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    files = sum(c.files for c in cleaned)
    print(f"{verb} {files} artifact file(s) of {len(cleaned)} archived run(s)")
    return 0


def cmd_replay(args) -> int:
    from research_lab.core.tracking.tracker import ExperimentTracker

    tracker = ExperimentTracker(args.uri, outbox_dir=args.outbox, background=False)
    try:
        if args.list:
            entries = [e.record() for e in tracker.outbox.entries()]
            if args.json:
                _print_json([{"key": r.key, "experiment": r.experiment, "run_name": r.run_name,
                              "attempts": r.attempts, "last_error": r.last_error}
                             for r in entries])
            else:
                print(f"{len(entries)} run(s) wait in {tracker.outbox.pending_dir}")
                print_table(["key", "experiment", "run_name", "attempts", "last_error"],
                            [[r.key, r.experiment, r.run_name, r.attempts,
                              (r.last_error or "")[:60]] for r in entries])
            return 0
        report = tracker.replay_outbox(limit=args.limit)
    finally:
        tracker.close()
    if args.json:
        _print_json({"written": report.written, "failed": report.failed, "left": report.left,
                     "busy": report.busy})
    else:
        print(f"outbox {tracker.outbox.root} -> {tracker.uri}: {report.summary()}")
        for key, error in report.failed:
            print(f"  {key}: {error}")
    return 1 if report.failed else 0


def cmd_migrate(args) -> int:
    from research_lab.core.settings import mask_url
    from research_lab.core.tracking import migrate
    from research_lab.core.tracking.config import resolve_target

    db = args.db
    if db is None:
        target = resolve_target(args.uri)
        if target.is_server:
            raise ValueError("the tracking URI is a server; give --db with its database URL "
                             "(the server's --backend-store-uri)")
        db = target.uri
    for name, created in migrate.apply(db, dry_run=args.dry_run):
        state = ("would create" if args.dry_run else "created") if created else "present"
        print(f"{name}: {state}")
    if not args.dry_run:
        print(f"database {mask_url(db)}: indexes up to date")
    return 0


# -- for `research-lab backtest` -----------------------------------------------------------
def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--mlflow [URI]``, ``--project``, ``--asset-class``, ``--strategy-family``."""
    g = parser.add_argument_group("tracking (MLflow)")
    g.add_argument("--mlflow", nargs="?", const="", default=None, metavar="URI",
                   help="log the run to MLflow (URI optional: default RESEARCH_LAB_MLFLOW_URI, "
                   "MLFLOW_TRACKING_URI, else the embedded store)")
    g.add_argument("--project", default="Default", help="experiment project (default: Default)")
    g.add_argument("--asset-class", default="Equities", help="default: Equities")
    g.add_argument("--strategy-family", default="General", help="default: General")


def track_backtest(args, report, files=None, *, lineage=None):
    """Log ``report`` if ``--mlflow`` was given; returns the ticket (or None).

    ``report``: a ``BacktestReport`` (with ``files``, the ``{kind: path}`` of
    ``write_outputs``, logged as artifacts) or a bare ``BacktestResult``. Never raises for an
    unreachable server: the run goes to the outbox and a line on stderr says so."""
    if args.mlflow is None:
        return None
    from research_lab.core.tracking.backtest import log_backtest, log_backtest_report
    from research_lab.core.tracking.naming import ExperimentName
    from research_lab.core.tracking.tracker import ExperimentTracker

    result = getattr(report, "result", report)
    name = ExperimentName(args.project, args.asset_class, args.strategy_family, result.strategy)
    with ExperimentTracker(args.mlflow or None) as tracker:
        if hasattr(report, "metrics") and hasattr(report, "result"):
            ticket = log_backtest_report(tracker, name, report, files, lineage=lineage)
        else:
            ticket = log_backtest(tracker, name, report, lineage=lineage,
                                  extra_artifacts={Path(p).name: p for p in (files or {}).values()})
    if ticket.run_id:
        print(f"mlflow: run {ticket.run_id} in {name}", file=sys.stderr)
    else:
        print(f"mlflow: not written ({ticket.error}); the run waits in the outbox "
              f"{tracker.outbox.pending_dir} (research-lab project replay-outbox)",
              file=sys.stderr)
    return ticket
