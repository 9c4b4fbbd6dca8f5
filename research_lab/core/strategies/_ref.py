"""What research_lab knows about one strategy: :class:`StrategyRef`, built by :func:`inspect`.

Two kinds (:data:`KINDS`): ``fast`` (a :class:`~._base.FastStrategy` subclass) and
``backtrader`` (any ``backtrader.Strategy`` subclass, run unchanged). A ref carries the class,
its parameter space (a backtrader strategy's ``params``: type from each default, no bounds), its
source file and line, and its code version: the hash of the source file and the version of the
installed distribution it comes from, if any.
"""

from __future__ import annotations

import functools
import hashlib
import inspect as _inspect
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from research_lab.core.backtest.params import (
    ParameterError,
    ParamSpec,
    StrategySpace,
    space_from_mapping,
)

from ._base import NAME, FastStrategy

KINDS = ("fast", "backtrader")


class StrategyError(ParameterError):
    """A strategy that cannot be loaded or run: names the strategy, file and line (exit 2)."""


@dataclass(frozen=True, eq=False)
class StrategyRef:
    """One loadable strategy."""

    name: str
    kind: str
    cls: type
    space: StrategySpace
    file: str | None
    line: int | None
    code_version: str | None
    package_version: str | None = None
    _instance: list = field(default_factory=list, repr=False)

    @property
    def where(self) -> str:
        if self.file is None:
            return self.cls.__module__
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def native_engine(self) -> str:
        return "fast" if self.kind == "fast" else "backtrader"

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``params``, checked (:class:`StrategyError` naming them, the
        strategy and its file)."""
        try:
            return self.space.resolve(params)
        except ParameterError as exc:
            raise StrategyError(f"{exc} [{self.where}]") from None

    def fast(self) -> FastStrategy:
        if self.kind != "fast":
            raise StrategyError(f"{self.name} ({self.where}) is a backtrader strategy: it runs on "
                                "the backtrader engine only")
        if not self._instance:
            self._instance.append(self.cls())
        return self._instance[0]

    def rule(self, params: Mapping[str, Any]) -> Any:
        return self.fast().rule(params)

    def code(self) -> dict[str, Any]:
        """The code version recorded with every result."""
        return {"name": self.name, "kind": self.kind, "class": _qualname(self.cls),
                "file": self.file, "code_version": self.code_version,
                "package_version": self.package_version}

    def describe(self) -> dict[str, Any]:
        return {
            **self.code(), "line": self.line, "description": self.space.description,
            "params": {p.name: {"type": p.type, "default": p.default, "accepts": p.describe()}
                       for p in self.space.params},
            "constraints": [str(c) for c in self.space.constraints],
        }


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def file_hash(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:16]
    except OSError:
        return None


def package_version(module: str) -> str | None:
    """The version of the installed distribution that provides ``module``'s top package."""
    return _dist_version(module.split(".")[0])


@functools.lru_cache(maxsize=64)
def _dist_version(top: str) -> str | None:
    from importlib import metadata

    try:
        dists = metadata.packages_distributions().get(top) or []
        return metadata.version(dists[0]) if dists else None
    except Exception:  # noqa: BLE001 - a broken install has no version to record
        return None


def source_of(cls: type) -> tuple[str | None, int | None]:
    try:
        file = _inspect.getsourcefile(cls)
    except TypeError:
        return None, None
    try:
        line = _inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        line = None
    return file, line


def is_backtrader_strategy(obj: Any) -> bool:
    bt = sys.modules.get("backtrader")  # a module that subclasses bt.Strategy imported it
    return (bt is not None and isinstance(obj, type) and issubclass(obj, bt.Strategy)
            and obj is not bt.Strategy and not obj.__module__.startswith("backtrader"))


def is_fast_strategy(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, FastStrategy) and obj is not FastStrategy


def _bt_param(name: str, default: Any) -> ParamSpec:
    if isinstance(default, bool):
        return ParamSpec(name, "bool", default)
    if isinstance(default, int):
        return ParamSpec(name, "int", default, -math.inf, math.inf, 1.0)
    if isinstance(default, float):
        return ParamSpec(name, "float", default, -math.inf, math.inf)
    if isinstance(default, str):
        return ParamSpec(name, "str", default)
    return ParamSpec(name, "any", default)


def _bt_space(name: str, cls: type) -> StrategySpace:
    items = cls.params._getitems()
    doc = (_inspect.getdoc(cls) or "").strip().splitlines()
    return StrategySpace(name, tuple(_bt_param(k, v) for k, v in items),
                         description=doc[0] if doc else "")


def inspect(cls: Any, name: str | None = None) -> StrategyRef:
    """The :class:`StrategyRef` of a strategy class, or :class:`StrategyError` naming why the
    class is not one. A backtrader strategy is named by its class name (``SMACrossover``)
    unless ``name`` is given."""
    if not isinstance(cls, type):
        raise StrategyError(f"{name or cls!r}: {type(cls).__name__} object is not a class")
    file, line = source_of(cls)
    where = f"{file}:{line}" if file else cls.__module__
    if is_fast_strategy(cls):
        problem = cls.contract_problem()
        if problem:
            raise StrategyError(f"{cls.__qualname__} ({where}): breaks the fast-strategy "
                                f"contract: {problem}")
        raw = {"params": dict(cls.params), "constraints": list(cls.constraints),
               "description": cls.description}
        try:
            space = space_from_mapping(cls.name, raw)
        except ParameterError as exc:
            raise StrategyError(f"{cls.name} ({where}): {exc}") from None
        kind, name = "fast", cls.name
    elif is_backtrader_strategy(cls):
        name = name or cls.__name__
        if not NAME.match(name):
            raise StrategyError(f"{cls.__qualname__} ({where}): the class name {name!r} cannot "
                                "name a strategy (letters, digits, _ and -, starting with a "
                                "letter or digit)")
        space, kind = _bt_space(name, cls), "backtrader"
    else:
        raise StrategyError(
            f"{name or cls.__qualname__} ({where}): not a strategy: expected a subclass of "
            "backtrader.Strategy or research_lab.core.strategies.FastStrategy"
        )
    return StrategyRef(name, kind, cls, space, file, line, file_hash(file),
                       package_version(cls.__module__))
