"""Fixtures of the strategy tests: short synthetic bars, the examples folder, and a clean
discovery state (no strategy loaded by one test is visible to the next)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(autouse=True)
def clean_discovery(monkeypatch, fresh_discovery):
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", "")


@pytest.fixture(scope="session")
def year_bars():
    """One year of synthetic ACME and GLOBEX bars (~250 each)."""
    from research_lab.core.marketdata.sources import make_source

    source = make_source("synthetic")
    return {s: source.fetch(s, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
            for s in ("ACME", "GLOBEX")}


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


def write_module(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(body)
    return path
