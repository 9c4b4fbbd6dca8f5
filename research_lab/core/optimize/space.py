"""Search spaces: which strategy parameters a study searches, over what ranges, under which
constraints; read from a YAML or JSON file, or taken from ``config/strategies.yaml``.

A space file (``config/param_spaces/sma_cross.yaml`` is a complete example)::

    strategy: sma_cross            # optional; when given it must match the study's strategy
    params:
      fast: {type: int, low: 5, high: 50, step: 5}
      slow: {type: int, low: 20, high: 200, step: 10}
      # float:       {type: float, low: 0.5, high: 4.0}            (continuous)
      #              {type: float, low: 0.5, high: 4.0, step: 0.25}
      # log scale:   {type: float, low: 0.001, high: 0.5, log: true}  (also int; no step)
      # categorical: {type: categorical, choices: [signal, zero]}
      # fixed:       devfactor: 2.0                                 (not searched)
    constraints: ["fast < slow"]   # "a < b", "a <= b", "a > b", "a >= b"

Parameters the file does not name keep the strategy's default. Every range must lie inside
the strategy's own bounds (``config/strategies.yaml``), and the strategy's own constraints
always apply on top of the file's. :func:`load_space` raises :class:`SpaceError` (a
``ValueError``) naming the file and the parameter: an unknown parameter for the strategy, an
empty range (``low > high``, or a step larger than the range), a bad type, a log range that
is not positive, a choice the strategy does not accept, a constraint on an unknown parameter.

A sampled point that breaks a constraint is not backtested: the trial is pruned at once
(user attribute ``infeasible``), which teaches TPE to avoid the region. Sampling always uses
the same fixed distributions, so multivariate TPE sees one joint space.

The space serializes to plain JSON (:meth:`SearchSpace.to_dict`), which the study stores so
that a worker started elsewhere (``research-lab optimize worker``) searches exactly it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# one constraint grammar and class for strategies and searches (``fast < slow``)
from research_lab.core.backtest.params import _CONSTRAINT, Constraint

KINDS = ("int", "float", "categorical")


class SpaceError(ValueError):
    """A bad search space; the message names the file (or source) and the parameter."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def distribution(self):
        """The Optuna distribution (optuna is imported here, not at module import)."""
        from optuna.distributions import (
            CategoricalDistribution, FloatDistribution, IntDistribution,
        )

        if self.kind == "categorical":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log,
                                   step=1 if self.log else int(self.step or 1))
        return FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def grid(self) -> list[Any]:
        """Every value of a discrete dimension (a continuous float has no grid)."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int" and not self.step and not self.log:
            return list(range(int(self.low), int(self.high) + 1))
        if self.step is None:
            raise SpaceError(f"{self.name}: a continuous (or log) range has no grid; give a step")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        values = [self.low + k * self.step for k in range(count)]
        return [int(round(v)) for v in values] if self.kind == "int" else [round(v, 12) for v in values]

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"type": "categorical", "choices": list(self.choices)}
        out: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high}
        if self.step is not None:
            out["step"] = self.step
        if self.log:
            out["log"] = True
        return out


@dataclass(frozen=True)
class SearchSpace:
    """The searched dimensions of one strategy, its fixed parameters and its constraints."""

    strategy: str
    dims: tuple[Dimension, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()
    source: str = "config/strategies.yaml"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dims)

    def distributions(self) -> dict[str, Any]:
        return {d.name: d.distribution() for d in self.dims}

    def feasible(self, params: Mapping[str, Any]) -> bool:
        return all(c.holds(params) for c in self.constraints)

    def complete(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """Fixed values overlaid with ``sampled`` (a full parameter set of the strategy)."""
        return {**self.fixed, **sampled}

    def grid(self) -> list[dict[str, Any]]:
        """Every feasible point of a fully discrete space (for exhaustive comparison)."""
        combos: list[dict[str, Any]] = [{}]
        for d in self.dims:
            combos = [{**c, d.name: v} for c in combos for v in d.grid()]
        return [self.complete(c) for c in combos if self.feasible(self.complete(c))]

    def size(self) -> int:
        return len(self.grid())

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "params": {**{d.name: d.to_dict() for d in self.dims}, **self.fixed},
            "constraints": [str(c) for c in self.constraints],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "space") -> SearchSpace:
        return parse_space(data, where=str(data.get("source", where)))


def _fail(where: str, message: str) -> SpaceError:
    return SpaceError(f"{where}: {message}")


def _number(where: str, raw: Mapping[str, Any], key: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"{key} must be a finite number, got {value!r}")
    return float(value)


def _dimension(name: str, raw: Mapping[str, Any], spec: Any, where: str) -> Dimension:
    """One searched parameter, checked against the strategy's own spec (``ParamSpec``)."""
    allowed = {"type", "low", "high", "step", "log", "choices"}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise _fail(where, f"unknown key(s) {extra}; allowed: {sorted(allowed)}")
    kind = raw.get("type", spec.type)
    if kind not in KINDS:
        raise _fail(where, f"bad type {kind!r}; expected one of {list(KINDS)}")
    if spec.type == "categorical" and kind != "categorical" or (
        spec.type != "categorical" and kind == "categorical"
    ) or (spec.type == "int" and kind == "float"):
        raise _fail(where, f"bad type {kind!r}: the strategy's parameter is {spec.type}")
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, (list, tuple)) or not choices:
            raise _fail(where, "a categorical parameter needs a non-empty list of choices")
        bad = [c for c in choices if not any(c == s or str(c) == str(s) for s in spec.choices)]
        if bad:
            raise _fail(where, f"choice(s) {bad} not accepted by the strategy; valid: "
                               f"{list(spec.choices)}")
        return Dimension(name, kind, choices=tuple(choices))
    low, high = _number(where, raw, "low"), _number(where, raw, "high")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise _fail(where, f"log must be true or false, got {log!r}")
    step = raw.get("step")
    if low > high:
        raise _fail(where, f"empty range: low {low:g} > high {high:g}")
    if step is not None:
        step = _number(where, raw, "step")
        if step <= 0:
            raise _fail(where, f"step must be > 0, got {step:g}")
        if log:
            raise _fail(where, "a log range takes no step (Optuna samples it continuously)")
        if step > high - low and high > low:
            raise _fail(where, f"empty range: step {step:g} is larger than high - low")
    if kind == "int":
        if low != int(low) or high != int(high) or (step is not None and step != int(step)):
            raise _fail(where, "an int range needs integer low, high and step")
        if step is None and not log:
            step = 1.0
    if log and low <= 0:
        raise _fail(where, f"a log range needs low > 0, got {low:g}")
    if low < spec.low or high > spec.high:
        raise _fail(where, f"range [{low:g}, {high:g}] is outside the strategy's bounds "
                           f"[{spec.low:g}, {spec.high:g}]")
    return Dimension(name, kind, low, high, step, log)


