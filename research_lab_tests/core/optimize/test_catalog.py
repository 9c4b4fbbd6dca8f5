"""``research-lab optimize list / show / stop / delete`` on any storage URL."""

import json

from research_lab.cli import main
from research_lab.core.optimize import StudyRequest, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.space import parse_space

from .conftest import make_bars
from .test_samplers import SPACE


def test_list_show_stop_delete_studies_of_a_storage(cfg, tmp_path, capsys):
    url = f"journal:///{tmp_path / 'other.journal'}"   # any storage, not only the default
    bars = make_bars(800)
    for name, n in (("first", 4), ("second", 6)):
        run_study(StudyRequest("sma_cross", "ACME", bars, parse_space(SPACE, strategy="sma_cross"),
                               name, n_trials=n, seed=1, storage_url=url, config=cfg),
                  report=False)
    assert main(["optimize", "list", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 studies in ")
    assert "first\tdone\tsma_cross ACME\t4/4 trials" in out and "second\tdone" in out
    assert main(["optimize", "show", "second", "--storage", url]) == 0
    shown = json.loads(capsys.readouterr().out)
    study = S.load_study(url, "second")
    assert shown["trials"]["done"] == 6 and shown["sampler"] == "tpe"
    assert shown["best_value"] == max(t.value for t in study.trials if t.value is not None)
    assert main(["optimize", "stop", "second", "--storage", url]) == 0
    assert main(["optimize", "list", "--storage", url]) == 0
    assert "second\tstopped" in capsys.readouterr().out
    assert main(["optimize", "delete", "first", "--storage", url]) == 0
    assert S.list_studies(url) == ["second"]
    assert main(["optimize", "delete", "ghost", "--storage", url]) == 2
    assert "ghost" in capsys.readouterr().err


def test_list_of_a_server_that_cannot_be_reached_is_an_error_not_zero_studies(cfg, capsys):
    # nothing listens on port 1: the listing must say so, not print "0 studies" and exit 0
    url = "postgresql://postgres:hunter2@127.0.0.1:1/nowhere"
    assert main(["optimize", "list", "--storage", url]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "0 studies" not in captured.out
    assert len(err.splitlines()) == 1 and "127.0.0.1:1" in err
    assert "hunter2" not in err


def test_list_of_a_database_without_optuna_tables_is_empty(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert S.list_studies(url) == []
