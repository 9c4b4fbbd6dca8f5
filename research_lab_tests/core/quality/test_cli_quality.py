"""``research-lab quality``: calibrate, open, ack, evaluate (argument errors exit 2)."""

from datetime import date

import pandas as pd
import pytest

from research_lab.cli import main
from research_lab.core.marketdata.store import BarStore
from research_lab.core.quality.sentinel import score_partitions
from research_lab.core.quality.thresholds import load_thresholds

from .conftest import NO_PROPHET


@pytest.fixture
def lab(tmp_path, monkeypatch, synthetic_bars, calendar):
    url = f"sqlite:///{tmp_path / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    monkeypatch.setenv("RESEARCH_LAB_QUALITY_THRESHOLDS", str(tmp_path / "thresholds.yaml"))
    monkeypatch.delenv("RESEARCH_LAB_CONFIG", raising=False)
    with BarStore.from_url(url) as st:
        st.write_partitions("ACME", synthetic_bars["session"].dt.date, synthetic_bars, source="t")
        bad = synthetic_bars[synthetic_bars["session"] == "2019-06-14"].copy()
        bad[["open", "high", "low", "close", "adj_close"]] *= 100
        st.write_partitions("ACME", [date(2019, 6, 14)], bad, source="t")
        days = [d.date() for d in pd.bdate_range("2019-06-12", "2019-06-18")]
        score_partitions(st, "ACME", days, calendar=calendar, config=NO_PROPHET)
    return tmp_path


def test_open_check_fails_until_acknowledged(lab, capsys):
    assert main(["quality", "open", "--check"]) == 1
    assert "ACME     2019-06-14  unit error" in capsys.readouterr().out
    assert main(["quality", "ack", "ACME", "2019-06-14", "--verdict", "confirmed",
                 "--reason", "vendor sent cents", "--author", "ana"]) == 0
    assert "confirmed by ana" in capsys.readouterr().out
    assert main(["quality", "open", "ACME", "--check"]) == 0


def test_report_prints_the_kpis(lab, capsys):
    assert main(["quality", "report", "--markdown", str(lab / "r.md")]) == 0
    out = capsys.readouterr().out
    assert "5 scored partitions, 1 open critical" in out
    assert "2 batches" in out and "false-positive rate n/a" in out
    assert main(["quality", "ack", "ACME", "2019-06-14", "--verdict", "false_positive",
                 "--reason", "checked", "--author", "ana"]) == 0
    capsys.readouterr()
    assert main(["quality", "report"]) == 0
    out = capsys.readouterr().out
    assert "0 open critical" in out and "false-positive rate 100.0%" in out
    assert (lab / "r.md").read_text().startswith("**KPIs**: ")


def test_ack_errors_exit_2_and_write_nothing(lab, capsys):
    assert main(["quality", "ack", "ACME", "2019-07-01", "--verdict", "confirmed",
                 "--reason", "x"]) == 2
    assert "no anomaly score stored for ACME 2019-07-01" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["quality", "ack", "ACME", "2019-06-14", "--verdict", "fine", "--reason", "x"])
    assert exit_.value.code == 2
    assert main(["quality", "open", "--check"]) == 1


def test_calibrate_writes_the_thresholds_file(lab, capsys):
    assert main(["quality", "calibrate", "--symbols", "ACME", "--target-rate", "0.003"]) == 0
    out = capsys.readouterr().out
    assert "ACME" in out and f"wrote {lab / 'thresholds.yaml'}" in out
    book = load_thresholds()
    assert "ACME" in book.symbols and book.calibrated_at
    assert main(["quality", "calibrate", "--symbols", "NOPE"]) == 2
    assert "no bars stored for NOPE" in capsys.readouterr().err
    assert main(["quality", "calibrate", "--target-rate", "0.5"]) == 2


def test_evaluate_refuses_bad_arguments(tmp_path, capsys):
    assert main(["quality", "evaluate", "--per-kind", "0"]) == 2
    assert main(["quality", "evaluate", "--data-dir", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_score_materializes_through_dagster(lab, monkeypatch, capsys):
    home = lab / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (home / "dagster.yaml").write_text("")
    # the thresholds file named by RESEARCH_LAB_QUALITY_THRESHOLDS does not exist yet
    assert main(["quality", "score", "--symbols", "ACME", "--start", "2019-06-13",
                 "--end", "2019-06-14"]) == 1
    assert "thresholds.yaml does not exist" in capsys.readouterr().err
    (lab / "thresholds.yaml").write_text("{}\n")
    assert main(["quality", "score", "--symbols", "ACME", "--start", "2019-06-13",
                 "--end", "2019-06-14"]) == 0
    assert "ACME: 2 sessions, 0 warning, 1 critical, 1 open" in capsys.readouterr().out
    assert main(["quality", "score", "--symbols", "ACME", "--start", "2019-06-14",
                 "--end", "2019-06-13"]) == 2