def parse_space(data: Any, *, strategy: str | None = None, where: str = "space",
                strategies_path: str | None = None) -> SearchSpace:
    """A :class:`SearchSpace` from parsed YAML/JSON ``data`` (see the module docstring)."""
    from research_lab.core.backtest.params import ParameterError, get_space

    if not isinstance(data, Mapping):
        raise _fail(where, f"expected a mapping with 'params', got {type(data).__name__}")
    extra = sorted(set(data) - {"strategy", "params", "constraints", "source", "description"})
    if extra:
        raise _fail(where, f"unknown key(s) {extra}; allowed: strategy, params, constraints")
    named = data.get("strategy")
    if strategy and named and named != strategy:
        raise _fail(where, f"the file is for strategy {named!r}, not {strategy!r}")
    strategy = strategy or named
    if not strategy:
        raise _fail(where, "no strategy: give 'strategy:' in the file or choose one")
    try:
        base = get_space(strategy, strategies_path)
    except ParameterError as exc:
        raise _fail(where, str(exc)) from None
    params = data.get("params")
    if not isinstance(params, Mapping) or not params:
        raise _fail(where, "'params' must be a non-empty mapping of parameter -> range")
    specs = {p.name: p for p in base.params}
    dims, fixed = [], dict(base.defaults())
    for name, raw in params.items():
        pwhere = f"{where}: params.{name}"
        if name not in specs:
            raise SpaceError(f"{pwhere}: unknown parameter for strategy {strategy}; valid: "
                             f"{', '.join(base.names)}")
        if isinstance(raw, Mapping):
            dims.append(_dimension(name, raw, specs[name], pwhere))
            fixed.pop(name, None)
        else:
            try:
                fixed[name] = specs[name].coerce(raw, pwhere)
            except ParameterError as exc:
                raise SpaceError(str(exc)) from None
    if not dims:
        raise _fail(where, "no parameter is searched (every one is fixed)")
    constraints = list(base.constraints)
    raw_constraints = data.get("constraints") or []
    if not isinstance(raw_constraints, (list, tuple)):
        raise _fail(where, "'constraints' must be a list like [\"fast < slow\"]")
    names = set(specs)
    for text in raw_constraints:
        m = _CONSTRAINT.match(str(text))
        if not m or m.group(1) not in names or m.group(3) not in names:
            raise _fail(where, f"bad constraint {text!r}; expected '<param> <op> <param>' with op "
                               f"one of < <= > >= and params among {sorted(names)}")
        constraints.append(Constraint(m.group(1), m.group(2), m.group(3)))
    unique = tuple(dict.fromkeys(Constraint(c.left, c.op, c.right) for c in constraints))
    space = SearchSpace(strategy, tuple(dims), fixed, unique, where)
    if not _any_feasible(space):
        raise _fail(where, "no point of the space satisfies the constraints "
                           + ", ".join(map(str, unique)))
    return space


