"""A store holding two years of synthetic ACME bars (written directly: fast), the ``symbol``
partition registered on the temporary instance, and an optimize config that ignores the clock."""

from datetime import date

import pytest

FIRST, LAST = date(2022, 1, 3), date(2023, 12, 29)


def write_bars(store_url: str, symbols=("ACME",), first=FIRST, last=LAST) -> None:
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.sources import make_source
    from research_lab.core.marketdata.store import BarStore

    source = make_source("synthetic", seed=42, symbols=list(symbols))
    sessions = TradingCalendar("XNYS").sessions(first, last)
    with BarStore.from_url(store_url) as store:
        for s in symbols:
            store.write_partitions(s, sessions, source.fetch(s, first, last), source="synthetic")


@pytest.fixture
def optimize_env(lab_env, tmp_path, monkeypatch):
    """lab_env + config/optimize.yaml with 1 worker, quick heartbeats and market hours ignored."""
    cfg = tmp_path / "optimize.yaml"
    cfg.write_text(
        "study: {workers: 1, n_trials: 10}\n"
        "market_hours: {policy: ignore}\n"
        "storage: {heartbeat_interval: 1, grace_period: 2}\n"
    )
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(cfg))
    monkeypatch.delenv("RESEARCH_LAB_OPTUNA_STORAGE", raising=False)
    for var in ("RESEARCH_LAB_MLFLOW_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    write_bars(lab_env)
    return lab_env
