"""optuna-dashboard as a person sees it, in headless Chromium (Debian's, driven by playwright).

Runs a small study with plain Optuna (20 trials of a toy two-parameter objective shaped like an
SMA-crossover search, TPE with a seed) into a journal file in tmp — the embedded storage form
research_lab uses (``journal:///...``) — starts ``optuna-dashboard`` on that file (a free port
on 127.0.0.1, its own process group, stopped afterwards), then: the study list, the study's
page with the History plot (one point per trial, the best-value line), the hyperparameter
importance and the best trial, and the trials table. Screenshots go to
``test-artifacts/browser/optuna-*.png`` (gitignored).

Needs ``/usr/bin/chromium`` (``scripts/install-browser``) and the ``optuna-dashboard`` package;
skips where either is absent, fails under ``CI=true``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from research_lab_tests.stack.conftest import SHOTS, free_port, missing_tool, stop_group, wait_for

pytestmark = pytest.mark.slow

STUDY = "sma_cross.ACME"  # the name research_lab gives a study: <strategy>.<symbol>
TRIALS = 20
DASHBOARD = Path(sys.executable).parent / "optuna-dashboard"


def _objective(trial) -> float:
    """A smooth toy surface with its top at fast=15, slow=80 (no backtest: fast and exact)."""
    fast = trial.suggest_int("fast", 5, 50, step=5)
    slow = trial.suggest_int("slow", 20, 200, step=20)
    return 1.5 - (fast - 15) ** 2 / 100 - (slow - 80) ** 2 / 2000


@pytest.fixture
def study(tmp_path):
    """20 finished trials in a journal file; returns (path, study)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path / "studies.journal"
    storage = JournalStorage(JournalFileBackend(str(path)))
    s = optuna.create_study(study_name=STUDY, storage=storage, direction="maximize",
                            sampler=optuna.samplers.TPESampler(seed=7))
    s.set_user_attr("symbol", "ACME")
    s.set_user_attr("strategy", "sma_cross")
    s.optimize(_objective, n_trials=TRIALS)
    return path, s


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy
    try:
        with opener.open(url, timeout=2) as resp:
            return resp.status == 200 and STUDY.encode() in resp.read()
    except OSError:
        return False


@pytest.fixture
def dashboard(study, tmp_path):
    """``optuna-dashboard`` serving the study's journal file; yields its URL."""
    if not DASHBOARD.exists():
        missing_tool("optuna-dashboard is not installed (pip install optuna-dashboard==0.21.0)")
    path, _ = study
    port = free_port()
    log = tmp_path / "optuna-dashboard.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(DASHBOARD), str(path), "--host", "127.0.0.1", "--port", str(port),
             "--server", "wsgiref"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop_group ends it and only it
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{base}/api/studies"), 60, "optuna-dashboard serving",
                 proc, log)
        yield base
    finally:
        stop_group(proc, timeout=10)


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(SHOTS / f"optuna-{name}.png"))


def test_study_history_and_trials_in_optuna_dashboard(page, study, dashboard):
    from playwright.sync_api import expect

    _, s = study
    base, pg = dashboard, page
    expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly
    best = s.best_trial

    # 1. the study list
    pg.goto(f"{base}/dashboard")
    expect(pg.get_by_text(f"0. {STUDY}")).to_be_visible()
    expect(pg.get_by_text("Direction: MAXIMIZE")).to_be_visible()
    _shot(pg, "01-studies")

    # 2. the study: History plot (a point per trial, the best-value line), importance, best
    pg.get_by_text(f"0. {STUDY}").click()
    expect(pg.get_by_text(f"{STUDY} (id=0)")).to_be_visible()
    history = pg.locator("div.MuiCard-root").filter(
        has=pg.get_by_role("heading", name="History", exact=True))
    expect(history.locator(".js-plotly-plot")).to_be_visible()
    expect(history.locator(".scatterlayer .trace")).to_have_count(2)  # trials, best so far
    expect(history.locator(".scatterlayer .point")).to_have_count(TRIALS)  # one per trial
    expect(history.get_by_text("Objective 0")).to_be_visible()  # the y axis title
    expect(pg.get_by_role("heading", name="Hyperparameter Importance")).to_be_visible()
    expect(pg.get_by_text(f"Best Trial (number={best.number})")).to_be_visible()
    expect(pg.get_by_text(f"fast: {best.params['fast']}, slow: {best.params['slow']}",
                          exact=False)).to_be_visible()
    expect(pg.get_by_role("cell", name="ACME", exact=True)).to_be_visible()  # a user attribute
    _shot(pg, "02-study-history")

    # 3. the trials: every one finished; the best one's detail
    pg.get_by_role("link", name="Trials (List)").click()
    expect(pg.get_by_text(f"{TRIALS} Trials", exact=True)).to_be_visible()
    expect(pg.get_by_text("Complete", exact=True)).to_have_count(TRIALS + 1)  # + the detail
    expect(pg.get_by_text("Best Trial", exact=True)).to_have_count(1)
    pg.get_by_text(f"Trial {best.number}", exact=True).click()
    expect(pg.get_by_text(f"Trial {best.number} (trial_id={best._trial_id})")).to_be_visible()
    expect(pg.get_by_text(repr(best.value), exact=True)).to_be_visible()  # its value
    for name, value in best.params.items():
        expect(pg.get_by_text(re.compile(rf"^{name}\s*{value}$"))).to_be_visible()
    _shot(pg, "03-best-trial")
