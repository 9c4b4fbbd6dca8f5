"""Finding strategies: by reference, and by discovery over configured sources.

A **reference** names one strategy class (the strategy is then known by its class name, or a
fast strategy's ``name``, for the rest of the process):

``pkg.module.ClassName``
    a dotted path importable from the working directory, from ``--strategy-path DIR``
    (``paths`` argument) or from the configured folders;
``path/to/file.py:ClassName``
    a file (its folder is put on ``sys.path`` and the file imported by its stem).

**Discovery** imports every module of the configured sources and registers each strategy
class defined there: the ``packages`` and ``paths`` of ``config/strategies.yaml`` (the
built-in library first), then the entries of ``RESEARCH_LAB_STRATEGIES`` (separated by
``os.pathsep``; an existing folder is a path, anything else a dotted package). A fast
strategy is registered by its ``name``; a backtrader strategy by its class name (two classes
of the same name: the second is listed as a problem; run it by reference).
A module that fails to import does not stop discovery: it is listed in
:attr:`Discovery.problems` (``research-lab strategy list`` shows them).

**Loading a strategy executes its module's code**, like any import: only point discovery at
code you trust. The HTTP API never loads a reference taken from a request; it runs only
names that discovery registered.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ._ref import StrategyError, StrategyRef, inspect, is_backtrader_strategy, is_fast_strategy

CONFIG_PATH = Path(__file__).resolve().parents[3] / "config" / "strategies.yaml"
ENV = "RESEARCH_LAB_STRATEGIES"


@dataclass(frozen=True)
class Sources:
    """Where discovery looks: dotted packages/modules and folders of modules."""

    packages: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass
class Discovery:
    """Every registered strategy by name, and what could not be loaded."""

    strategies: dict[str, StrategyRef] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def names(self, kind: str | None = None) -> list[str]:
        return [n for n, r in self.strategies.items() if kind is None or r.kind == kind]


def configured_sources(config_path: str | os.PathLike[str] | None = None) -> Sources:
    """``config/strategies.yaml``'s sources plus ``$RESEARCH_LAB_STRATEGIES``'s entries.

    Read again only when the file (its modification time or size) or the variable changed:
    every backtest resolves its strategy through here, and parsing the YAML each time cost
    more than a fast backtest (a 100-combination sweep parsed it 100 times)."""
    path = Path(config_path) if config_path else CONFIG_PATH
    try:
        st = path.stat()
        stamp: tuple = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = ()  # _read_sources names the problem
    return _read_sources(str(path), stamp, os.environ.get(ENV, ""))


@functools.lru_cache(maxsize=8)
def _read_sources(path_text: str, stamp: tuple, env: str) -> Sources:
    import yaml

    path = Path(path_text)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise StrategyError(f"{path}: cannot read the strategy sources: {exc}") from None
    packages = doc.get("packages") or []
    paths = doc.get("paths") or []
    if not isinstance(packages, list) or not isinstance(paths, list):
        raise StrategyError(f"{path}: 'packages' and 'paths' must be lists")
    folders = [str((path.parent.parent / p).resolve()) if not os.path.isabs(p) else p
               for p in map(str, paths)]
    for entry in filter(None, env.split(os.pathsep)):
        if os.path.isdir(entry):
            folders.append(str(Path(entry).resolve()))
        else:
            packages.append(entry.strip())
    return Sources(tuple(map(str, packages)), tuple(folders))


def _on_path(folders: Iterable[str]) -> None:
    for folder in folders:
        folder = str(Path(folder).resolve())
        if folder not in sys.path:
            sys.path.insert(0, folder)


def _import(module: str, what: str) -> ModuleType:
    """Import ``module``; any failure becomes one line naming the file and line."""
    try:
        return importlib.import_module(module)
    except SyntaxError as exc:
        raise StrategyError(f"{what}: {exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise StrategyError(f"{what}: no module named {exc.name!r} (looked in the working "
                                "directory, --strategy-path and the configured folders)") from None
        raise StrategyError(f"{what}: {_located(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - user code may raise anything at import
        raise StrategyError(f"{what}: {_located(exc)}") from None


def _located(exc: BaseException) -> str:
    """``file:line: Type: message`` of the innermost frame outside the import machinery."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in f.filename and not f.filename.endswith("discovery.py")]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"


def _classes(module: ModuleType) -> list[type]:
    return [obj for obj in vars(module).values()
            if (is_fast_strategy(obj) or is_backtrader_strategy(obj))
            and obj.__module__ == module.__name__ and obj.__dict__.get("abstract") is not True
            and not (is_fast_strategy(obj) and not obj.__dict__.get("name"))]


def _modules_of(package: str, what: str) -> list[ModuleType]:
    root = _import(package, what)
    out = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        out.append(_import(info.name, what))
    return out


def _folder_modules(folder: str) -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules([folder]) if not i.name.startswith("_"))


def discover(sources: Sources | None = None) -> Discovery:
    """Import every configured source and register its strategies (cached per sources)."""
    return _discover(sources or configured_sources())


