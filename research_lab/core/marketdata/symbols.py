"""Symbol names: the one check every entry point applies before a symbol is registered.

A symbol becomes a Dagster partition key, a store key and part of file names and run tags, so
:func:`validate_symbol` refuses what would break any of them, with one line naming the symbol:

- empty, or longer than :data:`MAX_SYMBOL_LENGTH` characters;
- ``|`` (Dagster's multi-partition key separator), ``/`` or ``\\`` (paths), ``,`` (lists of
  symbols in tags and options), quotes, whitespace inside the name, control characters.

Beyond those named reasons, a name must follow the one symbol rule of the input layer
(:data:`research_lab.core.inputs.SYMBOL_RULE`: letters, digits and ``. _ - =``, an optional
leading ``^``, at most 20 characters), so that the CLI, the API, the sensor and the config all
accept exactly the same names: ``^GSPC``, ``BRK.B``, ``BRK-B``, ``ES=F``, ``EURUSD=X``. Names
are normalized as the store keeps them: stripped, upper case.

::

    validate_symbol(" brk.b ")      # 'BRK.B'
    validate_symbols(["A", "B|C"])   # ValueError: symbol 'B|C': contains '|' ...
"""

from __future__ import annotations

from collections.abc import Iterable

from research_lab.core.inputs import SYMBOL_MAX_LEN, SYMBOL_RE, SYMBOL_RULE

MAX_SYMBOL_LENGTH = SYMBOL_MAX_LEN
FORBIDDEN = {
    "|": "Dagster's partition key separator",
    "/": "a path separator",
    "\\": "a path separator",
    ",": "the list separator of symbol options and tags",
    '"': "a quote",
    "'": "a quote",
    "`": "a quote",
}


def symbol_problem(symbol: object) -> str | None:
    """Why ``symbol`` is not a valid name, or None when it is."""
    if not isinstance(symbol, str):
        return f"must be text, got {type(symbol).__name__}"
    name = symbol.strip()
    if not name:
        return "is empty"
    if len(name) > MAX_SYMBOL_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_SYMBOL_LENGTH})"
    for ch in name:
        if ch in FORBIDDEN:
            return f"contains {ch!r} ({FORBIDDEN[ch]})"
        if ord(ch) < 32 or ord(ch) == 127:
            return f"contains the control character {ch!r}"
        if ch.isspace():
            return "contains whitespace"
    if not SYMBOL_RE.match(name.upper()):
        return f"is not a valid symbol ({SYMBOL_RULE})"
    return None


def validate_symbol(symbol: object) -> str:
    """The normalized symbol (stripped, upper case), or ``ValueError`` naming what is wrong."""
    problem = symbol_problem(symbol)
    if problem:
        raise ValueError(f"symbol {symbol!r} {problem}")
    return str(symbol).strip().upper()


def validate_symbols(symbols: Iterable[object]) -> list[str]:
    """Every symbol validated and normalized, de-duplicated in order; the first bad one raises."""
    return list(dict.fromkeys(validate_symbol(s) for s in symbols))


__all__ = ["MAX_SYMBOL_LENGTH", "symbol_problem", "validate_symbol", "validate_symbols"]
