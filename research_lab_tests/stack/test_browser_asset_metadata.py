"""Asset metadata in the Dagster UI as a person sees it, in headless Chromium (playwright).

Set-up, on a temporary instance and lab home:

1. ``research-lab data ingest --symbols ACME`` for 2024 (one Dagster run, 252 ``market_data``
   partitions); ``^GSPC`` and ``^VIX`` for 2023-2024 are written straight into the same store
   with the store API (the backtest reads them from the store, and the extra year lets the
   200-day trend of the regime table be defined from the first backtest day). Ingesting them
   through Dagster too would cost ~20-30 s per symbol-year here (SQLite event writes, one per
   partition) without showing anything more;
2. three runs of ``backtest_job``, in this process: ``sma_cross|ACME`` twice (fast=10/slow=50,
   then fast=20/slow=100: two materializations of one partition) and ``rsi_reversion|ACME``
   (with its tearsheet).

Then ``dagster-webserver`` alone (no daemon: nothing launches runs behind the test's back) on a
free port, and the browser checks that the ``backtest_results`` metadata renders: the regime
table as a table, the 50-metric markdown table, the file paths (tearsheet, equity plot), and
the numeric metadata as plots — across partitions, and over time (one point per
materialization). Screenshots: ``test-artifacts/browser/metadata-*.png`` (gitignored).

Needs ``/usr/bin/chromium``; skips where it is absent, fails under ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from research_lab.cli.stack_supervisor import graphql
from research_lab_tests.stack.conftest import (
    SHOTS, free_port, ingested_dagster_home, require_chromium, stop_group, wait_for,
)

pytestmark = pytest.mark.slow

KEY_METRICS = ("final_value", "total_return", "sharpe_ratio", "max_drawdown", "beta")
NUMERIC = (  # numeric metadata of a backtest_results materialization (defs/backtest/metadata.py)
    "final_value", "total_return", "cagr", "volatility", "sharpe_ratio", "sortino_ratio",
    "calmar_ratio", "max_drawdown", "num_trades", "trade_win_rate", "exposure", "alpha", "beta",
    "information_ratio", "bars",
)
RUNS = [  # (partition, params, tearsheet)
    ("sma_cross|ACME", {"fast": 10, "slow": 50}, False),
    ("sma_cross|ACME", {"fast": 20, "slow": 100}, False),
    ("rsi_reversion|ACME", {}, True),
]
LOADED = """{ workspaceOrError { ... on Workspace { locationEntries { loadStatus
  locationOrLoadError { __typename } } } } }"""


def _write_indexes(store_url: str) -> None:
    """^GSPC and ^VIX, 2023-2024, from the synthetic source into the store (one transaction
    per symbol), as the market_data asset would write them."""
    from research_lab.core.marketdata.calendar import TradingCalendar
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.marketdata.store import BarStore

    start, end = dt.date(2023, 1, 3), dt.date(2024, 12, 31)
    source, sessions = SyntheticSource(seed=42), TradingCalendar("XNYS").sessions(start, end)
    store = BarStore.from_url(store_url)
    try:
        for symbol in ("^GSPC", "^VIX"):
            store.write_partitions(symbol, sessions, source.fetch(symbol, start, end),
                                   source="synthetic")
    finally:
        store.close()


def _materialize_backtests(home: Path) -> list[str]:
    """Run ``backtest_job`` for each of RUNS on the instance in ``home``; returns run ids."""
    import dagster as dg

    from research_lab.definitions import defs
    from research_lab.defs.backtest.partitions import register_strategies

    job = defs.resolve_job_def("backtest_job")
    run_ids = []
    with dg.DagsterInstance.from_config(str(home)) as inst:
        register_strategies(inst)  # the strategy partitions (the sensor's job in a live instance)
        for key, params, tearsheet in RUNS:
            config = {"params": params, "sizing": "percent", "percent": 95.0,
                      "tearsheet": tearsheet, "mlflow": False}
            result = job.execute_in_process(
                instance=inst, partition_key=key,
                run_config={"ops": {"backtest_results": {"config": config}},
                            "loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            assert result.success, key
            run_ids.append(result.run_id)
    return run_ids


@pytest.fixture
def webserver(tmp_path, lab_subprocess_env, monkeypatch):
    """The instance with ACME ingested and three backtests materialized, served by
    ``dagster-webserver`` on a free port; yields its URL.

    Set up before the browser starts (playwright's event loop would make Dagster's in-process
    runs warn), so it checks for the browser itself first: no 20 s of set-up to skip."""
    require_chromium()
    env = ingested_dagster_home(tmp_path, lab_subprocess_env, "2024-12-31")
    home = Path(env["DAGSTER_HOME"])
    bin_dir = Path(sys.executable).parent
    for name in [k for k in os.environ if k.startswith(("RESEARCH_LAB_", "DAGSTER_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(("RESEARCH_LAB_", "DAGSTER_")):
            monkeypatch.setenv(name, value)
    from research_lab.core.settings import load_settings

    _write_indexes(load_settings().resolved_store_url)
    _materialize_backtests(home)

    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: research_lab.definitions\n"
        "      attribute: defs\n      location_name: research_lab\n"
    )
    port = free_port()
    log = tmp_path / "dagster-webserver.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "dagster-webserver"), "-w", str(workspace), "-h", "127.0.0.1",
             "-p", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def loaded() -> bool:
        try:
            entries = graphql(base, LOADED, timeout=5)["workspaceOrError"]["locationEntries"]
        except Exception:  # noqa: BLE001 - not answering yet
            return False
        return any(e["loadStatus"] == "LOADED" and
                   e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
                   for e in entries)

    try:
        wait_for(loaded, 120, "dagster-webserver with the code location loaded", proc, log)
        yield base
    finally:
        stop_group(proc, timeout=20)


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(SHOTS / f"metadata-{name}.png"))


def _open_partition(pg, base: str, strategy: str) -> None:
    pg.goto(f"{base}/assets/backtest_results?view=partitions")
    pg.get_by_text(strategy, exact=True).first.click()
    pg.get_by_text("ACME", exact=True).first.click()


def test_backtest_metadata_tables_paths_and_plots_render(webserver, page):
    from playwright.sync_api import expect

    base, pg = webserver, page
    expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly

    # 1. a materialized partition: numbers, the regime table rendered as a table, the params
    _open_partition(pg, base, "sma_cross")
    expect(pg.get_by_text("Materialized (2)")).to_be_visible()
    expect(pg.get_by_text("sma_cross|ACME").first).to_be_visible()
    regimes = pg.get_by_role("table").filter(  # the regime table, inside the metadata table
        has=pg.get_by_role("cell", name="bull_low_vol"), has_not_text="final_value")
    expect(regimes).to_be_visible()
    for header in ("regime", "vol_regime", "days", "sharpe_ratio", "max_drawdown"):
        expect(regimes.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    for regime in ("bull_low_vol", "bull_high_vol", "bear_low_vol", "bear_high_vol"):
        expect(regimes.get_by_role("cell", name=regime, exact=True)).to_be_visible()
    expect(pg.get_by_text("unclassified days: 0")).to_be_visible()  # the trend is defined
    expect(pg.get_by_text('"slow": 100')).to_be_visible()  # the latest of the two runs
    regimes.scroll_into_view_if_needed()
    _shot(pg, "01-partition-regimes")

    # 2. the 50 metrics: a markdown table in a dialog
    pg.get_by_text("[Show Markdown]").first.click()
    dialog = pg.get_by_role("dialog")
    table = dialog.get_by_role("table")
    expect(table).to_be_visible()
    for name in ("sharpe_ratio", "sortino_ratio", "max_drawdown", "alpha", "beta",
                 "information_ratio", "up_capture"):
        expect(table.get_by_role("cell", name=name, exact=True)).to_be_visible()
    assert table.get_by_role("row").count() >= 50
    table.get_by_role("row").first.scroll_into_view_if_needed()
    _shot(pg, "02-metrics-markdown")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # 3. the other partition: file paths, the tearsheet among them
    _open_partition(pg, base, "rsi_reversion")
    expect(pg.get_by_text("rsi_reversion|ACME").first).to_be_visible()
    for label, tail in (("tearsheet", "tearsheet.html"), ("equity_plot", "equity.png"),
                        ("result_json", "result.json")):
        expect(pg.get_by_text(label, exact=True).first).to_be_visible()
        expect(pg.get_by_text(f"backtests/rsi_reversion/ACME/{tail}", exact=False).first
               ).to_be_visible()
    pg.get_by_text("tearsheet", exact=True).first.scroll_into_view_if_needed()
    _shot(pg, "03-partition-paths")

    # 4. numeric metadata as plots: by partition, then over time (one point per run)
    pg.goto(f"{base}/assets/backtest_results")
    pg.get_by_role("button").filter(has_text="Plots").click()
    for name in KEY_METRICS:
        expect(pg.get_by_text(name, exact=True).first).to_be_visible()
    expect(pg.get_by_text("engine", exact=True)).to_have_count(0)  # text: not plotted
    expect(pg.locator("canvas")).to_have_count(len(NUMERIC))  # one chart per numeric entry
    expect(pg.get_by_text("When graphing values by partition", exact=False)).to_be_visible()
    _shot(pg, "04-plots-by-partition")
    pg.get_by_role("button").filter(has_text="Events").click()
    expect(pg.get_by_text("When graphing values by partition", exact=False)).to_have_count(0)
    for name in KEY_METRICS:
        expect(pg.get_by_text(name, exact=True).first).to_be_visible()
    expect(pg.locator("canvas")).to_have_count(len(NUMERIC))
    _shot(pg, "05-plots-over-time")
