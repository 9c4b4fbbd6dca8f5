"""Reading a YAML settings file whose top level is a mapping, with errors that name the file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def read_mapping(path: str | Path, *, what: str = "config file",
                 error: type[ValueError] = ValueError) -> dict[str, Any]:
    """The top-level mapping of the YAML file ``path`` (empty file: ``{}``). Raises ``error``
    naming the file when it does not exist, is not valid YAML or is not a mapping; ``what``
    names the kind of file in the first message (``"RL config file"``)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise error(f"{what} {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{p}: not valid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise error(f"{p}: not a UTF-8 text file") from None
    if not isinstance(data, Mapping):
        raise error(f"{p}: the top level must be a mapping")
    return dict(data)
