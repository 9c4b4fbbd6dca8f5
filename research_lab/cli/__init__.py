"""The ``research-lab`` command line.

Each sub-command lives in its own module with ``register(subparsers)``; imports of heavy
libraries happen inside the command functions.

One error boundary (:func:`main`) for every command: the settings are loaded and checked
before the command does anything; then any error is printed as ONE line on stderr:

==== ===================================================================================
code meaning
==== ===================================================================================
0    done
1    an unexpected error (a bug, or a failure of no known kind): one line, and
     ``--debug`` prints the traceback; also a command's own "found problems" result
     (``quality open --check``, ``project replay-outbox`` with failed runs, a failed ingest
     whose cause is unknown)
2    bad input or an unusable setting, file, store or server: one line naming the problem
     (argument, setting, file, row, field); nothing was written
3    refused by the market-hours policy (``optimize``); a policy whose training a guardrail
     cut short, saved and marked truncated (``rl train``)
130  interrupted (Ctrl-C)
==== ===================================================================================

``--debug`` (anywhere on the line) shows the traceback of any error as well.
"""

from __future__ import annotations

import argparse
import sys

from research_lab.cli import backtest, data, demo, optimize, project, quality, rl, stack, strategy
from research_lab.cli.common import OneLineParser, explain_error, preflight

COMMANDS = (data, demo, backtest, strategy, project, quality, optimize, rl, stack)
DEBUG_FLAG = "--debug"


class UsageError(ValueError):
    """Bad input from the user: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="research-lab",
        description="research_lab: market data, backtests, studies and policies on Dagster.",
    )
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="print tracebacks of errors (also accepted after the command)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in argv
    argv = [a for a in argv if a != DEBUG_FLAG]
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse errors: one line, exit 2 (OneLineParser)
    args.debug = debug
    try:
        preflight(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - the one boundary: every error is one line
        code, line = explain_error(exc)
        if debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        hint = "" if code == 2 or debug else " (run again with --debug for the traceback)"
        print(f"research-lab {args.command}: error: {line}{hint}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
