"""Warm start: the first trials of a new study are points worth knowing, not random draws.

When a study is created, :func:`enqueue_warm_start` enqueues (Optuna's ``enqueue_trial``)
the strategy's default parameters (``study.enqueue_defaults``, on by default: the study's
baseline becomes a real trial, so the best is never worse than the defaults) and the
parameter sets listed in ``study.enqueue`` (known good ones, e.g. last quarter's best).
Each is cut to the searched parameters; a point outside the space (a value off its range or
step) or breaking a constraint is skipped with the reason logged. A resumed study enqueues
nothing again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("research_lab.optimize")


def warm_start_points(space: Any, defaults: Mapping[str, Any] | None,
                      known: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """The points to enqueue, in order, each inside the space and feasible, no duplicate."""
    out: list[dict[str, Any]] = []
    for source, point in ([("defaults", defaults)] if defaults else []) + [
            (f"study.enqueue[{i}]", p) for i, p in enumerate(known)]:
        unknown = sorted(set(point) - set(space.names) - set(space.fixed))
        if unknown:
            log.warning("warm start %s: unknown parameter(s) %s: skipped", source, unknown)
            continue
        params = {d.name: point[d.name] for d in space.dims if d.name in point}
        bad = [d.name for d in space.dims if d.name in params
               and not d.distribution()._contains(d.distribution().to_internal_repr(
                   params[d.name]))]
        if bad or len(params) < len(space.dims):
            missing = [d.name for d in space.dims if d.name not in params]
            log.info("warm start %s: %s outside the space: skipped", source, bad or missing)
            continue
        if not space.feasible(space.complete(params)) or params in out:
            continue
        out.append(params)
    return out


def enqueue_warm_start(study: Any, points: Sequence[Mapping[str, Any]]) -> int:
    for params in points:
        study.enqueue_trial(dict(params), skip_if_exists=True)
    return len(points)
