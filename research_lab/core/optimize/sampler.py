"""The sampler and the pruner of a study, built from ``config/optimize.yaml``.

Samplers (``sampler.type``, ``--sampler``; every one seeded with ``seed + worker index``)

=========  ==============================================================================
``tpe``    Optuna's ``TPESampler`` (default; details below)
``random`` ``RandomSampler``: independent uniform draws (a baseline)
``grid``   ``GridSampler`` over every value of a discrete space (floats need a ``step``);
           workers share the grid, and the study stops when it is exhausted
``qmc``    ``QMCSampler`` (scrambled Sobol): low-discrepancy coverage of the space
``cmaes``  ``CmaEsSampler`` (the ``cmaes`` package): covariance-matrix adaptation of the
           numeric parameters after ``n_startup_trials`` random ones (categorical
           parameters are sampled independently)
``gp``     ``GPSampler``: a Gaussian-process model with expected improvement (torch, scipy)
``nsga2``  ``NSGAIISampler``: genetic, non-dominated sorting (multi-objective studies; a
           single-objective study works too: the first generation, 50 completed trials,
           is random)
``nsga3``  ``NSGAIIISampler``: reference-point NSGA for many objectives (on one objective
           it selects like NSGA-II except among ties: the same figures on ORCL)
=========  ==============================================================================

TPE (Optuna's ``TPESampler``)
    ``n_startup_trials`` random trials (10 by default), then a Parzen-estimator model of good
    vs bad trials; ``multivariate=True`` models the parameters jointly (SMA fast and slow
    interact). ``constant_liar`` makes a trial that is still running count as a bad one, so
    that parallel workers do not all sample the same promising point: ``auto`` turns it on
    exactly when more than one worker runs. Seeded: worker ``i`` of a study uses ``seed + i``
    (equal seeds would make parallel workers draw the same random start-up points); a
    one-worker study with a seed is reproducible trial for trial.

Median pruning over the walk-forward folds (``pruner.type: median``, the default)
    After each fold a trial reports that fold's score (``trial.report(score, fold)``).
    :class:`WalkForwardMedianPruner` stops the trial when the mean of its fold scores so far
    is worse than the median, over completed trials, of their mean over the same folds (after
    ``n_startup_trials`` completed trials and ``n_warmup_steps`` folds). That is Optuna's
    ``MedianPruner`` rule applied to the running mean, i.e. to the trial's objective as far as
    it is known. Optuna's own ``MedianPruner`` (``pruner.type: optuna_median``) compares the
    single fold's score instead, and measured on ORCL it prunes the best configuration of the
    grid whenever one of its folds is weak: with it 4 of 10 seeds never reached 99 % of the
    grid's best in 400 trials (benchmarks/optimize_sample_efficiency.py, docs/optimization.md).

Wilcoxon pruning (``pruner.type: wilcoxon``)
    Optuna's ``WilcoxonPruner``, made for objectives that are means over instances (here the
    folds): after each fold, a Wilcoxon signed-rank test of the trial's fold scores against
    the best trial's scores on the same folds; the trial is pruned when it is worse with
    p < ``p_threshold`` (0.1). ``n_warmup_steps`` folds are evaluated before it may prune.
    With 4 folds it cannot prune at all: a trial is never pruned after its last fold, so the
    test sees at most 3 pairs, whose smallest one-sided p-value is 1/8 = 0.125 > 0.1; so
    the median pruner stays the default (benchmarks/optimize_pruners.py,
    docs/optimization.md).

    Pruning is single-objective only: Optuna cannot compare intermediate values of a
    multi-objective study, so a multi-objective study always uses ``NopPruner`` and evaluates
    every fold.

    No pruning with the GP sampler (:data:`UNPRUNED_SAMPLERS`): Optuna's ``GPSampler`` fits
    its model on completed trials only, so a pruned point stays where its acquisition
    function peaks and is proposed again and again (each repeat pruned at once as a repeat
    of a pruned trial). Measured on ORCL with the median pruner: 400 trials held 14 distinct
    points and no seed of 5 reached 99 % of the grid's best; without pruning every seed did
    (benchmarks/optimize_sample_efficiency.py, docs/optimization.md).

optuna is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

from research_lab.core.optimize.config import PrunerSettings, SamplerSettings


CONSTRAINED = ("tpe", "gp", "nsga2", "nsga3")  # read Optuna trial constraints (set_constraint)
UNPRUNED_SAMPLERS = ("gp",)  # model only completed trials: a pruned point is proposed again


def constant_liar_for(settings: SamplerSettings, workers: int) -> bool:
    if settings.constant_liar == "auto":
        return workers > 1
    return bool(settings.constant_liar)


def grid_of(space: Any) -> dict[str, list[Any]]:
    """The grid sampler's search space: every value of each dimension; ``SpaceError`` naming
    a continuous parameter."""
    if space is None:
        raise ValueError("the grid sampler needs the study's search space")
    return {d.name: d.grid() for d in space.dims}


def make_sampler(settings: SamplerSettings, *, seed: int | None, workers: int = 1,
                 worker_index: int = 0, space: Any = None) -> Any:
    """The configured sampler of one worker (seed ``seed + worker_index``)."""
    import warnings

    import optuna

    s = optuna.samplers
    seed = None if seed is None else seed + worker_index
    with warnings.catch_warnings():  # multivariate, constant_liar, GP, QMC are "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if settings.type == "random":
            return s.RandomSampler(seed=seed)
        if settings.type == "grid":
            return s.GridSampler(grid_of(space), seed=seed)
        if settings.type == "qmc":
            return s.QMCSampler(qmc_type="sobol", scramble=True, seed=seed)
        if settings.type == "cmaes":
            return s.CmaEsSampler(n_startup_trials=settings.n_startup_trials, seed=seed,
                                  warn_independent_sampling=False)
        if settings.type == "gp":
            return s.GPSampler(n_startup_trials=settings.n_startup_trials, seed=seed)
        if settings.type == "nsga2":
            return s.NSGAIISampler(seed=seed)
        if settings.type == "nsga3":
            return s.NSGAIIISampler(seed=seed)
        return s.TPESampler(
            n_startup_trials=settings.n_startup_trials,
            multivariate=settings.multivariate,
            constant_liar=constant_liar_for(settings, workers),
            seed=seed,
        )


def make_pruner(settings: PrunerSettings, *, n_objectives: int = 1,
                sampler: str | None = None) -> Any:
    """The configured pruner (single objective, a sampler not in
    :data:`UNPRUNED_SAMPLERS`), else ``NopPruner``."""
    import optuna

    if settings.type == "none" or n_objectives > 1 or sampler in UNPRUNED_SAMPLERS:
        return optuna.pruners.NopPruner()
    if settings.type == "wilcoxon":
        import warnings

        with warnings.catch_warnings():  # WilcoxonPruner is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=settings.p_threshold,
                                                 n_startup_steps=settings.n_warmup_steps)
    if settings.type == "optuna_median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=settings.n_startup_trials,
            n_warmup_steps=settings.n_warmup_steps,
            interval_steps=settings.interval_steps,
        )
    return _walk_forward_pruner_class()(settings.n_startup_trials, settings.n_warmup_steps,
                                        settings.interval_steps)


def _walk_forward_pruner_class() -> type:
    """:class:`WalkForwardMedianPruner`, defined on first use (optuna is imported lazily)."""
    global WalkForwardMedianPruner
    if WalkForwardMedianPruner is not None:
        return WalkForwardMedianPruner
    import statistics
    import threading

    import optuna
    from optuna.trial import TrialState

    class _Pruner(optuna.pruners.BasePruner):
        """Prune when the running mean of the fold scores is worse than the median running
        mean of the completed trials over the same folds.

        The completed trials are read once per trial (at its first prunable fold) and reused
        for its later folds: one storage read per trial instead of one per fold (on
        PostgreSQL each read reloads every running trial, ~10 ms). One worker decides
        exactly as with a read per fold (no trial completes while its own runs); with several
        workers, a trial may not see the ones that completed during its own folds."""

        def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0,
                     interval_steps: int = 1) -> None:
            self.n_startup_trials = n_startup_trials
            self.n_warmup_steps = n_warmup_steps
            self.interval_steps = interval_steps
            self._local = threading.local()

        def _completed(self, study: Any, trial: Any) -> list[Any]:
            key = (study.study_name, trial.number)
            if getattr(self._local, "key", None) != key:
                self._local.done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                self._local.key = key
            return self._local.done

        def prune(self, study: Any, trial: Any) -> bool:
            step = trial.last_step
            if step is None or step < self.n_warmup_steps:
                return False
            if (step - self.n_warmup_steps) % self.interval_steps:
                return False
            done = self._completed(study, trial)
            if len(done) < self.n_startup_trials:
                return False

            def running_mean(t: Any) -> float | None:
                iv = t.intermediate_values
                if any(k not in iv for k in range(step + 1)):
                    return None
                return sum(iv[k] for k in range(step + 1)) / (step + 1)

            mine = running_mean(trial)
            others = [m for m in map(running_mean, done) if m is not None]
            if mine is None or not others:
                return False
            median = statistics.median(others)
            if study.direction == optuna.study.StudyDirection.MAXIMIZE:
                return mine < median
            return mine > median

    _Pruner.__name__ = _Pruner.__qualname__ = "WalkForwardMedianPruner"
    WalkForwardMedianPruner = _Pruner
    return _Pruner


WalkForwardMedianPruner: Any = None
