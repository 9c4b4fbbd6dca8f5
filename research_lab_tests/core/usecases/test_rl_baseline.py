"""The RL evaluation's strategy baseline: the caller's, else the newest study's best
parameters for the symbol (its report.json), else the strategy's defaults."""

from __future__ import annotations

import json
import os

from research_lab.core.usecases.rl import choose_baseline


def _study(home, name, symbol, best, mtime):
    folder = home / "studies" / name
    folder.mkdir(parents=True)
    path = folder / "report.json"
    path.write_text(json.dumps({"study_name": name, "strategy": "sma_cross", "symbol": symbol,
                                "best_params": best}))
    os.utime(path, (mtime, mtime))
    return path


def test_defaults_without_a_study(tmp_path):
    name, params, source = choose_baseline(tmp_path, "sma_cross", "ACME")
    assert (name, params) == ("sma_cross", {"fast": 10, "slow": 30})  # strategies.yaml defaults
    assert source.startswith("default parameters")


def test_the_newest_study_of_the_symbol_wins(tmp_path):
    _study(tmp_path, "old", "ACME", {"fast": 5, "slow": 20}, 1_000)
    newest = _study(tmp_path, "new", "ACME", {"fast": 7, "slow": 40}, 2_000)
    _study(tmp_path, "other", "GLOBEX", {"fast": 3, "slow": 90}, 3_000)
    _study(tmp_path, "empty", "ACME", {}, 4_000)  # no best trial yet: skipped
    (tmp_path / "studies" / "broken").mkdir()
    (tmp_path / "studies" / "broken" / "report.json").write_text("{not json")
    name, params, source = choose_baseline(tmp_path, "sma_cross", "ACME")
    assert params == {"fast": 7, "slow": 40}
    assert source == f"study new ({newest})"


def test_given_parameters_win_and_are_checked(tmp_path):
    _study(tmp_path, "s", "ACME", {"fast": 7, "slow": 40}, 1_000)
    assert choose_baseline(tmp_path, "sma_cross", "ACME", {"fast": "12"})[1:] == (
        {"fast": 12, "slow": 30}, "given")
    import pytest

    with pytest.raises(ValueError, match="fast < slow"):
        choose_baseline(tmp_path, "sma_cross", "ACME", {"fast": 50, "slow": 20})
