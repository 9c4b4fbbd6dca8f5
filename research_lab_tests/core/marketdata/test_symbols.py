"""Symbol names are validated once, before anything is registered."""

import pytest

from research_lab.core.marketdata.symbols import MAX_SYMBOL_LENGTH, validate_symbol, validate_symbols


@pytest.mark.parametrize("name, normalized", [
    (" brk.b ", "BRK.B"), ("^GSPC", "^GSPC"), ("BRK-B", "BRK-B"), ("ES=F", "ES=F"),
    ("A" * MAX_SYMBOL_LENGTH, "A" * MAX_SYMBOL_LENGTH),
])
def test_ticker_forms_are_accepted(name, normalized):
    assert validate_symbol(name) == normalized


@pytest.mark.parametrize("name, why", [
    ("AAA|BBB", "'|'"), ("a/b", "'/'"), ("a\\b", "'\\\\'"), ('A"B', "quote"), ("A'B", "quote"),
    ("A,B", "','"), ("A\x00B", "control character"), ("A\tB", "control character"),
    ("A B", "whitespace"), ("", "empty"), ("  ", "empty"),
    ("A" * (MAX_SYMBOL_LENGTH + 1), f"at most {MAX_SYMBOL_LENGTH}"), (42, "must be text"),
])
def test_bad_names_are_refused_with_the_reason(name, why):
    with pytest.raises(ValueError) as err:
        validate_symbol(name)
    assert why in str(err.value)
    assert "\n" not in str(err.value)


def test_list_stops_at_the_first_bad_name():
    assert validate_symbols(["acme", "ACME", "globex"]) == ["ACME", "GLOBEX"]
    with pytest.raises(ValueError, match="B\\|C"):
        validate_symbols(["A", "B|C"])


def test_config_universe_is_validated(tmp_path):
    from research_lab.core.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="universe symbol 'A\\|B'"):
        load_settings(env={"RESEARCH_LAB_UNIVERSE": "ACME,A|B", "RESEARCH_LAB_HOME": str(tmp_path)})
