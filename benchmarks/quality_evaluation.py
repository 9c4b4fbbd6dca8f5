"""Precision, recall and false-positive rate of the sentinel on real series with injected errors.

    ./scripts/lab shell python benchmarks/quality_evaluation.py [--per-kind 20] [--seed 7]
        [--symbols ORCL NVDA YHOO] [--no-calibrate] [--markdown out.md]

Reads ``../shared/data`` (or ``RESEARCH_LAB_SHARED_DATA``); the protocol is in
``research_lab/core/quality/evaluation.py`` (calibrate on the first half of each history,
inject seeded anomalies of every kind into the second half, count). Same as
``research-lab quality evaluate``; the figures in docs/quality.md come from the defaults.
Goal: recall >= 95% on the gross kinds (bold) with false positives on <= 1% of clean sessions.
"""

import sys

from research_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["quality", "evaluate", *sys.argv[1:]]))
