"""The tracking fixtures of the core tests, for the Dagster layer."""

import pytest

from research_lab_tests.core.tracking.fixtures import embedded_home, template_db


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    return template_db(tmp_path_factory.getbasetemp().parent / "tracking")


@pytest.fixture
def lab_home(tmp_path, monkeypatch, mlflow_template):
    return embedded_home(tmp_path, monkeypatch, mlflow_template)
