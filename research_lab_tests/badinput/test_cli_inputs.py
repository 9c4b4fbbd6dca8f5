"""Bad input through the command line, config files and environment variables: every case
exits with code 2, prints one line naming the problem and no traceback, and writes nothing
(the stores, MLflow, Optuna, the Dagster instance, the working and temporary folders are
compared before and after).

Cases run in-process (``research_lab.cli.main(argv)``); ``test_real_entry_point`` runs a few
through the installed ``research-lab`` script. ``{in}`` is a folder of bad input files
(``inputs.py``), ``{out}`` a folder under the working directory that must not appear, ``{port}``
a port where nothing listens.
"""

from __future__ import annotations

import socket

import pytest

from research_lab_tests.badinput.conftest import assert_one_line_error
from research_lab_tests.badinput.inputs import write_inputs

RUN_ID = "0123456789abcdef0123456789abcdef"
LONG = "A" * 500
OPT = ["optimize", "--strategy", "sma_cross", "--symbols", "ACME", "--n-trials", "2",
       "--no-progress", "--no-tracking", "--market-hours", "ignore"]


def case(id_, argv, expected, env=None, marks=()):
    return pytest.param(argv, env or {}, expected, id=id_, marks=marks)


CASES = [
    # -- data: symbols ------------------------------------------------------------------------
    case("ingest-empty-symbol", ["data", "ingest", "--symbols", "", "--start", "2023-01-03"],
         "empty"),
    case("ingest-only-commas", ["data", "ingest", "--symbols", ",,", "--start", "2023-01-03"],
         "no symbol"),
    case("ingest-path-symbol", ["data", "ingest", "--symbols", "../../etc/passwd",
                                "--start", "2023-01-03"], "not a valid symbol"),
    case("ingest-sql-symbol", ["data", "ingest", "--symbols", "'; DROP TABLE bars; --",
                               "--start", "2023-01-03"], "not a valid symbol"),
    case("ingest-long-symbol", ["data", "ingest", "--symbols", LONG, "--start", "2023-01-03"],
         "500 characters"),
    case("ingest-pipe-symbol", ["data", "ingest", "--symbols", "AC|ME", "--start", "2023-01-03"],
         "not a valid symbol"),
    case("ingest-space-symbol", ["data", "ingest", "--symbols", "AC ME", "--start", "2023-01-03"],
         "not a valid symbol"),
    case("ingest-unicode-symbol", ["data", "ingest", "--symbols", "ÄCME", "--start", "2023-01-03"],
         "not a valid symbol"),
    case("ingest-unserved-symbol", ["data", "ingest", "--symbols", "ZZZZ",
                                    "--start", "2023-01-03"], "has no symbol ZZZZ"),
    # -- data: dates --------------------------------------------------------------------------
    case("ingest-dayfirst-date", ["data", "ingest", "--symbols", "ACME", "--start", "13/01/2023"],
         "ambiguous"),
    case("ingest-slash-date", ["data", "ingest", "--symbols", "ACME", "--start", "2023/01/03"],
         "YYYY-MM-DD"),
    case("ingest-month-13", ["data", "ingest", "--symbols", "ACME", "--start", "2023-13-01"],
         "not a date"),
    case("ingest-feb-30", ["data", "ingest", "--symbols", "ACME", "--start", "2023-02-30"],
         "not a date"),
    case("ingest-future-start", ["data", "ingest", "--symbols", "ACME", "--start", "2099-01-02",
                                 "--end", "2099-01-05"], "after the last closed session"),
    case("ingest-future-end", ["data", "ingest", "--symbols", "ACME", "--start", "2023-01-03",
                               "--end", "2099-01-05"], "--end 2099-01-05 is after"),
    case("ingest-end-before-start", ["data", "ingest", "--symbols", "ACME", "--start",
                                     "2023-02-01", "--end", "2023-01-03"], "before --start"),
    case("ingest-before-partitions", ["data", "ingest", "--symbols", "ACME", "--start",
                                      "1990-01-02", "--end", "1990-01-05"], "first session"),
    case("ingest-no-symbols", ["data", "ingest", "--start", "2023-01-03"], "--symbols"),
    # -- data: settings from the environment --------------------------------------------------
    case("env-seed-text", ["data", "ingest", "--symbols", "ACME", "--start", "2023-01-03"],
         "RESEARCH_LAB_SEED", {"RESEARCH_LAB_SEED": "abc"}),
    case("env-unknown-source", ["data", "ingest", "--symbols", "ACME", "--start", "2023-01-03"],
         "RESEARCH_LAB_SOURCE='nope' is not one of synthetic, csv, yfinance",
         {"RESEARCH_LAB_SOURCE": "nope"}),
    case("env-csv-without-folder", ["data", "ingest", "--symbols", "ACME",
                                    "--start", "2023-01-03"], "csv_dir",
         {"RESEARCH_LAB_SOURCE": "csv"}),
    case("env-csv-missing-folder", ["data", "ingest", "--symbols", "ACME",
                                    "--start", "2023-01-03"], "does not exist",
         {"RESEARCH_LAB_SOURCE": "csv", "RESEARCH_LAB_CSV_DIR": "{in}/nope"}),
    case("env-csv-folder-is-file", ["data", "ingest", "--symbols", "ACME",
                                    "--start", "2023-01-03"], "not a folder",
         {"RESEARCH_LAB_SOURCE": "csv", "RESEARCH_LAB_CSV_DIR": "{in}/list.yaml"}),
    case("env-universe-path", ["data", "symbols"], "universe",
         {"RESEARCH_LAB_UNIVERSE": "ACME,../x"}),
    case("env-webhook-ftp", ["data", "symbols"], "http",
         {"RESEARCH_LAB_ALERT_WEBHOOK_URL": "ftp://example.org/hook"}),
    case("env-webhook-no-host", ["data", "symbols"], "no host",
         {"RESEARCH_LAB_ALERT_WEBHOOK_URL": "http:///hook"}),
    case("env-dagster-home-missing", ["data", "ingest", "--symbols", "ACME",
                                      "--start", "2023-01-03"], "DAGSTER_HOME",
         {"DAGSTER_HOME": "{in}/no_such_home"}),
    case("env-store-refused", ["data", "symbols"], "database unavailable",
         {"RESEARCH_LAB_STORE_URL": "postgresql://app:s3cret@127.0.0.1:{port}/market"}),
    case("env-store-bad-url", ["data", "symbols"], "store URL",
         {"RESEARCH_LAB_STORE_URL": "not a url"}),
    case("env-store-unknown-dialect", ["data", "symbols"], "store URL scheme",
         {"RESEARCH_LAB_STORE_URL": "nosuchdb://x/y"}),
    case("env-store-corrupt-file", ["data", "symbols"], "database",
         {"RESEARCH_LAB_STORE_URL": "sqlite:///{in}/list.yaml"}),
    # -- config files -------------------------------------------------------------------------
    case("config-missing", ["data", "symbols"], "does not exist",
         {"RESEARCH_LAB_CONFIG": "{in}/nope.yaml"}),
    case("config-malformed-yaml", ["data", "symbols"], "not valid YAML at line",
         {"RESEARCH_LAB_CONFIG": "{in}/malformed.yaml"}),
    case("config-tabs", ["data", "symbols"], "not valid YAML",
         {"RESEARCH_LAB_CONFIG": "{in}/tabs.yaml"}),
    case("config-not-utf8", ["data", "symbols"], "not a UTF-8 text file",
         {"RESEARCH_LAB_CONFIG": "{in}/not_utf8.yaml"}),
    case("config-top-level-list", ["data", "symbols"], "must be a mapping",
         {"RESEARCH_LAB_CONFIG": "{in}/list.yaml"}),
    case("config-unknown-key", ["data", "symbols"], "sources: unknown key (expected one of",
         {"RESEARCH_LAB_CONFIG": "{in}/unknown_key.yaml"}),
    case("config-negative-seed", ["data", "symbols"], "seed",
         {"RESEARCH_LAB_CONFIG": "{in}/negative_seed.yaml"}),
    case("config-universe-number", ["data", "symbols"], "universe",
         {"RESEARCH_LAB_CONFIG": "{in}/universe_number.yaml", "RESEARCH_LAB_UNIVERSE": ""}),
    case("config-universe-bad-symbol", ["data", "symbols"], "not a valid symbol",
         {"RESEARCH_LAB_CONFIG": "{in}/universe_bad_symbol.yaml", "RESEARCH_LAB_UNIVERSE": ""}),
    case("config-zero-limit", ["data", "symbols"], "max_abs_log_return",
         {"RESEARCH_LAB_CONFIG": "{in}/zero_limit.yaml"}),
    case("config-stale-run", ["data", "symbols"], "stale_run",
         {"RESEARCH_LAB_CONFIG": "{in}/stale_one.yaml"}),
    case("config-bad-kind", ["data", "symbols"], "source.kind 'ftp'",
         {"RESEARCH_LAB_CONFIG": "{in}/bad_kind.yaml", "RESEARCH_LAB_SOURCE": ""}),
    case("config-directory", ["data", "symbols"], "does not exist",
         {"RESEARCH_LAB_CONFIG": "{in}"}),
    # -- data show / symbols ------------------------------------------------------------------
    case("show-negative-tail", ["data", "show", "ACME", "--tail", "-5"], "--tail"),
    case("show-zero-tail", ["data", "show", "ACME", "--tail", "0"], "out of range"),
    case("show-text-tail", ["data", "show", "ACME", "--tail", "abc"], "not an integer"),
    case("show-float-tail", ["data", "show", "ACME", "--tail", "1.5"], "not an integer"),
    case("show-path-symbol", ["data", "show", "../x"], "not a valid symbol"),
    case("show-unknown-symbol", ["data", "show", "ZZZ"], "no bars stored for ZZZ"),
    case("show-reversed-range", ["data", "show", "ACME", "--start", "2023-06-01",
                                 "--end", "2023-01-03"], "after end"),
    case("no-command", [], "required"),
    case("unknown-command", ["frobnicate"], "invalid choice"),
    case("data-no-action", ["data"], "required"),
    # -- project (MLflow) ---------------------------------------------------------------------
    case("status-unknown-run", ["project", "status", RUN_ID], "not found"),
    case("status-injected-id", ["project", "status", "x' OR 1=1"], "is not a run id"),
    case("status-set-unknown-run", ["project", "status", RUN_ID, "--set", "testing"],
         "not found"),
    case("find-param-quote", ["project", "find", "--project", "Q1",
                              "--param", "fast=1' OR '1'='1"], "may not contain quotes"),
    case("find-param-name-backtick", ["project", "find", "--project", "Q1",
                                      "--param", "fa`st=1"], "not a valid parameter"),
    case("find-tag-double-quote", ["project", "find", "--tag", 'status=a"b'],
         "may not contain quotes"),
    case("find-project-quote", ["project", "find", "--project", "Q1'"], "Project"),
    case("find-where-operator", ["project", "find", "--where", "metrics.sharpe >> 1"],
         "comparator"),
    case("find-where-sql", ["project", "find", "--where", "1=1; DROP TABLE runs"], "MLflow"),
    case("find-param-no-equals", ["project", "find", "--param", "fast"], "NAME=VALUE"),
    case("find-limit-zero", ["project", "find", "--limit", "0"], "out of range"),
    case("find-limit-negative", ["project", "find", "--limit", "-3"], "--limit"),
    case("find-value-control-char", ["project", "find", "--param", "fast=1\x00"],
         "control characters"),
    case("leaderboard-metric-injection", ["project", "leaderboard", "--project", "Q1",
                                          "--metric", "sharpe` DESC; --"],
         "not a valid parameter, metric or tag name"),
    case("leaderboard-top-zero", ["project", "leaderboard", "--project", "Q1",
                                  "--metric", "sharpe", "--top", "0"], "out of range"),
    case("leaderboard-no-project", ["project", "leaderboard", "--metric", "sharpe"],
         "--project"),
    case("leaderboard-status-quote", ["project", "leaderboard", "--project", "Q1",
                                      "--metric", "sharpe", "--status", "x'"],
         "may not contain quotes"),
    case("compare-one-run", ["project", "compare", RUN_ID], "at least two"),
    case("compare-unknown-runs", ["project", "compare", RUN_ID, RUN_ID[::-1]], "not found"),
    case("compare-injected-id", ["project", "compare", RUN_ID, "a/../b"], "is not a run id"),
    case("create-bad-name", ["project", "create", "not-a-convention"], "Project"),
    case("create-quote-name", ["project", "create", "Q1'.Equities.Trend.SMA"], "Project"),
    case("archive-below-text", ["project", "archive", "--project", "Q1",
                                "--below", "sharpe=abc"], "is not a number"),
    case("archive-dayfirst-before", ["project", "archive", "--project", "Q1",
                                     "--before", "01/02/2024"], "ambiguous"),
    case("replay-limit-zero", ["project", "replay-outbox", "--limit", "0"], "out of range"),
    case("mlflow-uri-refused", ["project", "list", "--uri",
                                "postgresql://app:s3cret@127.0.0.1:{port}/mlflow"],
         "database unavailable"),
    # -- backtest -----------------------------------------------------------------------------
    case("backtest-unknown-strategy", ["backtest", "--strategy", "nope", "--symbols", "ACME"],
         "nope"),
    case("backtest-path-symbol", ["backtest", "--strategy", "sma_cross",
                                  "--symbols", "../x"], "not a valid symbol"),
    case("backtest-param-text", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                 "--param", "fast=abc"], "fast"),
    case("backtest-param-negative", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                     "--param", "fast=-5"], "fast"),
    case("backtest-param-unknown", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                    "--param", "nope=5"], "nope"),
    case("backtest-csv-missing", ["backtest", "--strategy", "sma_cross", "--csv",
                                  "{in}/nope.csv"], "nope.csv"),
    case("backtest-csv-text-price", ["backtest", "--strategy", "sma_cross", "--csv",
                                     "{in}/text_price.csv"], "close"),
    case("backtest-csv-dayfirst", ["backtest", "--strategy", "sma_cross", "--csv",
                                   "{in}/dayfirst.csv"], "line 2, field 'Date'"),
    case("backtest-csv-negative", ["backtest", "--strategy", "sma_cross", "--csv",
                                   "{in}/negative_price.csv"], "close"),
    case("backtest-csv-high-below-low", ["backtest", "--strategy", "sma_cross", "--csv",
                                         "{in}/high_below_low.csv"], "high"),
    case("backtest-csv-duplicate", ["backtest", "--strategy", "sma_cross", "--csv",
                                    "{in}/duplicate.csv"], "duplicate"),
    case("backtest-csv-header-only", ["backtest", "--strategy", "sma_cross", "--csv",
                                      "{in}/header_only.csv"], "header_only.csv"),
    case("backtest-csv-binary", ["backtest", "--strategy", "sma_cross", "--csv",
                                 "{in}/binary.csv"], "binary.csv"),
    case("backtest-csv-huge-price", ["backtest", "--strategy", "sma_cross", "--csv",
                                     "{in}/huge_price.csv"], "not a plausible price"),
    case("backtest-csv-future", ["backtest", "--strategy", "sma_cross", "--csv",
                                 "{in}/future.csv"], "2099"),
    case("backtest-cash-negative", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                    "--cash", "-100"], "cash"),
    case("backtest-cash-nan", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                               "--cash", "nan"], "cash"),
    case("backtest-commission-inf", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                     "--commission", "inf"], "commission"),
    case("backtest-dayfirst-start", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                     "--start", "13/01/2023"], "ambiguous"),
    case("backtest-engine-unknown", ["backtest", "--strategy", "sma_cross", "--symbols", "ACME",
                                     "--engine", "warp"], "invalid choice"),
    # -- optimize -----------------------------------------------------------------------------
    case("optimize-escaping-study-name", [*OPT, "--study-name", "../escaped",
                                          "--out", "{out}"], "may not contain"),
    case("optimize-absolute-study-name", [*OPT, "--study-name", "/tmp/abs", "--out", "{out}"],
         "may not contain"),
    case("optimize-empty-study-name", [*OPT, "--study-name", "", "--out", "{out}"],
         "--study-name"),
    case("optimize-no-study-name", OPT, "--study-name is required"),
    case("optimize-zero-trials", [*OPT, "--study-name", "s", "--n-trials", "0"], "--n-trials"),
    case("optimize-zero-workers", [*OPT, "--study-name", "s", "--workers", "0"], "--workers"),
    case("optimize-negative-timeout", [*OPT, "--study-name", "s", "--timeout", "-5"],
         "--timeout"),
    case("optimize-nan-timeout", [*OPT, "--study-name", "s", "--timeout", "nan"], "--timeout"),
    case("optimize-unknown-strategy", ["optimize", "--strategy", "nope", "--symbols", "ACME",
                                       "--study-name", "s"], "nope"),
    case("optimize-space-missing", [*OPT, "--study-name", "s", "--param-space",
                                    "{in}/nope.yaml"], "nope.yaml"),
    case("optimize-space-malformed", [*OPT, "--study-name", "s", "--param-space",
                                      "{in}/space_malformed.yaml"], "space_malformed.yaml"),
    case("optimize-space-unknown-param", [*OPT, "--study-name", "s", "--param-space",
                                          "{in}/space_unknown_param.yaml"], "nope"),
    case("optimize-space-low-above-high", [*OPT, "--study-name", "s", "--param-space",
                                           "{in}/space_low_above_high.yaml"], "low"),
    case("optimize-space-code-constraint", [*OPT, "--study-name", "s", "--param-space",
                                            "{in}/space_constraint.yaml"], "constraint"),
    case("optimize-config-malformed", [*OPT, "--study-name", "s", "--config",
                                       "{in}/optimize_malformed.yaml"], "not valid YAML"),
    case("optimize-config-unknown-key", [*OPT, "--study-name", "s", "--config",
                                         "{in}/optimize_unknown.yaml"], "studdy"),
    case("optimize-config-negative", [*OPT, "--study-name", "s", "--config",
                                      "{in}/optimize_negative.yaml"], "n_trials"),
    case("optimize-storage-scheme", [*OPT, "--study-name", "s", "--storage", "mysql://x/y"],
         "storage"),
    case("optimize-symbol-without-bars", ["optimize", "--strategy", "sma_cross", "--symbols",
                                          "GLOBEX", "--study-name", "s", "--no-tracking"],
         "no bars of GLOBEX"),
    case("optimize-path-symbol", ["optimize", "--strategy", "sma_cross", "--symbols", "../x",
                                  "--study-name", "s"], "not a valid symbol"),
    case("optimize-unknown-metric", [*OPT, "--study-name", "s", "--metric", "sharp"], "sharp"),
    case("optimize-reversed-dates", [*OPT, "--study-name", "s", "--start", "2023-06-01",
                                     "--end", "2023-01-03"], "after --end"),
    case("optimize-direction-choice", [*OPT, "--study-name", "s", "--direction", "up"],
         "invalid choice"),
    # -- quality ------------------------------------------------------------------------------
    case("quality-ack-dayfirst", ["quality", "ack", "ACME", "14/06/2023", "--verdict",
                                  "confirmed", "--reason", "x"], "ambiguous"),
    case("quality-ack-verdict", ["quality", "ack", "ACME", "2023-06-14", "--verdict", "ok",
                                 "--reason", "x"], "invalid choice"),
    case("quality-ack-no-score", ["quality", "ack", "ACME", "2023-06-14", "--verdict",
                                  "confirmed", "--reason", "x", "--author", "me"], "no anomaly"),
    case("quality-ack-path-symbol", ["quality", "ack", "../x", "2023-06-14", "--verdict",
                                     "confirmed", "--reason", "x", "--author", "me"],
         "not a valid symbol"),
    case("quality-score-empty", ["quality", "score", "--symbols", "", "--start", "2023-01-03"],
         "empty"),
    case("quality-open-path-symbol", ["quality", "open", "../x"], "not a valid symbol"),
    case("quality-calibrate-rate", ["quality", "calibrate", "--target-rate", "-1"],
         "target"),
    # -- rl -----------------------------------------------------------------------------------
    case("rl-train-path-symbol", ["rl", "train", "../x"], "symbol"),
    case("rl-train-negative-steps", ["rl", "train", "ACME", "--timesteps", "-1"], "timesteps"),
    case("rl-train-algorithm", ["rl", "train", "ACME", "--algorithm", "XYZ"], "invalid choice"),
    case("rl-train-config-missing", ["rl", "train", "ACME", "--config", "{in}/nope.yaml"],
         "nope.yaml"),
    case("rl-train-config-malformed", ["rl", "train", "ACME", "--config",
                                       "{in}/rl_malformed.yaml"], "not valid YAML"),
    case("rl-evaluate-no-policy", ["rl", "evaluate", "ACME"], "policy"),
    # -- stack / demo -------------------------------------------------------------------------
    case("stack-up-sql-prefix", ["stack", "up", "--db-prefix", 'x"; DROP DATABASE postgres; --',
                                 "--home", "{out}"], "--db-prefix"),
    case("stack-up-port", ["stack", "up", "--dagster-port", "70000"], "port"),
    case("stack-up-pg-url", ["stack", "up", "--pg-url", "mysql://x", "--home", "{out}"],
         "postgresql"),
    case("demo-negative-years", ["demo", "ingest", "--years", "-1"], "years"),
    case("demo-nan-years", ["demo", "ingest", "--years", "nan"], "years"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize("argv, env, expected", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(lab, capsys, monkeypatch,
                                                         argv, env, expected):
    from research_lab.cli import main

    values = {"in": str(write_inputs(lab.root / "inputs")), "out": str(lab.cwd / "out"),
              "port": str(_free_port())}
    for key, value in env.items():
        monkeypatch.setenv(key, _fill(value, values))
    before = lab.snapshot()
    capsys.readouterr()
    try:
        code = main([_fill(a, values) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}: {err}"
    line = assert_one_line_error(err, expected)
    assert "s3cret" not in out + err
    assert "Traceback" not in out
    lab.assert_unchanged(before)
    assert line  # noqa: the line was checked above


def test_unexpected_errors_exit_1_with_a_hint_and_debug_shows_the_traceback(lab, capsys,
                                                                          monkeypatch):
    from research_lab.cli import data, main

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(data, "cmd_symbols", broken)  # the parser is built on each main()
    assert main(["data", "symbols"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip() == ("research-lab data: error: unexpected error: RuntimeError: boom "
                           "(run again with --debug for the traceback)")
    assert main(["data", "symbols", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
