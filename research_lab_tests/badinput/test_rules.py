"""The shared input rules, the redaction helper and the error mapping, as pure functions; then
Dagster step failures unwrapped to their root cause, and a study's outputs only where the user
said."""

from __future__ import annotations

from datetime import date

import pytest

from research_lab.core import inputs as I
from research_lab.core.errors import explain, one_line
from research_lab.core.redact import redact, redact_url


@pytest.mark.parametrize("text, expected", [
    ("acme", "ACME"), (" brk.b ", "BRK.B"), ("^gspc", "^GSPC"), ("eurusd=x", "EURUSD=X"),
    ("7203.t", "7203.T"), ("brk-b", "BRK-B"),
])
def test_symbols_exchanges_write_are_accepted(text, expected):
    assert I.symbol(text) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "../x", "a/b", "a\\b", "..", ".hidden", "A|B", "A B", "O'RCL", 'A"B', "A;B",
    "A" * 21, "ÄCME", "^", "^^X", "-X", "A\nB", "A\x00B",
])
def test_symbols_that_could_break_a_path_key_or_query_are_refused(text):
    with pytest.raises(I.InputError, match="symbol"):
        I.symbol(text)


def test_symbol_lists_drop_blanks_and_duplicates_but_refuse_nothing_given():
    assert I.symbols(["acme,globex", "ACME", " ^vix "]) == ["ACME", "GLOBEX", "^VIX"]
    with pytest.raises(I.InputError, match="no symbol given"):
        I.symbols([",", " , "])


@pytest.mark.parametrize("text, message", [
    ("13/01/2023", "ambiguous"), ("01/13/2023", "ambiguous"), ("5.12.2024", "ambiguous"),
    ("2023-1-3", "YYYY-MM-DD"), ("2023/01/03", "YYYY-MM-DD"), ("20230103", "YYYY-MM-DD"),
    ("2023-02-29", "not a date"), ("yesterday", "not a date"),
])
def test_dates_are_iso_only(text, message):
    with pytest.raises(I.InputError, match=message):
        I.session_date(text, "--start")


def test_dates_after_the_last_closed_session_need_asking():
    last = date(2024, 6, 7)
    assert I.not_after(date(2024, 6, 7), last) == date(2024, 6, 7)
    with pytest.raises(I.InputError, match="after the last closed session 2024-06-07"):
        I.not_after(date(2024, 6, 10), last, "--end")
    assert I.not_after(date(2099, 1, 1), last, allow_future=True) == date(2099, 1, 1)


@pytest.mark.parametrize("value, message", [
    ("nan", "not a finite"), ("inf", "not a finite"), ("-inf", "not a finite"),
    ("1e308", "out of range"), ("-5", "out of range"), ("abc", "not a number"), (None, "not"),
])
def test_numbers_are_finite_and_in_range(value, message):
    with pytest.raises(I.InputError, match=message):
        I.finite_number(value, "price", low=0, high=1e9)


@pytest.mark.parametrize("value", [True, "1.5", "x", "-1", 0])
def test_integers_are_integers_in_range(value):
    with pytest.raises(I.InputError):
        I.int_in_range(value, "--tail", low=1)


@pytest.mark.parametrize("name", ["../escaped", "a/b", "/abs", "..", ".x", "", "a\\b", "a b",
                                  "n" * 129])
def test_names_used_in_paths_cannot_leave_their_folder(name):
    with pytest.raises(I.InputError):
        I.path_name(name, "--study-name")


def test_child_paths_stay_inside_their_folder(tmp_path):
    assert I.child_path(tmp_path, "study") == (tmp_path / "study").resolve()
    (tmp_path / "link").symlink_to("/")
    for name in ("../x", "link", "/etc"):
        with pytest.raises(I.InputError, match="leaves the folder"):
            I.child_path(tmp_path, name, "x")


@pytest.mark.parametrize("value", ["a'b", 'a"b', "a`b", "x\x00", "v" * 501])
def test_filter_values_with_quotes_or_control_characters_are_refused(value):
    with pytest.raises(I.InputError):
        I.filter_value(value)


def test_filter_values_and_keys_are_quoted():
    assert I.filter_value("Q1_2025") == "'Q1_2025'"
    assert I.filter_key("broker.cash") == "`broker.cash`"
    with pytest.raises(I.InputError):
        I.filter_key("a` = 'x' OR `b")


def test_long_values_are_not_echoed_whole():
    with pytest.raises(I.InputError) as info:
        I.symbol("A" * 10_000_000)
    assert len(str(info.value)) < 300 and "10000000 characters" in str(info.value)


# -- redaction ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, secret, kept", [
    ("postgresql://app:s3cret@db:5432/market", "s3cret", "postgresql://app:***@db:5432/market"),
    ("connect https://hooks.example.com/services/T00/B00/XYZsecret failed", "XYZsecret",
     "https://hooks.example.com/***"),
    ("https://h.example/api?token=abc123&n=1", "abc123", "n=1"),
    ("https://h.example/x/AbCdEf0123456789GhIj", "AbCdEf0123456789GhIj", "https://h.example/***"),
    ("http://user:pw@127.0.0.1:5000/api", ":pw@", "user:***@"),
])
def test_secrets_are_masked_in_any_text(text, secret, kept):
    out = redact(text, env={})
    assert secret not in out and kept in out


