"""The evaluation harness on real bars: recall and false positives on the gross kinds.

A small version of ``research-lab quality evaluate`` (one symbol, 2001-2008, thresholds
calibrated on 2001-2005, measured on 2006-2008): the goals of the issue must hold.
"""

import pytest

from research_lab.core.quality.evaluation import Counts, evaluate, load_series, markdown
from research_lab.core.quality.injection import GROSS_KINDS, KINDS, inject


@pytest.fixture(scope="module")
def orcl(shared_data):
    bars = load_series(shared_data, ["ORCL"])["ORCL"]
    return bars[(bars["session"] >= "2001-01-01") & (bars["session"] <= "2008-12-31")]


def test_gross_kinds_recall_and_false_positive_rate(orcl, calendar):
    result = evaluate({"ORCL": orcl}, calendar, kinds=GROSS_KINDS, per_kind=12, seed=3)
    for kind in GROSS_KINDS:
        c = result.per_kind[kind]
        assert c.labeled == 12
        assert c.recall >= 0.95 and c.recall_critical >= 0.95, (kind, c)
        assert c.fpr <= 0.01, (kind, c)
    assert result.overall.recall >= 0.95 and result.overall.fpr <= 0.01
    assert result.clean.fpr <= 0.01 and result.clean.false_criticals == 0
    assert result.periods["ORCL"] == "2006-01-03..2008-12-31"
    text = markdown(result)
    assert "| **unit_error** | 12 |" in text and "no injection" in text


def test_injection_is_seeded_labeled_and_spaced(orcl):
    a, labels_a = inject(orcl, KINDS, 3, seed=9, first_row=200, spacing=20)
    b, labels_b = inject(orcl, KINDS, 3, seed=9, first_row=200, spacing=20)
    assert a.equals(b) and labels_a.equals(labels_b)
    assert set(labels_a["kind"]) == set(KINDS)
    assert (labels_a["session"] >= orcl["session"].iloc[200]).all()
    missing = labels_a.loc[labels_a["kind"] == "missing_session", "session"]
    assert not a["session"].isin(missing).any() and len(a) == len(orcl) - len(missing)
    with pytest.raises(ValueError, match="unknown anomaly kind"):
        inject(orcl, ["typo"], 1, seed=1)
    with pytest.raises(ValueError, match="cannot place"):
        inject(orcl.iloc[:100], ["spike"], 50, seed=1, spacing=30)


def test_counts_arithmetic():
    c = Counts(labeled=10, detected=9, critical=8, clean=1000, false_positives=5, false_criticals=1)
    assert (c.recall, c.recall_critical, c.fpr, c.fpr_critical) == (0.9, 0.8, 0.005, 0.001)
    assert c.precision == pytest.approx(9 / 14)
    assert (c + c).labeled == 20 and Counts().recall != Counts().recall  # NaN without labels