@functools.lru_cache(maxsize=8)
def _discover(sources: Sources) -> Discovery:
    _on_path(sources.paths)
    found = Discovery()
    units = [(p, f"package {p}") for p in sources.packages]
    for folder in sources.paths:
        units += [(m, f"{folder}/{m}") for m in _folder_modules(folder)]
    for unit, what in units:
        try:
            modules = _modules_of(unit, what)
        except StrategyError as exc:
            found.problems.append(str(exc))
            continue
        for module in modules:
            for cls in _classes(module):
                try:
                    ref = inspect(cls)
                except StrategyError as exc:
                    found.problems.append(str(exc))
                    continue
                if ref.name in found.strategies and found.strategies[ref.name].cls is not cls:
                    found.problems.append(
                        f"{ref.name} ({ref.where}): the name is taken by "
                        f"{found.strategies[ref.name].where}; this one is skipped")
                    continue
                found.strategies[ref.name] = ref
    return found


def clear_cache() -> None:
    """Forget discovered strategies (the next call imports the sources again)."""
    _discover.cache_clear()


def load_reference(reference: str, paths: Sequence[str | os.PathLike[str]] = ()) -> StrategyRef:
    """The strategy a reference names (``pkg.mod.Class`` or ``file.py:Class``)."""
    _on_path([*map(str, paths), *configured_sources().paths])
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    file, sep, cls_name = reference.rpartition(":")
    if sep and file.endswith(".py"):
        path = Path(file)
        module = _import_file(path, reference)
    else:
        module_name, dot, cls_name = reference.rpartition(".")
        if not dot:
            raise StrategyError(f"{reference}: not a reference (pkg.module.Class or file.py:Class)")
        module = _import(module_name, reference)
    if not hasattr(module, cls_name):
        raise StrategyError(f"{reference}: {module.__file__} defines no {cls_name!r}")
    ref = inspect(getattr(module, cls_name))
    _LOADED[ref.name] = ref
    _LOADED[reference] = ref
    _export(module.__name__, [*map(str, paths), *([str(path.parent)] if sep and file.endswith(".py") else [])])
    return ref


def _export(module: str, folders: Sequence[str]) -> None:
    """Make a strategy loaded by reference discoverable by name in child processes (study
    workers): its module joins ``RESEARCH_LAB_STRATEGIES``, its folders ``PYTHONPATH``."""
    entries = os.environ.get(ENV, "").split(os.pathsep)
    if module not in entries:
        os.environ[ENV] = os.pathsep.join([e for e in entries if e] + [module])
    _export_folders(folders)


def _export_folders(folders: Sequence[str]) -> None:
    """``folders`` and the working directory join ``PYTHONPATH`` (for child processes)."""
    py = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    extra = [str(Path(f).resolve()) for f in [*folders, os.getcwd()]]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([p for p in py if p] + extra))


def _import_file(path: Path, label: str):
    """The module of a ``.py`` file, imported by its stem from its folder; refused when
    that name is already another module (a file named like an installed package)."""
    if not path.is_file():
        raise StrategyError(f"{label}: no such file {path}")
    _on_path([str(path.parent)])
    module = _import(path.stem, label)
    if Path(getattr(module, "__file__", "") or "").resolve() != path.resolve():
        raise StrategyError(f"{label}: the module name {path.stem!r} is already taken by "
                            f"{module.__file__}; rename the file")
    return module


_LOADED: dict[str, StrategyRef] = {}  # strategies loaded by reference in this process


def get_strategy(name: str, paths: Sequence[str | os.PathLike[str]] = ()) -> StrategyRef:
    """A registered strategy by name, else the class a reference names; or
    :class:`StrategyError` listing the registered names (and what failed to load)."""
    found = discover()
    if name in found.strategies:
        return found.strategies[name]
    if name in _LOADED:
        return _LOADED[name]
    if ":" in name or "." in name:
        return load_reference(name, paths)
    known = ", ".join(sorted(found.strategies))
    broken = f"; {len(found.problems)} source(s) failed to load (research-lab strategy list)" \
        if found.problems else ""
    raise StrategyError(f"unknown strategy {name!r}; valid strategies: {known}{broken}")


def registered(names: Iterable[str] | None = None) -> list[StrategyRef]:
    found = discover()
    return [found.strategies[n] for n in (names or found.strategies)]


def load_object(reference: str, what: str = "reference") -> object:
    """The object a reference names: ``pkg.module:name``, ``pkg.module.name`` or
    ``path/to/file.py:name`` (a loss function, ...); :class:`StrategyError` in one line naming
    the reference otherwise. Imports the module (its code runs). The module's folder (or the
    working directory) joins ``PYTHONPATH`` so that study workers can import it too."""
    ref = str(reference).strip()
    head, sep, name = ref.rpartition(":")
    if not sep:
        head, sep, name = ref.rpartition(".")
    if not sep or not head or not name.isidentifier():
        raise StrategyError(f"{what} {ref[:120]!r}: not a reference (module:function or "
                            "file.py:function)")
    label = f"{what} {ref[:120]!r}"
    folders = []
    if head.endswith(".py"):
        path = Path(head)
        module = _import_file(path, label)
        folders.append(str(path.parent))
    else:
        _on_path([os.getcwd()])
        module = _import(head, label)
    if not hasattr(module, name):
        raise StrategyError(f"{label}: {getattr(module, '__file__', head)} defines no {name!r}")
    _export_folders(folders)
    return getattr(module, name)
