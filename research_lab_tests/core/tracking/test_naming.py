import pytest

from research_lab.core.tracking.naming import ExperimentName, NamingError, Scope


def test_parse_splits_the_four_parts_and_round_trips():
    name = ExperimentName.parse("Q1_2025.Equities.MeanReversion.SMACrossover")
    assert (name.project, name.asset_class, name.strategy_family, name.strategy) == (
        "Q1_2025", "Equities", "MeanReversion", "SMACrossover")
    assert str(name) == "Q1_2025.Equities.MeanReversion.SMACrossover"
    assert name.tags() == {"project": "Q1_2025", "asset_class": "Equities",
                           "strategy_family": "MeanReversion", "strategy": "SMACrossover"}


@pytest.mark.parametrize("text, fragment", [
    ("Q1_2025.Equities.SMACrossover", "has 3 part(s); expected 4"),
    ("Q1_2025.Equities.MeanReversion.SMA.Extra", "has 5 part(s)"),
    ("Q1_2025..MeanReversion.SMACrossover", "AssetClass '' is empty"),
    ("Q1 2025.Equities.MeanReversion.SMACrossover", "Project 'Q1 2025' must start"),
    ("Q1_2025.Equities.Mean/Reversion.SMACrossover", "StrategyFamily 'Mean/Reversion'"),
    ("Q1_2025.Equities.MeanReversion._sma", "Strategy '_sma' must start"),
    ("Q1_2025.Equities.MeanReversion." + "S" * 65, "longer than 64"),
])
def test_bad_names_are_refused_naming_the_part(text, fragment):
    with pytest.raises(NamingError) as err:
        ExperimentName.parse(text)
    assert fragment in str(err.value)


def test_constructor_validates_too_and_naming_error_is_a_value_error():
    with pytest.raises(ValueError, match="contains a dot"):
        ExperimentName("Q1.2025", "Equities", "MeanReversion", "SMA")


def test_scope_matches_prefixes_and_prints_wildcards():
    name = ExperimentName.parse("Q1_2025.Equities.MeanReversion.SMACrossover")
    assert Scope().matches(name)
    assert Scope("Q1_2025", "Equities").matches(name)
    assert not Scope("Q1_2025", "Futures").matches(name)
    assert str(Scope("Q1_2025", None, "MeanReversion")) == "Q1_2025.*.MeanReversion"
    assert str(Scope()) == "*"
    with pytest.raises(NamingError):
        Scope("bad project")
