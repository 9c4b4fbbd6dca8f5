"""Parameter spaces: what each strategy accepts.

A strategy declares its parameters itself (a fast strategy's ``params``, a backtrader
strategy's ``params`` tuple: :mod:`research_lab.core.strategies`); :func:`get_space` finds the
strategy by discovery and returns its space. A YAML file of spaces (the format of
:func:`load_spaces`) can still be read explicitly, e.g. for a search space. Everything that
takes parameters from a person (the CLI, an optimizer, a Dagster launch-pad config) goes through
:meth:`StrategySpace.resolve`, which fills defaults, coerces strings (``"20"`` -> ``20``) and
raises :class:`ParameterError` (a ``ValueError``) naming the strategy, the parameter and what
would have been valid::

    >>> space = get_space("sma_cross")
    >>> space.resolve({"fast": 50, "slow": 20})
    Traceback (most recent call last):
    ...
    ParameterError: sma_cross: constraint fast < slow violated (fast=50, slow=20)

A ``step`` is the grid a search uses (:meth:`StrategySpace.grid`); it is not enforced on values
given by hand, only the bounds are.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PARAM_TYPES = ("int", "float", "categorical")
CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
# config/strategies.yaml now names where strategies are discovered (not their spaces); the
# name stays for callers that locate config/ (and config/param_spaces/) by it
DEFAULT_SPACES_PATH = CONFIG_DIR / "strategies.yaml"
# types a backtrader strategy's params may take besides those (from the default's type)
EXTRA_TYPES = ("bool", "str", "any")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<=|>=|<|>)\s*([A-Za-z_]\w*)\s*$")
_OPS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class ParameterError(ValueError):
    """An unknown strategy or parameter, or a value outside its space (the CLI exits with 2)."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type, inclusive bounds or choices, grid step and default."""

    name: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def describe(self) -> str:
        if self.type == "categorical":
            return f"one of {list(self.choices)}"
        if self.type in EXTRA_TYPES:
            return {"bool": "true or false", "str": "a string", "any": "a Python literal"}[self.type]
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return f"{self.type} (no bounds declared)"
        step = f" step {self.step:g}" if self.step is not None else ""
        return f"{self.type} in [{self.low:g}, {self.high:g}]{step}"

    def coerce(self, value: Any, where: str) -> Any:
        """``value`` converted to this parameter's type, or :class:`ParameterError`."""
        bad = ParameterError(f"{where}: {self.name}={value!r} is invalid; expected {self.describe()}")
        if self.type in EXTRA_TYPES:
            return _coerce_extra(self.type, value, bad)
        if self.type == "categorical":
            for choice in self.choices:
                if value == choice or str(value) == str(choice):
                    return choice
            raise bad
        if isinstance(value, bool):
            raise bad
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number):
            raise bad
        if self.type == "int":
            if number != int(number):
                raise bad
            number = int(number)
        if not (self.low <= number <= self.high):
            raise bad
        return number

    def values(self) -> list[Any]:
        """The default search grid: every choice, or low..high by step."""
        if self.type == "categorical":
            return list(self.choices)
        if self.step is None:
            raise ParameterError(f"{self.name}: a float parameter without a step has no grid")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        out = [self.low + k * self.step for k in range(count)]
        return [int(v) for v in out] if self.type == "int" else [round(v, 12) for v in out]


def _coerce_extra(kind: str, value: Any, bad: ParameterError) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise bad
    if kind == "str":
        return str(value)
    if isinstance(value, str):  # "any": a literal when it parses as one, else the text
        import ast

        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


