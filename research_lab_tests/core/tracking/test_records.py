import math

import numpy as np
import pytest

from research_lab.core.tracking.records import (
    RunRecord, clean_artifacts, clean_metrics, clean_params, clean_tags,
)


def test_params_become_strings_and_lists_json():
    assert clean_params({"fast": 10, "w": 0.5, "grid": [1, 2], "on": True, "s": "x"}) == {
        "fast": "10", "w": "0.5", "grid": "[1, 2]", "on": "True", "s": "x"}


@pytest.mark.parametrize("bad, fragment", [
    ({"": 1}, "parameter name must be a non-empty string"),
    ({"a|b": 1}, "parameter name 'a|b' may only hold"),
    ({"../up": 1}, "no '..'"),
    ({"long": "x" * 6001}, "parameter 'long' value is 6001 characters"),
])
def test_bad_params_are_refused_by_name(bad, fragment):
    with pytest.raises(ValueError) as err:
        clean_params(bad)
    assert fragment in str(err.value)


def test_metrics_accept_numpy_and_nan_and_drop_none():
    out = clean_metrics({"sharpe": np.float64(1.5), "trades": np.int64(3), "x": None,
                         "nan": float("nan")})
    assert out["sharpe"] == 1.5 and out["trades"] == 3.0 and "x" not in out
    assert math.isnan(out["nan"])
    with pytest.raises(ValueError, match="metric 'sharpe' must be a number, got 'high'"):
        clean_metrics({"sharpe": "high"})


def test_tags_and_artifacts_are_checked(tmp_path):
    assert clean_tags({"team": "alpha", "none": None}) == {"team": "alpha"}
    with pytest.raises(ValueError, match="tag 'note' value is longer than 8000"):
        clean_tags({"note": "x" * 8001})
    with pytest.raises(ValueError, match=r"artifact 'equity.csv': file .*missing.csv does not"):
        clean_artifacts({"equity.csv": tmp_path / "missing.csv"})
    f = tmp_path / "a.csv"
    f.write_text("x")
    assert clean_artifacts({"plots/a.csv": f}) == {"plots/a.csv": str(f.resolve())}


def test_record_round_trips_through_json_with_nan():
    rec = RunRecord(key="k1", experiment="P.A.F.S", run_name="r", params={"a": "1"},
                    metrics={"m": 1.5, "n": float("nan")}, tags={"t": "v"}, parent_key="p",
                    finished=False)
    back = RunRecord.from_json(rec.to_json())
    assert back.params == rec.params and back.tags == rec.tags and back.parent_key == "p"
    assert back.metrics["m"] == 1.5 and math.isnan(back.metrics["n"])
    assert back.seq == rec.seq and back.finished is False
    assert rec.with_attempt("boom").attempts == 1


def test_record_refuses_bad_experiment_and_status():
    with pytest.raises(ValueError, match="has 2 part"):
        RunRecord(key="k", experiment="P.A")
    with pytest.raises(ValueError, match="run status 'DONE'"):
        RunRecord(key="k", experiment="P.A.F.S", status="DONE")


def test_sequence_numbers_increase():
    a, b = RunRecord(key="a", experiment="P.A.F.S"), RunRecord(key="b", experiment="P.A.F.S")
    assert a.seq < b.seq
