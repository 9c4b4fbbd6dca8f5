"""Loading strategies by dotted path and by file, their parameters, and every loading error:
one line naming the strategy, the file and the line."""

from __future__ import annotations

import textwrap

import pytest

from research_lab.core.backtest import run_backtest
from research_lab.core.strategies import StrategyError, discover, get_strategy

from .conftest import write_module

BT_OK = """
import backtrader as bt

class Ok(bt.Strategy):
    params = (("period", 5), ("level", 0.5), ("verbose", False), ("tag", "x"))

    def next(self):
        if not self.position:
            self.buy()
"""


def test_dotted_path_from_strategy_path(examples):
    ref = get_strategy("strategies.sma_crossover.SMACrossover", [examples])
    assert (ref.name, ref.kind) == ("SMACrossover", "backtrader")
    assert ref.file.endswith("sma_crossover.py") and ref.line == 7
    assert len(ref.code_version) == 16
    assert ref.space.defaults() == {"fast": 10, "slow": 30, "printlog": False}
    assert get_strategy("SMACrossover").cls is ref.cls  # known by its name afterwards


def test_file_reference(examples):
    ref = get_strategy(f"{examples}/strategies/fast_breakout.py:CloseBreakout")
    assert (ref.name, ref.kind) == ("close_breakout", "fast")
    assert ref.space.resolve({"period": "30"}) == {"period": 30, "exit_period": 10}


def test_backtrader_params_take_their_type_from_the_default(tmp_path):
    write_module(tmp_path, "okmod", BT_OK)
    ref = get_strategy(f"{tmp_path}/okmod.py:Ok")
    assert {p.name: p.type for p in ref.space.params} == {
        "period": "int", "level": "float", "verbose": "bool", "tag": "str"}
    assert ref.resolve({"period": "7", "level": "2", "verbose": "true", "tag": 3}) == {
        "period": 7, "level": 2.0, "verbose": True, "tag": "3"}
    with pytest.raises(StrategyError, match=r"period='7.5' is invalid"):
        ref.resolve({"period": "7.5"})
    with pytest.raises(StrategyError, match=r"Ok: unknown parameter\(s\) perod.*okmod.py:4"):
        ref.resolve({"perod": 3})


def test_changing_the_file_changes_the_code_version(tmp_path):
    from research_lab.core.strategies._ref import file_hash

    path = write_module(tmp_path, "okmod2", BT_OK)
    before = get_strategy(f"{path}:Ok").code_version
    path.write_text(BT_OK + "\n# edited\n")
    assert file_hash(str(path)) != before


@pytest.mark.parametrize(
    ("body", "reference", "expected"),
    [
        ("import backtrader as bt\nx = 1 / 0\n", "boom.py:X", r"boom\.py:2: ZeroDivisionError"),
        ("def broken(:\n", "syntax.py:X", r"syntax\.py:1: SyntaxError"),
        ("import backtrader as bt\nclass Plain:\n    pass\n", "plain.py:Plain",
         r"Plain \(.*plain\.py:2\): not a strategy"),
        ("VALUE = 3\n", "novalue.py:Missing", r"novalue\.py defines no 'Missing'"),
        ("from research_lab.core.strategies import FastStrategy\n"
         "class NoName(FastStrategy):\n    def signal(self, bars, p):\n        return None\n",
         "noname.py:NoName", r"noname\.py:2\): breaks the fast-strategy contract: name"),
        ("from research_lab.core.strategies import FastStrategy\n"
         "class Both(FastStrategy):\n    name = 'both'\n    def signal(self, b, p):\n"
         "        return None\n    def rule(self, p):\n        return None\n",
         "both.py:Both", r"define exactly one of signal"),
        ("from research_lab.core.strategies import FastStrategy, Int\n"
         "class BadDefault(FastStrategy):\n    name = 'bad_default'\n"
         "    params = {'n': Int(500, 1, 10)}\n    def signal(self, b, p):\n        return None\n",
         "baddefault.py:BadDefault", r"bad_default \(.*baddefault\.py:2\): .*n=500 is invalid"),
    ],
)
def test_loading_errors_name_the_file_and_line(tmp_path, body, reference, expected):
    write_module(tmp_path, reference.split(".py")[0], body)
    with pytest.raises(StrategyError, match=expected):
        get_strategy(f"{tmp_path}/{reference}")


def test_unknown_module_and_unknown_name():
    with pytest.raises(StrategyError, match="no module named 'nowhere_pkg'"):
        get_strategy("nowhere_pkg.mod.Cls")
    with pytest.raises(StrategyError, match="unknown strategy 'smacross'; valid strategies: .*sma_cross"):
        get_strategy("smacross")


def test_a_strategy_that_raises_during_the_run_names_its_line(tmp_path, year_bars):
    write_module(tmp_path, "raiser", textwrap.dedent("""
        import backtrader as bt

        class Raiser(bt.Strategy):
            def next(self):
                if len(self) == 20:
                    raise RuntimeError("bad bar")
    """))
    with pytest.raises(StrategyError, match=r"Raiser raised during the run: .*raiser\.py:7: "
                                            r"RuntimeError: bad bar"):
        run_backtest(year_bars["ACME"], f"{tmp_path}/raiser.py:Raiser")


def test_a_fast_signal_of_the_wrong_shape_is_refused(tmp_path, year_bars):
    write_module(tmp_path, "shape", textwrap.dedent("""
        import numpy as np
        from research_lab.core.strategies import FastStrategy

        class Short(FastStrategy):
            name = "short_signal"
            def signal(self, bars, p):
                return np.ones(3)
    """))
    with pytest.raises(StrategyError, match=r"short_signal .*must return one float per bar"):
        run_backtest(year_bars["ACME"], f"{tmp_path}/shape.py:Short")


def test_a_fast_strategy_does_not_run_on_several_symbols(year_bars):
    with pytest.raises(ValueError, match="sma_cross is a fast strategy: it runs on one symbol"):
        run_backtest(year_bars["ACME"], "sma_cross", feeds=[year_bars["GLOBEX"]])


def test_discovery_registers_a_folder_and_lists_what_failed(tmp_path, monkeypatch, examples):
    write_module(tmp_path, "good_one", BT_OK)
    write_module(tmp_path, "bad_one", "raise ImportError('missing dependency')\n")
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", f"{tmp_path}")
    found = discover()
    assert found.strategies["Ok"].kind == "backtrader"
    assert "sma_cross" in found.strategies  # the built-ins stay
    assert len(found.problems) == 1 and "bad_one.py:1: ImportError" in found.problems[0]


def test_duplicate_names_are_a_problem_not_a_silent_override(tmp_path, monkeypatch):
    write_module(tmp_path, "dup_a", BT_OK)
    write_module(tmp_path, "dup_b", BT_OK)
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", f"{tmp_path}")
    found = discover()
    assert found.strategies["Ok"].file.endswith("dup_a.py")
    assert any("the name is taken by" in p and "dup_b.py" in p for p in found.problems)
