"""One mapping from exceptions to what the user reads: a line and an exit code.

::

    found = explain(exc)     # Explained(code=2, message="...") or None (not a known kind)

Known kinds are the user's to fix (exit code :data:`USAGE`, 2): a refused input or setting
(``ValueError``, including pydantic's validation errors), a source or bar-validation error, a
file that is missing or unreadable, a store or server that refuses the connection
(SQLAlchemy, psycopg2, requests), MLflow and Optuna errors. Anything else is a bug or an
unforeseen failure (:data:`UNEXPECTED`, 1). Classes are recognised by name along the MRO, so
this module imports none of those libraries; Dagster's wrappers are unwrapped by the caller
(``core`` never imports dagster). Every message is one line with secrets redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

from research_lab.core.redact import redact

USAGE = 2
UNEXPECTED = 1
MAX_LEN = 400

# class names (anywhere in the MRO) -> a prefix saying what failed ("" for none)
KNOWN: dict[str, str] = {
    "ValidationError": "",  # pydantic (handled below for its field list)
    "SourceError": "",
    "BarValidationError": "",
    "YAMLError": "not valid YAML: ",
    "ArgumentError": "bad database URL: ",  # sqlalchemy.exc.ArgumentError
    "NoSuchModuleError": "bad database URL: ",
    "OperationalError": "database unavailable: ",  # sqlalchemy and psycopg2
    "InterfaceError": "database unavailable: ",
    "DatabaseError": "database error: ",
    "MlflowException": "MLflow: ",
    "OptunaError": "Optuna: ",
    "StorageError": "",
    "ConnectionError": "cannot connect: ",  # requests and the builtin
    "Timeout": "timed out: ",
    "TimeoutError": "timed out: ",
    "FileNotFoundError": "",
    "NotADirectoryError": "",
    "IsADirectoryError": "",
    "PermissionError": "permission denied: ",
    "FileExistsError": "",
    "UnicodeDecodeError": "not a text file: ",
    "ValueError": "",
}


@dataclass(frozen=True)
class Explained:
    code: int
    message: str


def one_line(text: object, limit: int = MAX_LEN) -> str:
    """``text`` on one line: lines joined with ``' '`` (caret and blank lines dropped),
    SQLAlchemy's ``[SQL: ...]`` and background links dropped, cut at ``limit``, redacted."""
    lines = []
    for line in str(text).splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= {"^", " "}:
            continue
        if stripped.startswith(("[SQL:", "[parameters:", "(Background on this error")):
            continue
        lines.append(stripped)
    out = redact(" ".join(lines))
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _names(exc: BaseException) -> list[str]:
    return [c.__name__ for c in type(exc).__mro__]


def _pydantic_message(exc: BaseException) -> str:
    try:
        errors = exc.errors()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - not pydantic after all
        return str(exc)
    title = getattr(exc, "title", "")
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or title
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def root_cause(exc: BaseException) -> BaseException:
    """The innermost explicitly chained cause (``raise ... from exc``) of a known kind, else
    ``exc``: a wrapper such as a retry or step error says less than what it wraps."""
    best, seen = exc, set()
    cur: BaseException | None = exc.__cause__
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if any(n in KNOWN for n in _names(cur)):
            best = cur
        cur = cur.__cause__
    return best


def explain(exc: BaseException) -> Explained | None:
    """The line and exit code for a known kind of error (see the module docstring), else None."""
    names = _names(exc)
    if not any(n in KNOWN for n in names):
        cause = root_cause(exc)
        if cause is exc:
            return None
        exc, names = cause, _names(cause)
    if "ValidationError" in names and hasattr(exc, "errors"):
        return Explained(USAGE, one_line(_pydantic_message(exc)))
    prefix = next(KNOWN[n] for n in names if n in KNOWN)
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPI error says more than its wrapper
    text = str(orig) if orig is not None else str(exc)
    if isinstance(exc, OSError) and getattr(exc, "filename", None) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    if "MlflowException" in names:
        text = getattr(exc, "message", text)
    return Explained(USAGE, one_line(prefix + (text or type(exc).__name__)))


def unexpected_line(exc: BaseException) -> str:
    """The line for an error of no known kind."""
    return one_line(f"unexpected error: {type(exc).__name__}: {exc}")