@dataclass(frozen=True)
class Constraint:
    """``left op right`` between two parameters of one strategy."""

    left: str
    op: str
    right: str

    def holds(self, params: Mapping[str, Any]) -> bool:
        return bool(_OPS[self.op](params[self.left], params[self.right]))

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class StrategySpace:
    """The parameter space of one strategy."""

    name: str
    params: tuple[ParamSpec, ...]
    constraints: tuple[Constraint, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, coerced and checked (bounds, then constraints)."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.names))
        if unknown:
            raise ParameterError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)}; valid parameters: "
                + "; ".join(f"{p.name} ({p.describe()})" for p in self.params)
            )
        out = {p.name: p.coerce(given.get(p.name, p.default), self.name) for p in self.params}
        for c in self.constraints:
            if not c.holds(out):
                raise ParameterError(
                    f"{self.name}: constraint {c} violated ({c.left}={out[c.left]!r}, "
                    f"{c.right}={out[c.right]!r})"
                )
        return out

    def satisfies(self, params: Mapping[str, Any]) -> bool:
        return all(c.holds(params) for c in self.constraints)

    def grid(
        self, values: Mapping[str, Iterable[Any]] | None = None, *, constraints: bool = True
    ) -> list[dict[str, Any]]:
        """Every combination of ``values`` (name -> candidates; a missing name uses its
        default) as resolved parameter dicts; combinations breaking a constraint are dropped
        unless ``constraints`` is False (bounds are always checked)."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            self.resolve({k: None for k in unknown})  # raises, listing the valid parameters
        axes = []
        for p in self.params:
            raw = values.get(p.name, [p.default])
            if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
                raw = [raw]
            axes.append([p.coerce(v, self.name) for v in raw])
        combos: list[dict[str, Any]] = [{}]
        for p, axis in zip(self.params, axes):
            combos = [{**c, p.name: v} for c in combos for v in axis]
        return [c for c in combos if not constraints or self.satisfies(c)]


def _spec(strategy: str, name: str, raw: Any) -> ParamSpec:
    where = f"{strategy}.{name}"
    if not isinstance(raw, Mapping):
        raise ParameterError(f"{where}: expected a mapping, got {raw!r}")
    allowed = {"type", "low", "high", "step", "default", "choices"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ParameterError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
    kind = raw.get("type")
    if kind not in PARAM_TYPES:
        raise ParameterError(f"{where}: type {kind!r} is not one of {list(PARAM_TYPES)}")
    if kind == "categorical":
        choices = tuple(raw.get("choices") or ())
        if not choices:
            raise ParameterError(f"{where}: a categorical parameter needs choices")
        spec = ParamSpec(name, kind, raw.get("default", choices[0]), choices=choices)
    else:
        try:
            low, high = float(raw["low"]), float(raw["high"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(f"{where}: {kind} needs numeric low and high") from None
        step = raw.get("step", 1 if kind == "int" else None)
        if low > high or (step is not None and float(step) <= 0):
            raise ParameterError(f"{where}: need low <= high and step > 0")
        if kind == "int":
            low, high = int(low), int(high)
        spec = ParamSpec(
            name, kind, raw.get("default"), low, high, None if step is None else float(step)
        )
    if "default" not in raw and kind != "categorical":
        raise ParameterError(f"{where}: missing default")
    return replace(spec, default=spec.coerce(spec.default, strategy))


def space_from_mapping(name: str, raw: Any) -> StrategySpace:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("params"), Mapping):
        raise ParameterError(f"{name}: expected a mapping with 'params'")
    params = tuple(_spec(name, k, v) for k, v in raw["params"].items())
    names = {p.name for p in params}
    constraints = []
    for text in raw.get("constraints") or ():
        m = _CONSTRAINT.match(str(text))
        if not m or m.group(1) not in names or m.group(3) not in names:
            raise ParameterError(
                f"{name}: bad constraint {text!r}; expected '<param> <op> <param>' with op one "
                f"of < <= > >= and params among {sorted(names)}"
            )
        constraints.append(Constraint(m.group(1), m.group(2), m.group(3)))
    space = StrategySpace(name, params, tuple(constraints), str(raw.get("description", "")))
    space.resolve({})  # the defaults must satisfy the constraints
    return space


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict[str, StrategySpace]:
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    raw = doc.get("strategies") if isinstance(doc, Mapping) else None
    if not isinstance(raw, Mapping):
        raise ParameterError(f"{path}: expected a top-level 'strategies' mapping")
    return {name: space_from_mapping(name, body) for name, body in raw.items()}


def load_spaces(path: str | os.PathLike[str]) -> dict[str, StrategySpace]:
    """All strategy spaces of a YAML file ``strategies: {name: {params: ..., constraints:
    ...}}`` (cached until the file changes)."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"strategy parameter file not found: {p}")
    return _load(str(p.resolve()), p.stat().st_mtime)


def get_space(strategy: str, path: str | os.PathLike[str] | None = None) -> StrategySpace:
    """The space of ``strategy``: from a YAML file of spaces when ``path`` is given, else the
    strategy's own (found by discovery; :class:`ParameterError` listing the known ones)."""
    if path is None:
        from research_lab.core.strategies import get_strategy

        return get_strategy(strategy).space
    spaces = load_spaces(path)
    if strategy not in spaces:
        raise ParameterError(
            f"unknown strategy {strategy!r}; valid strategies: {', '.join(sorted(spaces))}"
        )
    return spaces[strategy]
