"""Fixtures for the Dagster layer: a temporary instance and an embedded store per test."""

import dagster as dg
import pytest


@pytest.fixture
def lab_env(tmp_path, monkeypatch):
    """Embedded defaults in a temporary folder; returns the store URL."""
    url = f"sqlite:///{tmp_path / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "synthetic")
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,GLOBEX")
    for var in ("RESEARCH_LAB_CONFIG", "RESEARCH_LAB_CSV_DIR", "RESEARCH_LAB_SEED"):
        monkeypatch.delenv(var, raising=False)
    return url


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def store(lab_env):
    from research_lab.core.marketdata.store import BarStore

    st = BarStore.from_url(lab_env)
    yield st
    st.close()
