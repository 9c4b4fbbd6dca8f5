"""A search space from bounds typed on the command line: ``--bounds fast=5:50 --bounds
slow=20:200:10`` (``NAME=LOW:HIGH[:STEP]``, or ``NAME=a,b,c`` for choices).

The type of each dimension is the parameter's own (int or float; a backtrader strategy's from
its default), so a backtrader strategy, which declares no bounds, can be searched without a
space file. The result is the mapping a space file holds (``{strategy, params}``), validated
by :func:`research_lab.core.optimize.space.parse_space` like any file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._ref import StrategyError, StrategyRef


def _number(text: str, kind: str, where: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise StrategyError(f"{where}: {text!r} is not a number") from None
    if kind == "int":
        if value != int(value):
            raise StrategyError(f"{where}: {text!r} is not an integer")
        return int(value)
    return value


def bounds_space(ref: StrategyRef, items: Sequence[str]) -> dict[str, Any]:
    """The space-file mapping of ``items`` (``NAME=LOW:HIGH[:STEP]`` / ``NAME=a,b``)."""
    specs = {p.name: p for p in ref.space.params}
    params: dict[str, Any] = {}
    for item in items:
        where = f"--bounds {item}"
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name or not text:
            raise StrategyError(f"{where}: expected NAME=LOW:HIGH[:STEP] or NAME=a,b,c")
        if name not in specs:
            raise StrategyError(f"{where}: {ref.name} has no parameter {name!r}; its "
                                f"parameters: {', '.join(specs)} [{ref.where}]")
        if name in params:
            raise StrategyError(f"{where}: {name} is given twice")
        spec = specs[name]
        if spec.type not in ("int", "float", "categorical"):
            raise StrategyError(f"{where}: {name} is a {spec.type} parameter; only int, float "
                                "and categorical parameters can be searched")
        if spec.type == "categorical":
            params[name] = {"type": "categorical",
                            "choices": [spec.coerce(v.strip(), ref.name) for v in text.split(",")]}
            continue
        parts = text.split(":")
        if len(parts) not in (2, 3):
            raise StrategyError(f"{where}: expected LOW:HIGH or LOW:HIGH:STEP")
        dim: dict[str, Any] = {"type": spec.type, "low": _number(parts[0], spec.type, where),
                               "high": _number(parts[1], spec.type, where)}
        if len(parts) == 3:
            dim["step"] = _number(parts[2], spec.type, where)
        params[name] = dim
    return {"strategy": ref.name, "params": params}


def needs_bounds(ref: StrategyRef) -> bool:
    """True when the strategy declares no bounds (a backtrader strategy): a study then needs
    a space file or ``--bounds``."""
    return any(p.type in ("int", "float") and p.low == float("-inf") for p in ref.space.params)
