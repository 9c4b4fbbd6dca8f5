"""Optuna's JournalStorage on PostgreSQL (postgresql+journal://): round-trip, two processes
appending to one study, snapshot restore, buffered trial writes, bad URLs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from research_lab.core.optimize import pg_journal
from research_lab.core.optimize import storage as S


def _journal(pg_url: str) -> str:
    return pg_url.replace("postgresql://", "postgresql+journal://", 1)


def _objective(trial):
    trial.set_user_attr(S.WORKER_ATTR, "test")
    x = trial.suggest_float("x", -3, 3)
    y = trial.suggest_int("y", 0, 4)
    for step in range(3):
        trial.report(x * step, step)
    return -(x - 1) ** 2 - y


def _rows(pg_url: str, sql: str):
    import psycopg2

    conn = psycopg2.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.mark.postgres
def test_a_study_round_trips_through_postgresql(pg_url):
    url = _journal(pg_url)
    assert S.storage_kind(url) == "pg_journal"
    S.create_study(url, "rt", ["maximize"], {"owner": "lab"})
    study = S.load_study(url, "rt", sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(_objective, n_trials=12)
    written = {t.number: (t.params, t.value, t.intermediate_values) for t in study.trials}

    again = S.load_study(url, "rt")  # a new process's view: replayed from the table
    assert {t.number: (t.params, t.value, t.intermediate_values) for t in again.trials} == written
    assert all(t.state == TrialState.COMPLETE and t.user_attrs == {"worker": "test"}
               for t in again.trials)
    assert again.user_attrs == {"owner": "lab"} and again.best_value == study.best_value
    seqs = [r[0] for r in _rows(pg_url, "SELECT seq FROM optuna_journal_log ORDER BY seq")]
    assert seqs == list(range(len(seqs))) and len(seqs) > 12 * 7


@pytest.mark.postgres
def test_two_processes_appending_to_one_study_get_distinct_complete_trials(pg_url, tmp_path):
    url = _journal(pg_url)
    S.create_study(url, "pair", ["maximize"])
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(f"""
        import optuna, sys
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        from research_lab.core.optimize import storage as S
        from research_lab_tests.core.optimize.test_pg_journal import _objective
        study = S.load_study({url!r}, "pair", worker=True,
                             sampler=optuna.samplers.RandomSampler(seed=int(sys.argv[1])))
        study.optimize(_objective, n_trials=40)
    """))
    root = Path(__file__).resolve().parents[3]  # the workers import this module's objective
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, str(script), str(seed)], stderr=subprocess.PIPE,
                              text=True, env=env, cwd=root) for seed in (1, 2)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors

    trials = S.load_study(url, "pair").trials
    assert sorted(t.number for t in trials) == list(range(80))
    assert all(t.state == TrialState.COMPLETE and set(t.params) == {"x", "y"}
               and sorted(t.intermediate_values) == [0, 1, 2] for t in trials)
    assert all(t.value == pytest.approx(-(t.params["x"] - 1) ** 2 - t.params["y"])
               for t in trials)
    seqs = [r[0] for r in _rows(pg_url, "SELECT seq FROM optuna_journal_log ORDER BY seq")]
    assert seqs == list(range(len(seqs)))


@pytest.mark.postgres
def test_a_new_reader_starts_from_the_snapshot(pg_url, monkeypatch):
    monkeypatch.setattr(pg_journal, "SNAPSHOT_MIN_LOGS", 50)
    url = _journal(pg_url)
    S.create_study(url, "snap", ["maximize"])
    study = S.load_study(url, "snap", sampler=optuna.samplers.RandomSampler(seed=4))
    study.optimize(_objective, n_trials=230)  # Optuna offers snapshots at trials 100 and 200
    (upto,), = _rows(pg_url, "SELECT upto FROM optuna_journal_snapshot")
    (total,), = _rows(pg_url, "SELECT count(*) FROM optuna_journal_log")
    assert 0 < upto < total

    dsn, table = pg_journal.parse_url(url)
    backend = pg_journal.PgJournalBackend(dsn, table)
    storage = optuna.storages.JournalStorage(backend)
    reader = optuna.load_study(study_name="snap", storage=storage)
    assert backend.logs_read == total - upto  # from the snapshot's position, not from log 0
    assert [(t.number, t.params, t.value) for t in reader.trials] == [
        (t.number, t.params, t.value) for t in study.trials]


@pytest.mark.postgres
def test_trial_writes_are_buffered_and_a_workers_quiet_read_asks_nothing(pg_url):
    url = _journal(pg_url)
    S.create_study(url, "buf", ["maximize"])
    study = S.load_study(url, "buf", sampler=optuna.samplers.RandomSampler(seed=5),
                         worker=True)
    backend = study._storage._backend
    before = backend.round_trips
    study.optimize(_objective, n_trials=20)
    # per trial: create, the worker attribute (read by recovery), finish; params, reports
    # and reads ride along or need no query (nobody else wrote)
    assert (backend.round_trips - before) / 20 <= 3.5

    other = S.load_study(url, "buf")  # not a worker: every read asks the server
    assert len(other.trials) == 20
    trial = study.ask()
    assert len(other.trials) == 21  # the new trial, at once
    trial.suggest_float("x", -3, 3)  # buffered: not in the table yet
    assert other.trials[-1].params == {} and other.trials[-1].state == TrialState.RUNNING
    study.tell(trial, 1.0)  # the finish writes the buffer first
    assert set(other.trials[-1].params) == {"x"} and other.trials[-1].value == 1.0


@pytest.mark.parametrize("url, says", [
    ("postgresql+journal:///db", "names no host"),
    ("postgresql+journal://u:secret@host:5432/", "names no database"),
    ("postgresql+journal://u@host:99999/db", "bad port"),
    ("postgresql+journal://u@host/db?tabel=x", "unknown parameter(s) tabel"),
    ("postgresql+journal://u@host/db?table=Bad-Name", "table must be"),
])
def test_a_bad_journal_url_is_one_line_naming_it_without_the_password(url, says):
    with pytest.raises(S.StorageError) as err:
        S.storage_kind(url)
    message = str(err.value)
    assert says in message and "\n" not in message and "secret" not in message
    assert "postgresql+journal://" in message
