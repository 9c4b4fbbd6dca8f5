"""Hermetic thresholds for the quality assets: an empty thresholds file (built-in values), so a
``config/quality_thresholds.yaml`` written by a developer's ``quality calibrate`` is not read."""

import pytest


@pytest.fixture(autouse=True)
def no_calibration(tmp_path, monkeypatch):
    path = tmp_path / "thresholds.yaml"
    path.write_text("{}\n")
    monkeypatch.setenv("RESEARCH_LAB_QUALITY_THRESHOLDS", str(path))
    monkeypatch.delenv("RESEARCH_LAB_ALERT_WEBHOOK_URL", raising=False)
    return path
