"""Search spaces: files in YAML and JSON, validation errors that name the file and parameter."""

import json

import optuna
import pytest

from research_lab.core.optimize.space import SpaceError, default_space, load_space
from research_lab.core.backtest.params import DEFAULT_SPACES_PATH

SPACES = DEFAULT_SPACES_PATH.parent / "param_spaces"


def write(tmp_path, text, name="space.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_example_files_load_with_their_types():
    sma = load_space(SPACES / "sma_cross.yaml")
    assert sma.strategy == "sma_cross" and sma.names == ("fast", "slow")
    assert "fast < slow" in [str(c) for c in sma.constraints]
    rsi = load_space(SPACES / "rsi_reversion.json")
    assert [d.kind for d in rsi.dims] == ["int", "float", "float"]
    boll = load_space(SPACES / "bollinger.yaml")
    assert boll.dims[0].log and boll.dims[0].step is None and boll.dims[1].step is None
    macd = load_space(SPACES / "macd.yaml")
    assert macd.dims[3].choices == ("signal", "zero")
    assert isinstance(macd.distributions()["cross"], optuna.distributions.CategoricalDistribution)
    assert load_space(SPACES / "sma_cross_grid1000.yaml").size() == 1000


def test_fixed_values_and_defaults_fill_the_rest(tmp_path):
    p = write(tmp_path, "strategy: bollinger\nparams:\n  period: {type: int, low: 10, high: 30}\n"
                        "  devfactor: 2.5\n")
    space = load_space(p)
    assert space.names == ("period",) and space.fixed == {"devfactor": 2.5}
    rsi = load_space(write(tmp_path, "params:\n  period: {type: int, low: 5, high: 9}\n"),
                     strategy="rsi_reversion")
    assert rsi.complete({"period": 7}) == {"period": 7, "lower": 30.0, "upper": 70.0}


@pytest.mark.parametrize("body, needle", [
    ("strategy: sma_cross\nparams:\n  fsat: {type: int, low: 2, high: 9}\n",
     "params.fsat: unknown parameter for strategy sma_cross; valid: fast, slow"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 50, high: 20}\n",
     "params.fast: empty range: low 50 > high 20"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 5, high: 9, step: 10}\n",
     "params.fast: empty range: step 10 is larger than high - low"),
    ("strategy: sma_cross\nparams:\n  fast: {type: integer, low: 5, high: 9}\n",
     "params.fast: bad type 'integer'; expected one of ['int', 'float', 'categorical']"),
    ("strategy: sma_cross\nparams:\n  fast: {type: float, low: 5, high: 9}\n",
     "params.fast: bad type 'float': the strategy's parameter is int"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: five, high: 9}\n",
     "params.fast: low must be a finite number, got 'five'"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 1, high: 9}\n",
     "params.fast: range [1, 9] is outside the strategy's bounds [2, 200]"),
    ("strategy: bollinger\nparams:\n  devfactor: {type: float, low: 0.1, high: 2}\n",
     "params.devfactor: range [0.1, 2] is outside the strategy's bounds [0.5, 4]"),
    ("strategy: momentum\nparams:\n  threshold: {type: float, low: 0, high: 0.2, log: true}\n",
     "params.threshold: a log range needs low > 0"),
    ("strategy: macd\nparams:\n  cross: {type: categorical, choices: [signal, up]}\n",
     "params.cross: choice(s) ['up'] not accepted by the strategy; valid: ['signal', 'zero']"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 5, high: 9}\n"
     "constraints: ['fast < slwo']\n", "bad constraint 'fast < slwo'"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 100, high: 150}\n"
     "  slow: {type: int, low: 20, high: 90}\n", "no point of the space satisfies"),
    ("strategy: nope\nparams:\n  fast: {type: int, low: 5, high: 9}\n",
     "unknown strategy 'nope'"),
    ("strategy: sma_cross\nparams: {}\n", "'params' must be a non-empty mapping"),
    ("strategy: sma_cross\nparams:\n  fast: {type: int, low: 5, high: 9, lo: 1}\n",
     "params.fast: unknown key(s) ['lo']"),
    ("params: [1, 2\n", "not valid YAML"),
])
def test_bad_spaces_name_the_file_and_the_parameter(tmp_path, body, needle):
    p = write(tmp_path, body)
    with pytest.raises(SpaceError) as err:
        load_space(p)
    assert str(err.value).startswith(str(p)), err.value
    assert needle in str(err.value)


def test_json_files_and_strategy_mismatch(tmp_path):
    p = write(tmp_path, json.dumps({"params": {"period": {"type": "int", "low": 5,
                                                          "high": 50}}}), "s.json")
    assert load_space(p, strategy="close_sma_cross").names == ("period",)
    with pytest.raises(SpaceError, match="not valid JSON"):
        load_space(write(tmp_path, "{nope", "bad.json"))
    with pytest.raises(SpaceError, match="is for strategy 'sma_cross', not 'ema_cross'"):
        load_space(SPACES / "sma_cross.yaml", strategy="ema_cross")
    with pytest.raises(SpaceError, match="parameter space file not found"):
        load_space(tmp_path / "missing.yaml")


def test_default_space_comes_from_the_strategy_library():
    space = default_space("sma_cross")
    assert [(d.name, d.low, d.high) for d in space.dims] == [("fast", 2, 200), ("slow", 3, 400)]
    assert space.feasible({"fast": 5, "slow": 10}) and not space.feasible({"fast": 50, "slow": 10})
    again = type(space).from_dict(space.to_dict())
    assert again.dims == space.dims and again.constraints == space.constraints
