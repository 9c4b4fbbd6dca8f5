"""The bar schema: what validate_bars accepts, normalizes and refuses (and where it says)."""

from __future__ import annotations

import pandas as pd
import pytest

from research_lab.core.marketdata.schema import (
    BAR_COLUMNS,
    BarValidationError,
    RowNumbering,
    data_version,
    empty_bars,
    validate_bars,
)


def bars(n: int = 3, symbol: str = "abc") -> pd.DataFrame:
    sessions = pd.date_range("2024-01-02", periods=n, freq="B")
    return pd.DataFrame(
        {
            "symbol": symbol,
            "session": sessions,
            "timestamp": (sessions + pd.Timedelta(hours=21)).tz_localize("UTC"),
            "open": [10.0 + i for i in range(n)],
            "high": [11.0 + i for i in range(n)],
            "low": [9.0 + i for i in range(n)],
            "close": [10.5 + i for i in range(n)],
            "adj_close": [10.4 + i for i in range(n)],
            "volume": [1000 + i for i in range(n)],
        }
    )


def test_valid_frame_is_normalized():
    frame = bars()
    frame["extra"] = 1
    out = validate_bars(frame[list(reversed(frame.columns))])
    assert tuple(out.columns) == BAR_COLUMNS
    assert (out["symbol"] == "ABC").all()
    assert str(out["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(out["session"].dtype) == "datetime64[ns]"
    assert out["volume"].dtype == "float64"


def test_strings_are_parsed():
    frame = bars().astype({"open": str, "session": str, "timestamp": str})
    out = validate_bars(frame)
    assert out["open"].tolist() == [10.0, 11.0, 12.0]
    assert out["session"].iloc[0] == pd.Timestamp("2024-01-02")


def test_empty_frame_gives_typed_empty_bars():
    out = validate_bars(bars().iloc[0:0])
    assert out.empty and tuple(out.columns) == BAR_COLUMNS
    assert out.dtypes.equals(empty_bars().dtypes)


def _broken(column: str, pos: int, value) -> pd.DataFrame:
    frame = bars().astype({column: object})
    frame.loc[pos, column] = value
    return frame


@pytest.mark.parametrize(
    "column, pos, value, field, message",
    [
        ("close", 1, "abc", "close", "not a number: 'abc'"),
        ("close", 1, "null", "close", "not a number: 'null'"),
        ("close", 2, float("nan"), "close", "missing value"),
        ("volume", 2, "", "volume", "missing value"),
        ("open", 1, 0.0, "open", "price must be positive"),
        ("low", 0, -1.0, "low", "price must be positive"),
        ("volume", 1, -5, "volume", "volume must not be negative"),
        ("high", 1, 5.0, "high", "is below low"),
        ("open", 1, 12.5, "open", "outside [low"),
        ("session", 2, "not a date", "session", "unparsable date"),
        ("symbol", 0, " ", "symbol", "symbol is empty"),
    ],
)
def test_bad_values_name_row_and_field(column, pos, value, field, message):
    with pytest.raises(BarValidationError) as err:
        validate_bars(_broken(column, pos, value), source="f.csv")
    assert err.value.field == field
    assert err.value.row == pos
    assert err.value.source == "f.csv"
    assert message in str(err.value)


def test_missing_column():
    with pytest.raises(BarValidationError, match="missing column.*adj_close") as err:
        validate_bars(bars().drop(columns=["adj_close"]))
    assert err.value.field == "adj_close"


def test_duplicate_and_unsorted_timestamps_use_file_line_numbers():
    dup = bars()
    dup.loc[2, "timestamp"] = dup.loc[1, "timestamp"]
    with pytest.raises(BarValidationError, match="duplicate timestamp") as err:
        validate_bars(dup, source="x.csv", numbering=RowNumbering.csv_lines())
    assert (err.value.row, err.value.field) == (4, "timestamp")
    assert "x.csv, line 4, field 'timestamp'" in str(err.value)

    unsorted = bars().iloc[[0, 2, 1]].reset_index(drop=True)
    with pytest.raises(BarValidationError, match="not sorted") as err:
        validate_bars(unsorted, numbering=RowNumbering.csv_lines())
    assert err.value.row == 4


def test_row_positions_map_back_to_the_original_rows():
    frame = _broken("close", 2, "oops")
    with pytest.raises(BarValidationError) as err:
        validate_bars(frame, numbering=RowNumbering.csv_lines(), row_positions=[0, 5, 9])
    assert err.value.row == 11


def test_several_symbols_are_sorted_each_by_time():
    both = pd.concat([bars(symbol="zz"), bars(symbol="aa")], ignore_index=True)
    out = validate_bars(both)
    assert out["symbol"].tolist() == ["AA"] * 3 + ["ZZ"] * 3


def test_data_version_is_stable_and_content_sensitive():
    frame = validate_bars(bars())
    assert data_version(frame) == data_version(frame.iloc[::-1].reset_index(drop=True))
    changed = frame.copy()
    changed.loc[1, "close"] = 11.6
    assert data_version(changed) != data_version(frame)
    assert data_version(empty_bars()) == "empty"
