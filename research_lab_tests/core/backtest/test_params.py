"""Parameter spaces (declared by each strategy, or read from a YAML file), and the errors a
person sees."""

from __future__ import annotations

import textwrap

import pytest

from research_lab.core.backtest import (
    STRATEGIES,
    BrokerConfig,
    ParameterError,
    get_space,
    load_spaces,
    run_backtest,
    strategy_rule,
)


def test_every_builtin_has_a_space_and_a_rule():
    assert len(STRATEGIES) == 8
    for name in STRATEGIES:
        assert get_space(name).description
        params, rule = strategy_rule(name)  # defaults resolve and satisfy the constraints
        assert params == get_space(name).defaults()
        assert rule.a is not None


def test_resolve_fills_defaults_and_coerces_strings():
    space = get_space("rsi_reversion")
    assert space.resolve({"period": "21", "lower": "25.5"}) == {
        "period": 21, "lower": 25.5, "upper": 70.0,
    }
    assert get_space("macd").resolve({"cross": "zero"})["cross"] == "zero"
    assert get_space("sma_cross").resolve({"fast": 5.0})["fast"] == 5  # integral float


def test_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="unknown strategy 'smacross'.*bollinger, close_sma_cross"):
        get_space("smacross")


def test_unknown_parameter_lists_names_and_bounds():
    with pytest.raises(ParameterError) as err:
        get_space("sma_cross").resolve({"fats": 5})
    assert "unknown parameter(s) fats" in str(err.value)
    assert "fast (int in [2, 200] step 1)" in str(err.value)
    assert "slow (int in [3, 400] step 1)" in str(err.value)


@pytest.mark.parametrize(
    ("strategy", "params", "expected"),
    [
        ("close_sma_cross", {"period": 1}, r"period=1 is invalid; expected int in \[2, 250\]"),
        ("close_sma_cross", {"period": 300}, r"period=300 is invalid"),
        ("close_sma_cross", {"period": 2.5}, r"period=2.5 is invalid"),
        ("close_sma_cross", {"period": True}, r"period=True is invalid"),
        ("close_sma_cross", {"period": "x"}, r"period='x' is invalid"),
        ("bollinger", {"devfactor": float("nan")}, r"devfactor=nan is invalid; expected float in \[0.5, 4\]"),
        ("macd", {"cross": "hist"}, r"cross='hist' is invalid; expected one of \['signal', 'zero'\]"),
        ("sma_cross", {"fast": 50, "slow": 20}, r"constraint fast < slow violated \(fast=50, slow=20\)"),
        ("donchian_breakout", {"period": 10, "exit_period": 20}, r"exit_period <= period violated"),
        ("rsi_reversion", {"lower": 50, "upper": 50}, r"lower < upper violated"),
    ],
)
def test_out_of_space_values_name_the_parameter(strategy, params, expected):
    with pytest.raises(ParameterError, match=expected):
        get_space(strategy).resolve(params)
    with pytest.raises(ValueError, match=strategy):  # what run_backtest raises too
        strategy_rule(strategy, params)


def test_grid_applies_constraints_unless_told_not_to():
    space = get_space("sma_cross")
    values = {"fast": range(5, 55, 5), "slow": range(20, 220, 20)}
    assert len(space.grid(values, constraints=False)) == 100
    grid = space.grid(values)
    assert len(grid) == 90 and all(c["fast"] < c["slow"] for c in grid)
    assert get_space("rsi_reversion").grid({"period": [10, 20]}) == [
        {"period": 10, "lower": 30.0, "upper": 70.0},
        {"period": 20, "lower": 30.0, "upper": 70.0},
    ]
    with pytest.raises(ParameterError, match="slow=500 is invalid"):
        space.grid({"slow": [30, 500]})
    with pytest.raises(ParameterError, match="unknown parameter"):
        space.grid({"period": [3]})


def test_default_grid_follows_steps():
    spec = {p.name: p for p in get_space("bollinger").params}["devfactor"]
    assert spec.values() == [0.5 + 0.25 * k for k in range(15)]
    assert {p.name: p for p in get_space("macd").params}["cross"].values() == ["signal", "zero"]


def _write(tmp_path, body: str):
    path = tmp_path / "strategies.yaml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("strategies:\n  s:\n    params:\n      p: {type: int, low: 1, high: 5, default: 9}\n",
         r"p=9 is invalid"),
        ("strategies:\n  s:\n    params:\n      p: {type: int, low: 1, high: 5, default: 2, stp: 1}\n",
         r"s.p: unknown key\(s\) \['stp'\]"),
        ("strategies:\n  s:\n    params:\n      p: {type: integer, low: 1, high: 5, default: 2}\n",
         r"s.p: type 'integer' is not one of"),
        ("strategies:\n  s:\n    params:\n      p: {type: int, low: 1, high: 5}\n",
         r"s.p: missing default"),
        ("strategies:\n  s:\n    params:\n      p: {type: int, low: 1, high: 5, default: 2}\n"
         "    constraints: ['p < q']\n", r"s: bad constraint 'p < q'"),
        ("strategies:\n  s:\n    params:\n      a: {type: int, low: 1, high: 5, default: 3}\n"
         "      b: {type: int, low: 1, high: 5, default: 2}\n    constraints: ['a < b']\n",
         r"s: constraint a < b violated"),
        ("nothing: here\n", r"expected a top-level 'strategies' mapping"),
    ],
)
def test_bad_space_files_are_refused_with_the_place(tmp_path, body, expected):
    with pytest.raises(ParameterError, match=expected):
        load_spaces(_write(tmp_path, body))


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"sizing": "all"}, r"sizing='all' is not one of \['fixed', 'percent'\]"),
        ({"cash": 0}, r"cash=0 must be > 0"),
        ({"percent": 120}, r"percent=120 must be in \(0, 100\]"),
        ({"commission": -1}, r"commission=-1 must be >= 0"),
        ({"mult": 10.0}, r"mult=10.0 needs a margin"),
        ({"margin": 0.0}, r"margin=0.0 must be a number > 0"),
        ({"stake": float("inf")}, r"stake=inf must be a finite number"),
    ],
)
def test_bad_broker_settings_are_named(settings, expected):
    with pytest.raises(ParameterError, match=expected):
        BrokerConfig(**settings)


def test_unknown_engine_lists_the_engines(synthetic_bars):
    with pytest.raises(ParameterError, match="unknown engine 'zipline'; valid engines: auto, fast, backtrader"):
        run_backtest(synthetic_bars, "sma_cross", engine="zipline")
