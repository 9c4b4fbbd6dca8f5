"""The anomaly report: counts, open criticals, the false-positive rate, the plot."""

import json

import pandas as pd

from research_lab.core.quality.report import anomaly_plot, build_report, report_markdown


def _scores():
    rows = [
        ("ACME", "2024-01-02", "v1", "info", []),
        ("ACME", "2024-01-03", "v2", "critical", ["unit error: close 100x its reference close"]),
        ("ACME", "2024-01-04", "v3", "critical", ["split-like move"]),
        ("GLOBEX", "2024-01-03", "v4", "warning", ["jump +9.1 sigma"]),
        ("GLOBEX", "2024-01-04", "v5", "critical", ["frozen feed"]),
    ]
    frame = pd.DataFrame(rows, columns=["symbol", "session", "bars_version", "severity", "reasons"])
    frame["session"] = pd.to_datetime(frame["session"])
    frame["reasons"] = frame["reasons"].map(json.dumps)
    return frame


def _overrides():
    frame = pd.DataFrame(
        [("ACME", "2024-01-03", "v2", "false_positive", "ana", "checked"),
         ("GLOBEX", "2024-01-04", "OLD", "confirmed", "bo", "bars changed since")],
        columns=["symbol", "session", "bars_version", "verdict", "author", "reason"],
    )
    frame["session"] = pd.to_datetime(frame["session"])
    return frame


def test_counts_open_criticals_and_false_positive_rate():
    report = build_report(_scores(), _overrides())
    by = report.by_symbol.set_index("symbol")
    assert by.loc["ACME", ["info", "warning", "critical", "open_critical"]].tolist() == [1, 0, 2, 1]
    # GLOBEX's override was for other bars: its critical is still open
    assert by.loc["GLOBEX", ["warning", "critical", "open_critical", "confirmed"]].tolist() == [1, 1, 1, 1]
    assert report.open_count == 2
    assert report.false_positive_rate == 0.5
    days = report.by_day.set_index("session")
    assert days.loc[pd.Timestamp("2024-01-04"), "critical"] == 2
    text = report_markdown(report, plot_png=b"\x89PNG")
    assert "**5** scored partitions, **2** open critical" in text and "50.0%" in text
    assert "| GLOBEX | 2024-01-04 | frozen feed |" in text
    assert "data:image/png;base64," in text


def test_empty_store_reports_nothing_open(tmp_path):
    empty = _scores().iloc[:0]
    report = build_report(empty, _overrides().iloc[:0])
    assert report.open_count == 0 and report.false_positive_rate is None
    assert "no overrides yet" in report_markdown(report)
    assert anomaly_plot(empty, tmp_path / "e.png").stat().st_size > 0


def test_plot_is_a_png(tmp_path):
    path = anomaly_plot(_scores(), tmp_path / "sub" / "anomalies.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
