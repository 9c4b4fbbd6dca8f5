"""Experiment names: ``{Project}.{AssetClass}.{StrategyFamily}.{Strategy}``.

Every backtest, study and policy lands in an MLflow experiment named by this convention, e.g.
``Q1_2025.Equities.MeanReversion.SMACrossover``. The four parts also become tags on the
experiment and on each of its runs (``project``, ``asset_class``, ``strategy_family``,
``strategy``), so that queries can select a whole project, an asset class within it, or one
family, without parsing names.

A part is 1-64 characters: letters, digits, ``_`` and ``-``, starting with a letter or a digit
(no dots, since the dot separates the parts; no spaces). :func:`ExperimentName.parse` and the
constructor raise :class:`NamingError` (a ``ValueError``) naming the bad part::

    >>> ExperimentName.parse("Q1_2025.Equities.MeanReversion.SMACrossover").strategy
    'SMACrossover'
    >>> ExperimentName.parse("Q1_2025.Equities.SMACrossover")
    Traceback (most recent call last):
    ...
    research_lab.core.tracking.naming.NamingError: experiment name 'Q1_2025.Equities.SMACrossover' has 3 part(s); expected 4: {Project}.{AssetClass}.{StrategyFamily}.{Strategy} (e.g. Q1_2025.Equities.MeanReversion.SMACrossover)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTS = ("project", "asset_class", "strategy_family", "strategy")
_LABELS = {
    "project": "Project",
    "asset_class": "AssetClass",
    "strategy_family": "StrategyFamily",
    "strategy": "Strategy",
}
PATTERN = "{Project}.{AssetClass}.{StrategyFamily}.{Strategy}"
EXAMPLE = "Q1_2025.Equities.MeanReversion.SMACrossover"
_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class NamingError(ValueError):
    """An experiment name (or one of its parts) that breaks the convention."""


def check_part(field: str, value: object) -> str:
    """``value`` if it is a valid ``field`` part (``project``, ``asset_class``, ...), else raise."""
    label = _LABELS.get(field, field)
    if not isinstance(value, str):
        raise NamingError(f"{label} must be a string, got {type(value).__name__}")
    if not _PART_RE.match(value):
        why = (
            "is empty" if not value
            else "is longer than 64 characters" if len(value) > 64
            else "contains a dot (the dot separates the parts)" if "." in value
            else "must start with a letter or digit and hold only letters, digits, '_' and '-'"
        )
        raise NamingError(f"{label} {value!r} {why}")
    return value


@dataclass(frozen=True)
class ExperimentName:
    """One experiment's place in the hierarchy; ``str(name)`` is the MLflow experiment name."""

    project: str
    asset_class: str
    strategy_family: str
    strategy: str

    def __post_init__(self) -> None:
        for part in PARTS:
            check_part(part, getattr(self, part))

    @classmethod
    def parse(cls, text: str) -> ExperimentName:
        """Split and validate a dotted name; the error names the bad part."""
        if not isinstance(text, str):
            raise NamingError(f"experiment name must be a string, got {type(text).__name__}")
        parts = text.split(".")
        if len(parts) != len(PARTS):
            raise NamingError(
                f"experiment name {text!r} has {len(parts)} part(s); expected 4: {PATTERN} "
                f"(e.g. {EXAMPLE})"
            )
        try:
            return cls(*parts)
        except NamingError as exc:
            raise NamingError(f"experiment name {text!r}: {exc}") from None

    @classmethod
    def coerce(cls, value: ExperimentName | str) -> ExperimentName:
        return value if isinstance(value, ExperimentName) else cls.parse(value)

    def __str__(self) -> str:
        return ".".join(getattr(self, p) for p in PARTS)

    def tags(self) -> dict[str, str]:
        """The four parts as tags (set on the experiment and on each run)."""
        return {p: getattr(self, p) for p in PARTS}


@dataclass(frozen=True)
class Scope:
    """A prefix of the hierarchy used by queries: a project, optionally narrowed.

    ``Scope("Q1_2025")`` is the whole project, ``Scope("Q1_2025", "Equities")`` one asset class
    in it, and so on down to one strategy. Parts left as ``None`` match anything.
    """

    project: str | None = None
    asset_class: str | None = None
    strategy_family: str | None = None
    strategy: str | None = None

    def __post_init__(self) -> None:
        for part in PARTS:
            value = getattr(self, part)
            if value is not None:
                check_part(part, value)

    def tags(self) -> dict[str, str]:
        return {p: getattr(self, p) for p in PARTS if getattr(self, p) is not None}

    def matches(self, name: ExperimentName) -> bool:
        return all(getattr(name, p) == v for p, v in self.tags().items())

    def __str__(self) -> str:
        given = [getattr(self, p) or "*" for p in PARTS]
        while given and given[-1] == "*":
            given.pop()
        return ".".join(given) or "*"
