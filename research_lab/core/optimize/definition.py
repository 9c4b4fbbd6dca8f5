"""A study's definition: everything a worker needs to join it, stored in the study itself.

When a study is created, :class:`StudyDefinition` is written as the study's user attribute
``research_lab.definition`` (plain JSON): strategy, symbol (and the more symbols that feed
the same strategy, ``feeds``: :mod:`.feeds`), session range and data version,
search space, objective, walk-forward plan, broker settings, sampler and pruner settings,
seed and the target number of trials. A worker started anywhere with only the study name and
the storage URL (``research-lab optimize worker``) reads it, loads the same bars from its own
market-data store, checks the data version, and searches exactly the same space. Resuming a
study with a different definition (another space, other dates) is refused with the
difference named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from research_lab.core.optimize.config import PrunerSettings, SamplerSettings
from research_lab.core.optimize.objective import ObjectiveSpec
from research_lab.core.optimize.space import SearchSpace
from research_lab.core.optimize.walkforward import WalkForwardPlan

ATTR = "research_lab.definition"
DEADLINE_ATTR = "research_lab.deadline"
IDENTITY = ("strategy", "symbol", "start", "end", "data_version", "space", "objective", "plan",
            "broker", "feeds")


class DefinitionError(ValueError):
    """A study that cannot be resumed or joined as asked."""


@dataclass(frozen=True)
class StudyDefinition:
    study_name: str
    strategy: str
    symbol: str
    start: str                  # first session (ISO) of all the bars (IS + OOS)
    end: str                    # last session (ISO)
    data_version: str
    space: SearchSpace
    objective: ObjectiveSpec
    plan: WalkForwardPlan
    broker: dict[str, Any]
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    pruner: PrunerSettings = field(default_factory=PrunerSettings)
    seed: int | None = 42
    n_trials: int = 100
    workers: int = 1
    max_retry: int = 3
    feeds: tuple[str, ...] = ()  # more symbols fed with ``symbol`` (``self.datas[1:]``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_name": self.study_name, "strategy": self.strategy, "symbol": self.symbol,
            "start": self.start, "end": self.end, "data_version": self.data_version,
            "space": self.space.to_dict(), "objective": self.objective.to_dict(),
            "plan": self.plan.to_dict(), "broker": dict(self.broker),
            "sampler": self.sampler.to_dict(), "pruner": self.pruner.to_dict(),
            "seed": self.seed, "n_trials": self.n_trials, "workers": self.workers,
            "max_retry": self.max_retry, "feeds": list(self.feeds),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyDefinition:
        return cls(
            d["study_name"], d["strategy"], d["symbol"], d["start"], d["end"], d["data_version"],
            SearchSpace.from_dict(d["space"]), ObjectiveSpec.from_dict(d["objective"]),
            WalkForwardPlan.from_dict(d["plan"]), dict(d["broker"]),
            SamplerSettings(**d.get("sampler", {})), PrunerSettings(**d.get("pruner", {})),
            d.get("seed"), int(d.get("n_trials", 100)), int(d.get("workers", 1)),
            int(d.get("max_retry", 3)), tuple(d.get("feeds") or ()),
        )

    def differences(self, other: StudyDefinition) -> list[str]:
        """The identity fields in which ``other`` differs (what makes a resume a new search)."""
        a, b = self.to_dict(), other.to_dict()
        diff = []
        for key in IDENTITY:
            x, y = a[key], b[key]
            if key == "space":
                x, y = {**x, "source": None}, {**y, "source": None}
            if x != y:
                diff.append(key)
        return diff


def read_definition(study: Any) -> StudyDefinition:
    raw = study.user_attrs.get(ATTR)
    if raw is None:
        raise DefinitionError(
            f"study {study.study_name!r} has no research_lab definition (it was not created by "
            "research-lab optimize); a worker cannot join it")
    return StudyDefinition.from_dict(raw)
