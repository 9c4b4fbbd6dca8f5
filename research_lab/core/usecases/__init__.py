"""The researcher's use cases: one function each, the whole sequence, no Dagster.

Each action a researcher takes on stored data is ONE function here; the Dagster assets, the
``research-lab`` commands and the HTTP API call it and only present its result:

=========================== ================================================================
:func:`backtest_symbols`    quality gate -> history from the store (else the source) ->
(:func:`backtest_symbol`)   session range -> benchmark / VIX context -> ``backtest_report``
                            on the lab's broker -> files -> MLflow
:func:`score_quality`       score stored partitions (rules, Isolation Forest, Prophet) ->
                            the open criticals and warnings among them
:func:`quality_report`      the anomaly report and its KPIs (anomalies per ingest batch,
                            median detection-to-acknowledgement time, false-positive rate)
:func:`train_policy`        quality gate -> history -> train under guardrails -> MLflow
:func:`evaluate_policy`     quality gate -> history -> test-period context -> playback and
                            baselines (buy-and-hold, a study's best fitted before the test,
                            the training-period fit, or default parameters)
                            on the lab's broker -> files -> MLflow
=========================== ================================================================

Bad input raises ``ValueError`` (one line naming the parameter); open critical anomalies raise
:class:`~research_lab.core.quality.gate.QualityGateError` (a ``ValueError``) before anything is
read further or written. Adapters map both: the CLI to exit code 2 and one line, an asset to
``dagster.Failure``. Importing this package is light (heavy imports happen inside functions).
"""

from __future__ import annotations

from .backtest import BacktestRun, backtest_symbol, backtest_symbols
from .history import History, MissingDataError, gated_history
from .quality import QualityReport, ScoringRun, quality_report, score_quality
from .rl import EvaluationRun, TrainingRun, evaluate_policy, train_policy
from .tracking import Tracked, Tracking

__all__ = [
    "BacktestRun",
    "EvaluationRun",
    "History",
    "MissingDataError",
    "QualityReport",
    "ScoringRun",
    "Tracked",
    "Tracking",
    "TrainingRun",
    "backtest_symbol",
    "backtest_symbols",
    "evaluate_policy",
    "gated_history",
    "quality_report",
    "score_quality",
    "train_policy",
]
