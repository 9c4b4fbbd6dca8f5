"""The Dagster UI as a person sees it, in headless Chromium (Debian's, driven by playwright).

Starts ``dagster dev`` on a free port over a temporary instance holding a small ingested demo
(ACME × 5 sessions through ``research-lab data ingest``: the year partition ``ACME|2024``), then:
opens the asset graph, the ``market_data`` partitions (that partition's metadata) and a check,
materializes another year partition from the Materialize dialog (year + symbol → "Launch 1
run"; no session range in the config: the whole year), waits until the daemon has run it and
the UI shows it. Screenshots go to ``test-artifacts/browser/`` (gitignored).

Needs ``/usr/bin/chromium`` (``scripts/install-browser``); skips where it is absent, fails under
``CI=true``. Never downloads a browser of its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from research_lab.cli.stack_supervisor import dagster_ready, graphql
from research_lab_tests.stack.conftest import (
    SHOTS, free_port, ingested_dagster_home, stop_group, wait_for,
)

pytestmark = pytest.mark.slow

NEW_KEY = "ACME|2023"
RUNS = """query($key: String!) { runsOrError(filter: {tags: [{key: "dagster/partition",
  value: $key}]}) { ... on Runs { results { runId status } } } }"""


@pytest.fixture
def dagster_dev(tmp_path, lab_subprocess_env):
    """``dagster dev`` over a temp instance with ACME 2024-01-02..08 ingested; yields its URL."""
    env = ingested_dagster_home(tmp_path, lab_subprocess_env, "2024-01-08")
    bin_dir = Path(sys.executable).parent
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: research_lab.definitions\n"
        "      attribute: defs\n      location_name: research_lab\n"
    )
    port = free_port()
    log = tmp_path / "dagster-dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "dagster"), "dev", "-w", str(workspace), "-h", "127.0.0.1",
             "-p", str(port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: dagster_ready(base) is None, 120, "dagster dev serving", proc, log)
        yield base
    finally:
        stop_group(proc, timeout=20)


def _shot(pg, name: str) -> None:
    pg.wait_for_load_state("networkidle")
    pg.screenshot(path=str(SHOTS / f"{name}.png"))


def test_asset_graph_partitions_check_and_materialize_from_the_ui(dagster_dev, page):
    from playwright.sync_api import expect

    base, pg = dagster_dev, page
    expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly

    # 1. the asset graph: every group, then the market_data group's assets
    pg.goto(f"{base}/asset-groups")
    expect(pg.get_by_text("Global asset lineage")).to_be_visible()
    expect(pg.get_by_text("market_data", exact=True).first).to_be_visible()
    expect(pg.get_by_text("fetching statuses", exact=False)).to_have_count(0)
    _shot(pg, "01-global-lineage")
    pg.goto(f"{base}/locations/research_lab/asset-groups/market_data")
    expect(pg.get_by_text(re.compile(r"^[\d,]+ partitions$"))).to_be_visible()  # the asset node
    expect(pg.get_by_text("4 / 4 Passed", exact=False)).to_be_visible()  # its checks
    _shot(pg, "02-asset-graph-market-data")

    # 2. market_data's partitions: ACME|2024 materialized (5 sessions), opened with its metadata
    pg.goto(f"{base}/assets/market_data?view=partitions")
    expect(pg.get_by_text("Materialized (1)")).to_be_visible()
    pg.get_by_text("ACME", exact=True).first.click()  # the symbol column comes first
    pg.get_by_placeholder("Filter by year", exact=False).fill("2024")
    pg.get_by_text("2024", exact=True).first.click()
    expect(pg.get_by_text("ACME|2024").first).to_be_visible()
    expect(pg.get_by_text("last_close")).to_be_visible()
    expect(pg.get_by_text("sessions_stored")).to_be_visible()
    _shot(pg, "03-partition")

    # 3. a check: the schema/OHLC rule, passed
    pg.get_by_text("Checks", exact=True).first.click()
    pg.get_by_text("schema_ohlc", exact=True).first.click()
    expect(pg.get_by_text("Passed", exact=True).first).to_be_visible()
    _shot(pg, "04-check")

    # 4. materialize one partition from the dialog: year 2023 × ACME -> 1 run
    pg.get_by_role("button", name="Materialize…").first.click()
    dialog = pg.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    year = dialog.get_by_placeholder("ex: 2000", exact=False)
    year.fill("2023")
    year.press("Enter")
    dialog.get_by_text("Select a partition or create one").click()
    pg.get_by_role("menuitem", name="ACME").click()
    dialog.get_by_text("Launch runs to materialize").click()  # closes the symbol menu
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    launch = dialog.get_by_role("button", name="Launch 1 run")
    expect(launch).to_be_enabled()
    _shot(pg, "05-materialize-dialog")
    launch.click()
    expect(dialog).to_be_hidden()

    # 5. the daemon dequeues and runs it; the UI shows the success and the new partition
    def succeeded():
        runs = graphql(base, RUNS, {"key": NEW_KEY})["runsOrError"]["results"]
        assert all(r["status"] not in ("FAILURE", "CANCELED") for r in runs), runs
        return next((r["runId"] for r in runs if r["status"] == "SUCCESS"), None)

    run_id = wait_for(succeeded, 120, f"the UI-launched run of {NEW_KEY} to succeed")
    pg.goto(f"{base}/runs/{run_id}")
    expect(pg.get_by_text("Success", exact=True).first).to_be_visible()
    expect(pg.get_by_text("RUN_SUCCESS").first).to_be_visible()
    _shot(pg, "06-run-success")
    pg.goto(f"{base}/assets/market_data?view=partitions")
    expect(pg.get_by_text("Materialized (2)")).to_be_visible()
    pg.get_by_text("ACME", exact=True).first.click()  # the symbol column comes first
    pg.get_by_placeholder("Filter by year", exact=False).fill("2023")
    pg.get_by_text("2023", exact=True).first.click()
    expect(pg.get_by_text(NEW_KEY).first).to_be_visible()
    expect(pg.get_by_text(run_id[:8]).first).to_be_visible()  # materialized by that run
    _shot(pg, "07-partitions-after")
