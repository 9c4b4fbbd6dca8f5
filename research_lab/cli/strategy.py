"""``research-lab strategy``: list, show, check and register strategies.

``list`` imports every configured strategy source (``config/strategies.yaml``,
``RESEARCH_LAB_STRATEGIES``) and prints each strategy's name, kind, parameters with their
defaults and source file; sources that failed to import are listed after, one line each.
``show NAME`` prints one strategy (a registered name or a reference). ``check NAME`` runs the
look-ahead check (and engine parity for a fast strategy) on synthetic bars, or on ``--symbols``
from the configured source, or on ``--csv`` files: exit code 0 when every check passes, 1
when one fails, 2 for bad input. ``register`` adds every discovered strategy as a partition
of the Dagster instance (``$DAGSTER_HOME``) so that ``backtest_results`` and
``optimization_study`` show it; the ``strategy_partitions_sensor`` does the same on a tick.

Loading a strategy executes its module's code: only load code you trust.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from research_lab.cli.common import iso_date

EXAMPLES = """examples:
  research-lab strategy list
  research-lab strategy show sma_cross
  research-lab strategy check strategies.sma_crossover.SMACrossover --strategy-path examples
  research-lab strategy check examples/strategies/pairs.py:PairsSpread --symbols ACME GLOBEX
  research-lab strategy register            # Dagster partitions for every discovered strategy
"""


def register(sub) -> None:
    p = sub.add_parser("strategy", help="list, show, check and register strategies",
                       description=__doc__.split("\n\n")[1], epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="strategy_command", required=True, metavar="ACTION")

    ls = cmds.add_parser("list", help="every discovered strategy: name, kind, params, file")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_list)

    show = cmds.add_parser("show", help="one strategy: kind, parameters, file, code version")
    _name_args(show)
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=cmd_show)

    check = cmds.add_parser("check", help="look-ahead check (+ engine parity for fast ones)")
    _name_args(check)
    check.add_argument("--symbols", nargs="+", metavar="S",
                       help="bars from the configured source (several: datas of one strategy)")
    check.add_argument("--csv", nargs="+", type=Path, metavar="FILE", help="OHLCV CSV file(s)")
    check.add_argument("--start", type=iso_date, default=date(2019, 1, 1), help="YYYY-MM-DD")
    check.add_argument("--end", type=iso_date, default=date(2022, 12, 31), help="YYYY-MM-DD")
    check.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    check.add_argument("--cuts", type=int, default=8, help="cut points of the look-ahead check")
    check.set_defaults(func=cmd_check)

    reg = cmds.add_parser("register", help="add discovered strategies as Dagster partitions")
    reg.set_defaults(func=cmd_register)


def _name_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="registered name, pkg.mod.Class or file.py:Class")
    p.add_argument("--strategy-path", action="append", default=[], metavar="DIR",
                   help="folder to import a reference from (repeatable)")


def _params_text(ref) -> str:
    return ", ".join(f"{p.name}={p.default!r}" for p in ref.space.params)


def cmd_list(args: argparse.Namespace) -> int:
    from research_lab.core.strategies import discover

    found = discover()
    refs = list(found.strategies.values())
    if args.json:
        print(json.dumps({"strategies": [r.describe() for r in refs], "problems": found.problems},
                         indent=2, default=str))
        return 0
    width = max((len(r.name) for r in refs), default=4)
    for r in refs:
        print(f"{r.name:<{width}}  {r.kind:<10}  {_params_text(r)}  [{r.where}]")
    for problem in found.problems:
        print(f"could not load: {problem}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from research_lab.core.strategies import get_strategy

    ref = get_strategy(args.name, args.strategy_path)
    info = ref.describe()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"{ref.name} ({ref.kind}): {info['description']}")
    print(f"  class:   {info['class']}")
    print(f"  file:    {ref.where}")
    print(f"  version: code {info['code_version']}, package {info['package_version'] or 'none'}")
    for name, p in info["params"].items():
        print(f"  param {name} = {p['default']!r}  ({p['accepts']})")
    for c in info["constraints"]:
        print(f"  constraint {c}")
    return 0


def _check_bars(args: argparse.Namespace) -> list:
    if args.csv:
        from research_lab.core.marketdata.sources import CsvDirSource, SourceError

        out = []
        for path in args.csv:
            if not path.is_file():
                raise ValueError(f"--csv {path}: no such file")
            try:
                out.append(CsvDirSource(path.parent).read(path))
            except SourceError as exc:
                raise ValueError(f"--csv {path}: {exc}") from None
        return out
    if not args.symbols:
        from research_lab.core.strategies.check import default_bars

        return default_bars()
    from research_lab.core.marketdata.sources import SourceError, make_source
    from research_lab.core.settings import load_settings

    settings = load_settings()
    source = make_source(settings.source_kind,
                         **{**settings.source_options(), "calendar": settings.calendar})
    try:
        return [source.fetch(s, args.start, args.end) for s in args.symbols]
    except SourceError as exc:
        raise ValueError(str(exc)) from None


def cmd_check(args: argparse.Namespace) -> int:
    from research_lab.cli.backtest import parse_params
    from research_lab.core.strategies import check_strategy, get_strategy

    ref = get_strategy(args.name, args.strategy_path)
    params = parse_params(args.param, args.name)
    if args.cuts < 1:
        raise ValueError(f"--cuts {args.cuts}: need at least 1")
    bars = _check_bars(args)
    result = check_strategy(ref, bars[0], bars[1:], params, cuts=args.cuts)
    for line in result.lines():
        print(f"{ref.name}: {line}")
    return 0 if result.ok else 1


def cmd_register(args: argparse.Namespace) -> int:
    import dagster as dg

    from research_lab.defs.backtest.partitions import register_strategies

    with dg.DagsterInstance.get() as instance:
        added, problems = register_strategies(instance)
    print(f"registered {len(added)} new strategy partition(s): {', '.join(added) or 'none'}")
    for problem in problems:
        print(f"could not load: {problem}")
    return 0
