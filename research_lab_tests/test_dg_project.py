"""Dagster's project CLI works on this project ([tool.dg] in pyproject.toml): ``dg check defs``
loads the code location, ``dg list defs`` lists what the definitions hold, and ``dg check defs``
does fail on a project whose definitions do not load (so its success above means something)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DG = Path(sys.executable).parent / "dg"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DG.exists(),
                       reason="dagster-dg-cli is not installed (pip install -e .[dev])"),
]


def _dg(*args, cwd=ROOT, pythonpath=ROOT):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([str(DG), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_dg_check_defs_loads_the_code_location():
    done = _dg("check", "defs")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All definitions loaded successfully" in done.stdout


def test_dg_list_defs_lists_the_assets_jobs_schedules_and_sensors_of_the_definitions():
    from research_lab.definitions import defs

    done = _dg("list", "defs", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    listed = json.loads(done.stdout)
    assert {a["asset_key"] for a in listed["assets"]} == {
        k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for name in ("market_data", "anomaly_scores", "backtest_results", "optimization_study",
                 "rl_policy"):
        assert name in {a["asset_key"] for a in listed["assets"]}
    assert "nightly_ingest_schedule" in {s["name"] for s in listed["schedules"]}
    assert "market_data_sensor" in {s["name"] for s in listed["sensors"]}
    assert "anomaly_scores_job" in {j["name"] for j in listed["jobs"]}


def test_dg_check_defs_fails_when_the_definitions_do_not_load(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "broken_lab"
        version = "0"

        [tool.dg]
        directory_type = "project"

        [tool.dg.project]
        root_module = "broken_lab"
        code_location_target_module = "broken_lab.definitions"
        """))
    package = tmp_path / "broken_lab"
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text("raise RuntimeError('no definitions here')\n")
    done = _dg("check", "defs", cwd=tmp_path, pythonpath=tmp_path)
    assert done.returncode != 0
    assert "no definitions here" in done.stdout + done.stderr
