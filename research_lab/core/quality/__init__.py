"""Data quality: rule checks on stored bars and the anomaly sentinel.

Nothing is imported here (the Dagster definitions import ``bar_checks`` at load time, which must
stay cheap); import from the modules:

==================== ========================================================================
module               what it holds
==================== ========================================================================
``bar_checks``       the four rule checks behind ``market_data``'s asset checks
``sentinel``         ``score_bars`` (in memory) and ``score_partitions`` (read, score, write)
``features``         robust reference, split adjustment, standardized features, rule inputs
``isolation``        the Isolation Forest (numpy, vectorized over trees)
``iforest``          yearly forests scoring the features
``prophet_scores``   Prophet one-step residuals of log close and log volume, refit per year
``decision``         evidence -> severity (info / warning / critical) with reasons
``severity``         severity levels and rule names (no numpy)
``thresholds``       ``Thresholds`` and the calibration YAML file
``calibration``      fit thresholds per symbol on its history
``config``           model windows and block sizes (``SentinelConfig``)
``gate``             open criticals, acknowledgements, ``require_no_open_criticals``
``alerts``           the webhook: payload, retries, exactly-once delivery
``report``           counts, false-positive rate, plot
``injection``        labeled anomalies injected into real bars (seeded)
``evaluation``       precision / recall / FPR per kind on real series
==================== ========================================================================

The design (causal but batched model blocks, the evidence, the measured figures) is in
``docs/quality.md``.
"""
