"""The anomaly KPIs from hand-made scores, verdicts and ingest ledger rows (expected by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from research_lab.core.usecases.quality import anomaly_kpis, batch_table, kpi_markdown


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def scores():
    rows = [  # symbol, session, bars_version, severity, scored_at
        ("ACME", "2024-01-02", "a1", "info", "2024-01-03 01:00"),
        ("ACME", "2024-01-03", "a2", "critical", "2024-01-04 01:00"),
        ("ACME", "2024-01-04", "a3", "warning", "2024-01-05 01:00"),
        ("WAYNE", "2024-01-02", "w1", "critical", "2024-01-03 01:00"),
        ("WAYNE", "2024-01-03", "w2", "info", "2024-01-04 01:00"),
    ]
    return pd.DataFrame(
        [(s, pd.Timestamp(d), v, sev, _ts(t)) for s, d, v, sev, t in rows],
        columns=["symbol", "session", "bars_version", "severity", "scored_at"])


@pytest.fixture
def ledger():
    rows = [  # two batches: everything up to 01-03 (one write), then 01-04 alone
        ("ACME", "2024-01-02", "2024-01-03 00:00"), ("ACME", "2024-01-03", "2024-01-03 00:00"),
        ("WAYNE", "2024-01-02", "2024-01-03 00:00"), ("WAYNE", "2024-01-03", "2024-01-03 00:00"),
        ("ACME", "2024-01-04", "2024-01-05 00:00"),
    ]
    return pd.DataFrame([(s, pd.Timestamp(d), _ts(t)) for s, d, t in rows],
                        columns=["symbol", "session", "written_at"])


def _overrides(rows):
    return pd.DataFrame([(s, pd.Timestamp(d), v, verdict, _ts(t)) for s, d, v, verdict, t in rows],
                        columns=["symbol", "session", "bars_version", "verdict", "created_at"])


def test_batches_count_flagged_partitions_newest_first(scores, ledger):
    table = batch_table(ledger, scores)
    assert list(table["written_at"]) == [_ts("2024-01-05 00:00"), _ts("2024-01-03 00:00")]
    assert list(table["partitions"]) == [1, 4]
    assert list(table["flagged"]) == [1, 2]  # ACME 01-04 warning; ACME 01-03 + WAYNE 01-02


def test_kpis_from_verdicts(scores, ledger):
    overrides = _overrides([
        ("ACME", "2024-01-03", "a2", "false_positive", "2024-01-04 03:00"),   # 2 h after
        ("WAYNE", "2024-01-02", "w1", "confirmed", "2024-01-03 07:00"),       # 6 h after
        ("ACME", "2024-01-04", "a3", "false_positive", "2024-01-05 11:00"),   # 10 h after
        ("WAYNE", "2024-01-03", "old", "false_positive", "2024-01-09 00:00"),  # other bars
    ])
    kpis = anomaly_kpis(scores, overrides, batch_table(ledger, scores))
    assert kpis["ingest_batches"] == 2
    assert kpis["anomalies_per_batch"] == pytest.approx(1.5)
    assert kpis["median_hours_to_acknowledge"] == pytest.approx(6.0)
    assert kpis["false_positive_rate"] == pytest.approx(0.75)
    text = kpi_markdown(kpis)
    assert "1.50 anomalies per ingest batch (2 batches)" in text
    assert "6.0 h" in text and "75.0%" in text


def test_nothing_to_measure_yet_is_none(scores):
    empty_ledger = pd.DataFrame(columns=["symbol", "session", "written_at"])
    kpis = anomaly_kpis(scores, _overrides([]), batch_table(empty_ledger, scores))
    assert kpis == {"ingest_batches": 0, "anomalies_per_batch": None,
                    "median_hours_to_acknowledge": None, "false_positive_rate": None}
    assert "n/a anomalies per ingest batch" in kpi_markdown(kpis)