def _any_feasible(space: SearchSpace) -> bool:
    """A cheap check that the constraints leave something: corners and midpoints."""
    import itertools

    probes = []
    for d in space.dims:
        if d.kind == "categorical":
            probes.append(list(d.choices))
        else:
            mid = (d.low + d.high) / 2
            vals = [d.low, mid, d.high]
            probes.append([int(round(v)) for v in vals] if d.kind == "int" else vals)
    for combo in itertools.islice(itertools.product(*probes), 5000):
        if space.feasible(space.complete(dict(zip(space.names, combo)))):
            return True
    return False


def load_space(path: str | Path, strategy: str | None = None) -> SearchSpace:
    """Read and validate a YAML (``.yaml``/``.yml``) or JSON (``.json``) space file."""
    p = Path(path)
    if not p.is_file():
        raise SpaceError(f"{p}: parameter space file not found")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise SpaceError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'YAML'}: {exc}") from None
    except Exception as exc:  # yaml.YAMLError
        raise SpaceError(f"{p}: not valid YAML: {exc}") from None
    return parse_space(data, strategy=strategy, where=str(p))


def default_space(strategy: str, strategies_path: str | None = None) -> SearchSpace:
    """Every parameter of ``strategy`` over its full range in ``config/strategies.yaml``."""
    from research_lab.core.backtest.params import ParameterError, get_space

    try:
        base = get_space(strategy, strategies_path)
    except ParameterError as exc:
        raise SpaceError(str(exc)) from None
    params: dict[str, Any] = {}
    for p in base.params:
        if p.type == "categorical":
            params[p.name] = {"type": "categorical", "choices": list(p.choices)}
        else:
            params[p.name] = {"type": p.type, "low": p.low, "high": p.high,
                              **({"step": p.step} if p.step is not None else {})}
    return parse_space({"strategy": strategy, "params": params}, where=f"default space of {strategy}",
                       strategies_path=strategies_path)
