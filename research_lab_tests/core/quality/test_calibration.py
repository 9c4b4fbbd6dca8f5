"""Calibration: thresholds fitted on a history, the YAML file, and its errors."""

import pytest

from research_lab.core.quality.calibration import calibrate_bars, thresholds_from_scores
from research_lab.core.quality.sentinel import score_bars
from research_lab.core.quality.thresholds import (
    Thresholds,
    load_thresholds,
    resolve_path,
    save_thresholds,
)

from .conftest import NO_PROPHET


def test_calibrated_warnings_hit_the_target_rate_on_the_history(synthetic_bars):
    th, info = calibrate_bars(synthetic_bars, target_rate=0.005, config=NO_PROPHET)
    assert info["sessions"] == len(synthetic_bars) and info["span"].startswith("2016-01-04..")
    assert th.jump_warn_z >= 6.0 and th.jump_crit_z >= 1.5 * info["observed"]["jump"] * 0.99
    assert th.if_warn < th.if_crit < 1
    scores = score_bars(synthetic_bars, config=NO_PROPHET, thresholds=th)
    warned = (scores["severity"] != "info").mean()
    assert warned <= 0.012  # jump + IF at 0.5% each
    assert (scores["severity"] != "critical").all()


def test_a_critical_history_session_does_not_move_the_thresholds(synthetic_bars):
    scores = score_bars(synthetic_bars, config=NO_PROPHET)
    base, _ = thresholds_from_scores(scores)
    bad = scores.copy()
    bad.loc[700, ["jump_z", "rules", "severity"]] = [400.0, "unit_error", "critical"]
    again, _ = thresholds_from_scores(bad)
    assert again.jump_crit_z == base.jump_crit_z  # not 1.5 x 400
    assert again.jump_warn_z == pytest.approx(base.jump_warn_z, rel=0.01)
    with pytest.raises(ValueError, match="target_rate"):
        thresholds_from_scores(scores, target_rate=0.5)


def test_too_short_a_history_is_refused(synthetic_bars):
    with pytest.raises(ValueError, match="at least 250 sessions"):
        calibrate_bars(synthetic_bars.iloc[:100], config=NO_PROPHET)


def test_thresholds_file_round_trip(tmp_path):
    path = tmp_path / "q.yaml"
    acme = Thresholds(jump_warn_z=7.5, jump_crit_z=20.0, if_warn=0.71, if_crit=0.8)
    save_thresholds(path, {"ACME": acme}, info={"ACME": {"sessions": 900, "span": "a..b"}},
                    target_rate=0.002, calibrated_at="2024-01-01T00:00:00+00:00")
    book = load_thresholds(path)
    assert book.for_symbol("acme") == acme
    assert book.for_symbol("OTHER") == Thresholds()
    assert book.label("ACME") == "q.yaml:ACME" and book.label("X") == "q.yaml:defaults"
    assert book.with_stale_run(7).for_symbol("ACME").stale_run == 7
    assert "written by `research-lab quality calibrate`" in path.read_text()


def test_which_file_applies(tmp_path):
    path = tmp_path / "t.yaml"
    assert resolve_path(None, {"RESEARCH_LAB_QUALITY_THRESHOLDS": str(path)}) == path
    assert resolve_path(tmp_path / "x.yaml", {"RESEARCH_LAB_QUALITY_THRESHOLDS": str(path)}) == tmp_path / "x.yaml"
    with pytest.raises(ValueError, match="does not exist"):
        load_thresholds(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("symbols:\n  ACME: {jump_warn_z: -2}\n", "symbols.ACME: threshold jump_warn_z"),
        ("symbols:\n  ACME: {jump_warm_z: 2}\n", "symbols.ACME: unknown field(s) jump_warm_z"),
        ("defaults: [1, 2]\n", "defaults: must be a mapping"),
        ("symbols: [ACME]\n", "symbols must map"),
        ("- a\n", "top level"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_thresholds_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_thresholds(path)
    assert str(path) in str(err.value)