def test_secret_environment_values_are_masked_wherever_they_appear():
    env = {"MLFLOW_TRACKING_TOKEN": "tok-123456",
           "RESEARCH_LAB_ALERT_WEBHOOK_URL": "https://h.example/hook/abc"}
    out = redact("token tok-123456 and path /hook/abc and https://h.example/hook/abc", env=env)
    assert "tok-123456" not in out and "/hook/abc" not in out


def test_urls_without_secrets_keep_their_paths():
    assert redact_url("http://127.0.0.1:5000/api/2.0/mlflow/runs/get") == \
        "http://127.0.0.1:5000/api/2.0/mlflow/runs/get"
    assert redact_url("postgresql://postgres@127.0.0.1:5432/db") == \
        "postgresql://postgres@127.0.0.1:5432/db"


# -- the error mapping -------------------------------------------------------------------------
class OperationalError(Exception):  # named like SQLAlchemy's: recognised by name
    def __init__(self, orig):
        super().__init__("(psycopg2.OperationalError) wrapped\n[SQL: SELECT 1]")
        self.orig = orig


class MlflowException(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def test_known_errors_are_one_line_exit_2_and_redacted():
    found = explain(OperationalError("connection to postgresql://u:pw@h:1/x refused\nIs it up?"))
    assert found.code == 2 and found.message.startswith("database unavailable: connection to")
    assert "pw" not in found.message and "\n" not in found.message
    assert explain(MlflowException("Run 'x' not found")).message == "MLflow: Run 'x' not found"
    assert explain(FileNotFoundError(2, "No such file", "/x.yaml")).message == \
        "/x.yaml: No such file"
    assert explain(RuntimeError("bug")) is None


def test_a_known_cause_behind_an_unknown_wrapper_is_explained():
    try:
        try:
            raise ValueError("--tail must be positive")
        except ValueError as inner:
            raise RuntimeError("retry wrapper") from inner
    except RuntimeError as exc:
        assert explain(exc).message == "--tail must be positive"


def test_pydantic_errors_name_each_field():
    from pydantic import BaseModel, Field, ValidationError

    class M(BaseModel):
        n: int = Field(ge=1)

    with pytest.raises(ValidationError) as info:
        M(n=0)
    found = explain(info.value)
    assert found.code == 2 and found.message.startswith("n: Input should be greater")


def test_one_line_drops_carets_and_sql():
    assert one_line("bad\n   ^\n[SQL: SELECT 1]\nmore") == "bad more"


# -- Dagster step failures ----------------------------------------------------------------------
def test_a_dagster_step_failure_is_unwrapped_to_its_root_cause(tmp_path):
    import dagster as dg

    from research_lab.cli.common import explain_error, run_failure

    @dg.asset
    def broken() -> None:
        raise ValueError("symbol 'X|Y' is not a valid symbol")

    from dagster._core.errors import (
        DagsterExecutionStepExecutionError,
        user_code_error_boundary,
    )

    with pytest.raises(DagsterExecutionStepExecutionError) as info:  # as a run step wraps it
        with user_code_error_boundary(DagsterExecutionStepExecutionError,
                                      lambda: 'Error occurred while executing op "market_data"',
                                      step_key="market_data", op_def_name="market_data",
                                      op_name="market_data"):
            raise ValueError("symbol 'X|Y' is not a valid symbol")
    assert explain_error(info.value) == (2, "symbol 'X|Y' is not a valid symbol")

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        assert run_failure(result) == (2, "symbol 'X|Y' is not a valid symbol")

        @dg.asset
        def buggy() -> None:
            raise KeyError("oops")

        result = dg.materialize([buggy], instance=instance, raise_on_error=False)
        code, line = run_failure(result)
        assert code == 1 and "oops" in line


# -- outputs only where the user said --------------------------------------------------------
def test_a_study_without_out_leaves_no_temporary_folder(lab, capsys):
    from research_lab.cli import main

    argv = ["optimize", "--strategy", "sma_cross", "--symbols", "ACME", "--n-trials", "3",
            "--no-progress", "--no-tracking", "--market-hours", "ignore", "--workers", "1"]
    assert main([*argv, "--study-name", "tmpcheck"]) == 0, capsys.readouterr().err
    assert list(lab.tmp.iterdir()) == [], "temporary files left behind"
    assert main([*argv, "--study-name", "kept", "--out", "results"]) == 0
    assert {p.name for p in (lab.cwd / "results").iterdir()} == {"kept"}
    assert (lab.cwd / "results" / "kept" / "report.json").is_file()
    assert list(lab.tmp.iterdir()) == []
