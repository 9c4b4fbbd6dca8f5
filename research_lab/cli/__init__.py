"""The ``research-lab`` command line.

Each sub-command lives in its own module with ``register(subparsers)``; imports of heavy
libraries happen inside the command functions. A bad argument exits with code 2 and one line
naming the problem (and the valid choices), having written nothing.
"""

from __future__ import annotations

import argparse
import sys

from research_lab.cli import backtest, data, demo, optimize, project, quality, rl, stack, strategy

COMMANDS = (data, demo, backtest, strategy, project, quality, optimize, rl, stack)


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="research-lab",
        description="research_lab: market data, backtests, studies and policies on Dagster.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError) as exc:
        print(f"research-lab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
