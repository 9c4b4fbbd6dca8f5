"""What every sub-command shares: one-line argparse errors, argument types built on the input
rules of :mod:`research_lab.core.inputs`, the settings check run before any command
(:func:`preflight`) and the translation of any error into one line and an exit code
(:func:`explain_error`, which unwraps Dagster's step errors to their root cause)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from research_lab.core import inputs

# commands that read the market-data source or the Dagster instance
SOURCE_COMMANDS = {("data", "ingest"), ("demo", None), ("demo", "ingest")}


class OneLineParser(argparse.ArgumentParser):
    """argparse prints a usage block before an error; here an error is one line (exit 2).
    Sub-parsers made with ``add_parser`` inherit the class."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _argtype(rule, *args, **kwargs):
    def convert(text: str):
        try:
            return rule(text, *args, **kwargs)
        except inputs.InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = getattr(rule, "__name__", "value")
    return convert


def iso_date(text: str) -> date:
    """An argparse type: YYYY-MM-DD (a day-first date is refused, never guessed)."""
    return _argtype(inputs.session_date, "")(text)  # argparse names the argument


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _argtype(inputs.int_in_range, "value", low=1)(text)


def positive_number(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _argtype(inputs.finite_number, "value")(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"value {value:g} is not > 0")
    return value


def path_name(text: str) -> str:
    """An argparse type: a name that becomes a file or folder name (never leaves its folder)."""
    return _argtype(inputs.path_name, "name")(text)


def symbols_arg(values: list[str]) -> list[str]:
    """Symbols from space- or comma-separated arguments, validated (``--symbols ''`` refused;
    no argument at all: ``[]``)."""
    return inputs.symbols(values) if values else []


# -- before a command: its settings ---------------------------------------------------------
def preflight(args: argparse.Namespace) -> None:
    """Load and check the settings every command depends on, before it does anything:
    the config file and ``RESEARCH_LAB_*`` variables, the alert webhook URL, and for the
    commands that ingest, the source (a csv folder that exists) and ``DAGSTER_HOME``."""
    from research_lab.core.quality.alerts import webhook_url_from_env
    from research_lab.core.settings import SettingsError, load_settings

    settings = load_settings()
    for name in settings.universe:
        inputs.symbol(name, "universe (RESEARCH_LAB_UNIVERSE / universe:)")
    webhook_url_from_env()
    action = getattr(args, "data_command", None) or getattr(args, "demo_command", None)
    if (args.command, action) not in SOURCE_COMMANDS:
        return
    if settings.source_kind == "csv":
        folder = Path(settings.source_options()["directory"]).expanduser()
        if not folder.is_dir():
            raise SettingsError(f"csv source folder {folder} does not exist or is not a folder "
                                "(RESEARCH_LAB_CSV_DIR / source.csv_dir)")
    home = os.environ.get("DAGSTER_HOME")
    if home and not Path(home).expanduser().is_dir():
        raise SettingsError(f"DAGSTER_HOME {home} is not a folder (create it first)")


# -- after an error: one line -------------------------------------------------------------
def unwrap_dagster(exc: BaseException) -> BaseException:
    """The user's exception inside Dagster's wrappers (``DagsterExecutionStepExecutionError``,
    ``DagsterUserCodeExecutionError`` ...) of an in-process run."""
    seen: set[int] = set()
    while type(exc).__module__.split(".")[0] == "dagster" and id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "user_exception", None) or exc.__cause__
        if inner is None:
            break
        exc = inner
    return exc


def explain_error(exc: BaseException) -> tuple[int, str]:
    """Exit code and one line for any exception (see :mod:`research_lab.core.errors`)."""
    from research_lab.core.errors import UNEXPECTED, explain, unexpected_line

    inner = unwrap_dagster(exc)
    found = explain(inner)
    if found is not None:
        return found.code, found.message
    return UNEXPECTED, unexpected_line(inner)


def error_info_line(info) -> tuple[int, str]:
    """Exit code and one line for a Dagster ``SerializableErrorInfo`` (a step failure event
    of a run): its innermost cause, named by class."""
    from research_lab.core.errors import KNOWN, UNEXPECTED, USAGE, one_line

    while getattr(info, "cause", None) is not None:
        info = info.cause
    name = getattr(info, "cls_name", None) or ""
    message = (getattr(info, "message", "") or "").strip()
    if name and message.startswith(f"{name}:"):
        message = message[len(name) + 1:].strip()
    known = name in KNOWN or name in ("SettingsError", "InputError")
    return (USAGE if known else UNEXPECTED), one_line(message or name or "the run failed")


def run_failure(result) -> tuple[int, str] | None:
    """Exit code and one line of the first failed step of an in-process run (None: none)."""
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data is not None:
            return error_info_line(event.event_specific_data.error)
    return None


def stderr(line: str) -> None:
    print(line, file=sys.stderr)
