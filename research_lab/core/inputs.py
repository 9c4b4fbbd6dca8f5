"""Input rules at the edge: one place that says what a symbol, a date, a number, a name used in
a path and a value going into an MLflow filter may be.

The CLI, the HTTP API, the sensors and the config readers call these before anything is
written; each refusal is an :class:`InputError` (a ``ValueError``) whose one-line message names
the field and what was wrong::

    symbol("brk.b")                         # 'BRK.B'
    symbol("../../etc/passwd")              # InputError: symbol '../../etc/passwd': ...
    session_date("05/12/2024", "--start")   # InputError: --start '05/12/2024' is not ... YYYY-MM-DD
    finite_number("1e308", "price", high=1e9)
    path_name("../escaped", "--study-name") # InputError: ... may not contain '/' or '..'
    child_path(out_dir, name)               # out_dir/name, refusing anything outside out_dir
    filter_value("O'Brien")                 # InputError: quotes cannot be escaped in a filter
"""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

SYMBOL_MAX_LEN = 20
# tickers as exchanges and data vendors write them: BRK.B, BRK-B, ^GSPC, EURUSD=X, ES=F, 7203.T
SYMBOL_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9._=-]*$")
SYMBOL_RULE = (f"1-{SYMBOL_MAX_LEN} characters: letters, digits and . _ - = "
               "(an optional leading ^ for indexes)")
NAME_MAX_LEN = 128
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_RULE = (f"1-{NAME_MAX_LEN} characters: letters, digits and . _ - "
             "(starting with a letter or digit; no '/' or '..')")
FILTER_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-/ :]{1,250}$")
TEXT_MAX_LEN = 500


class InputError(ValueError):
    """A refused input; the message is one line naming the field and the rule."""


def shown(value: object, limit: int = 60) -> str:
    """``repr`` of a user value cut to ``limit`` characters (a 10 MB field is not echoed)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}...' ({len(str(value))} characters)"


def symbol(text: object, where: str = "symbol") -> str:
    """The symbol upper-cased and stripped; :class:`InputError` unless it follows
    :data:`SYMBOL_RULE` (so it is safe in file names, partition keys and SQL)."""
    if not isinstance(text, str):
        raise InputError(f"{where} {shown(text)} is not text")
    value = text.strip().upper()
    if not value:
        raise InputError(f"{where} is empty")
    if len(value) > SYMBOL_MAX_LEN or not SYMBOL_RE.match(value):
        raise InputError(f"{where} {shown(text)} is not a valid symbol ({SYMBOL_RULE})")
    return value


def symbols(values: list[str] | tuple[str, ...], where: str = "--symbols") -> list[str]:
    """Symbols from space- or comma-separated arguments, validated, duplicates dropped;
    refuses an empty list (``--symbols ''``)."""
    out: list[str] = []
    for v in values:
        parts = str(v).split(",")
        for part in parts:
            if part.strip() or len(parts) == 1:
                out.append(symbol(part, where))
    if not out:
        raise InputError(f"{where}: no symbol given")
    return list(dict.fromkeys(out))


# 05/12/2024, 5.12.2024, 05-12-2024: day-first or month-first, never guessed
AMBIGUOUS_DATE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b")


def session_date(text: object, where: str = "date") -> date:
    """A calendar date written ``YYYY-MM-DD``. A day-first or month-first date
    (``05/12/2024``) is refused with a message saying so, never guessed."""
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    lead = f"{where} " if where else ""
    if AMBIGUOUS_DATE.match(raw):
        raise InputError(f"{lead}{shown(raw)} is ambiguous (day-first or month-first?); "
                         "write dates as YYYY-MM-DD")
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{lead}{shown(raw)} is not a date (expected YYYY-MM-DD)") from None


def not_after(day: date, last: date, where: str = "date", *, allow_future: bool = False) -> date:
    """``day`` unless it is after ``last`` (the last closed session) and future data was not
    asked for."""
    if not allow_future and day > last:
        raise InputError(f"{where} {day} is after the last closed session {last}")
    return day


def date_range(start: date | None, end: date | None, where: str = "") -> None:
    """Refuses ``start`` after ``end``."""
    if start is not None and end is not None and start > end:
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}start {start} is after end {end}")


def finite_number(value: object, where: str, *, low: float | None = None,
                  high: float | None = None) -> float:
    """``value`` as a finite float within ``[low, high]``."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{where} {shown(value)} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{where} {shown(value)} is not a finite number")
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"[{low:g}, {high:g}]" if low is not None and high is not None else (
            f">= {low:g}" if low is not None else f"<= {high:g}")
        raise InputError(f"{where} {number:g} is out of range ({span})")
    return number


def int_in_range(value: object, where: str, *, low: int | None = None,
                 high: int | None = None) -> int:
    """``value`` as an int within ``[low, high]`` (``True``/``1.5``/``'x'`` refused)."""
    if isinstance(value, bool):
        raise InputError(f"{where} {shown(value)} is not an integer")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise InputError(f"{where} {shown(value)} is not an integer") from None
    finite_number(number, where, low=low, high=high)
    return number


def path_name(text: object, where: str = "name") -> str:
    """A name that becomes a file or folder name: :data:`NAME_RULE`; never ``..`` or a
    separator, so that it cannot leave its folder."""
    value = str(text) if text is not None else ""
    if not value.strip():
        raise InputError(f"{where} is empty")
    if "/" in value or "\\" in value or ".." in value:
        raise InputError(f"{where} {shown(value)} may not contain '/', '\\' or '..' ({NAME_RULE})")
    if len(value) > NAME_MAX_LEN or not NAME_RE.match(value):
        raise InputError(f"{where} {shown(value)} is not a valid name ({NAME_RULE})")
    return value


def child_path(base: str | Path, *names: str, where: str = "path") -> Path:
    """``base/names...`` after checking it stays inside ``base`` (symlinks resolved)."""
    root = Path(base).resolve()
    target = root.joinpath(*names).resolve()
    if target != root and root not in target.parents:
        raise InputError(f"{where} {shown('/'.join(names))} leaves the folder {base}")
    return target


def filter_value(value: object, where: str = "filter value") -> str:
    """``value`` as an MLflow filter literal ``'...'``. MLflow's grammar cannot escape quotes,
    so text holding one is refused rather than spliced into the filter."""
    text = str(value)
    if "'" in text or '"' in text or "`" in text:
        raise InputError(f"{where} {shown(text)} may not contain quotes or backticks")
    if len(text) > TEXT_MAX_LEN or any(ord(c) < 32 for c in text):
        raise InputError(f"{where} {shown(text)} is too long or holds control characters")
    return f"'{text}'"


def filter_key(name: object, where: str = "name") -> str:
    """A parameter, metric or tag name as MLflow filters quote it: ``\\`name\\```."""
    text = str(name)
    if not FILTER_KEY_RE.match(text):
        raise InputError(f"{where} {shown(text)} is not a valid parameter, metric or tag name "
                         "(letters, digits, _ . - / : and spaces)")
    return f"`{text}`"
