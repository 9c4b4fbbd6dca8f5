"""Fixtures for the tracking tests: an embedded MLflow store per test (copied from a
session-wide template) and a few plain artifact files."""

import pytest

from research_lab_tests.core.tracking.fixtures import embedded_home, template_db


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    return template_db(tmp_path_factory.getbasetemp().parent / "tracking")


@pytest.fixture
def lab_home(tmp_path, monkeypatch, mlflow_template):
    """RESEARCH_LAB_HOME in a temporary folder with an empty embedded MLflow store."""
    return embedded_home(tmp_path, monkeypatch, mlflow_template)


@pytest.fixture
def artifact(tmp_path):
    path = tmp_path / "inputs" / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"final_value": 10500.0}')
    return path
