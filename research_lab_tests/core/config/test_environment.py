"""Every RESEARCH_LAB_* variable is listed, read and validated in one place."""

import re
from pathlib import Path

import pytest

from research_lab.core.environment import VARIABLES, SettingsError, read_environment
from research_lab.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_every_variable_the_code_base_names_is_listed():
    listed = {v.name for v in VARIABLES}
    named = set()
    for folder in ("research_lab", "scripts", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in ("", ".py", ".sh", ".yml", ".yaml"):
                found = re.findall(r"RESEARCH_LAB_[A-Z0-9_]+", path.read_text(errors="ignore"))
                named |= {n for n in found if not n.endswith("_")}  # not a prefix like X_*
    assert named - listed == set()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("RESEARCH_LAB_SEED", "forty-two", "valid integer"),
    ("RESEARCH_LAB_SEED", "-1", "greater than or equal to 0"),
    ("RESEARCH_LAB_SOURCE", "bloomberg", "is not one of synthetic, csv, yfinance"),
    ("RESEARCH_LAB_STORE_URL", "mysql://h/db", "sqlite:///path or postgresql://"),
    ("RESEARCH_LAB_UNIVERSE", " , ", "no symbol"),
    ("RESEARCH_LAB_PORT", "70000", "less than or equal to 65535"),
    ("RESEARCH_LAB_MLFLOW_URI", "ftp://x", "scheme"),
    ("RESEARCH_LAB_ALERT_WEBHOOK_URL", "hooks.example", "http:// or https://"),
    ("RESEARCH_LAB_EXECUTOR", "nomad", "is not one of multiprocess, celery, k8s"),
    ("RESEARCH_LAB_CELERY_BROKER", "http://x", "neither an AMQP"),
    ("RESEARCH_LAB_OPTUNA_STORAGE", "redis://x", "journal:///path"),
])
def test_a_bad_value_fails_naming_the_variable(name, value, says):
    with pytest.raises(SettingsError) as err:
        load_settings(env={name: value})
    assert str(err.value).startswith(f"{name}=")
    assert says in str(err.value)


def test_a_password_in_a_bad_url_is_not_shown():
    with pytest.raises(SettingsError) as err:
        read_environment({"RESEARCH_LAB_STORE_URL": "mysql://user:hunter2@db/x"})
    assert "hunter2" not in str(err.value)


def test_unset_and_empty_variables_leave_the_defaults(tmp_path):
    got = read_environment({"RESEARCH_LAB_SEED": "", "RESEARCH_LAB_HOME": str(tmp_path)})
    assert got.seed is None and got.home == tmp_path
    assert got.universe is None


def test_environment_overrides_the_file(tmp_path):
    cfg = tmp_path / "lab.yaml"
    cfg.write_text("source: {kind: synthetic, seed: 1}\nuniverse: [AAA]\n")
    s = load_settings(env={"RESEARCH_LAB_CONFIG": str(cfg), "RESEARCH_LAB_SEED": "7",
                           "RESEARCH_LAB_UNIVERSE": "bbb, ccc", "RESEARCH_LAB_HOME": "/h"})
    assert (s.seed, s.universe, s.home, s.config_path) == (7, ("BBB", "CCC"), Path("/h"), cfg)


@pytest.mark.parametrize(("text", "says"), [
    ("source: {kind: synthetic, seed: -1}\n", "source.seed: Input should be greater than or equal to 0"),
    ("quality: {stale_run: 1}\n", "quality.stale_run: Input should be greater than or equal to 2"),
    ("ingest: {history_years: two}\n", "ingest.history_years: Input should be a valid integer"),
    ("universe: [ACME, 3]\n", "universe: must be a list of symbols"),
    ("sources: {}\n", "sources: unknown key"),
    ("quality: {max_abs_log_return_by_symbol: {X: -1}}\n",
     "quality.max_abs_log_return_by_symbol: [X] must be a positive number"),
])
def test_a_bad_file_value_names_the_file_and_the_field(tmp_path, text, says):
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, env={})
    assert str(err.value).startswith(f"{cfg}: ")
    assert says in str(err.value)


def test_replace_validates_like_loading():
    s = load_settings(env={})
    assert s.replace(seed=3).seed == 3
    with pytest.raises(SettingsError, match="source.kind"):
        s.replace(source_kind="bloomberg")


def test_sentinel_config_is_typed():
    from research_lab.core.quality.config import SentinelConfig

    assert SentinelConfig(use_prophet=False).use_prophet is False
    with pytest.raises(SettingsError, match="if_years: Input should be greater than or equal to 1"):
        SentinelConfig(if_years=0)
    with pytest.raises(SettingsError, match="unknown_field"):
        SentinelConfig(unknown_field=1)
