"""The CSV directory source: real Yahoo files, generic files, and every way a file can be bad."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research_lab.core.marketdata.schema import BAR_COLUMNS, BarValidationError
from research_lab.core.marketdata.sources import (
    CsvDirSource,
    SourceError,
    make_source,
    symbol_for_stem,
)

YAHOO_HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
GOOD_ROWS = [
    "2024-01-02,10.0,11.0,9.5,10.5,10.4,1000",
    "2024-01-03,10.5,11.5,10.0,11.0,10.9,2000",
    "2024-01-04,11.0,12.0,10.5,11.5,11.4,3000",
]
ALL_YEARS = (date(1990, 1, 1), date(2030, 12, 31))


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def read_yahoo_text(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# -- the real files in ../shared/data ------------------------------------------------------------


def test_orcl_matches_the_file_exactly(shared_data):
    source = CsvDirSource(shared_data)
    bars = source.fetch("ORCL", *ALL_YEARS)
    rows = read_yahoo_text(shared_data / "orcl-1995-2014.txt")
    assert len(bars) == len(rows) == 5036
    assert bars["session"].iloc[0] == pd.Timestamp("1995-01-03")
    assert bars["session"].iloc[-1] == pd.Timestamp("2014-12-31")
    assert tuple(bars.columns) == BAR_COLUMNS and (bars["symbol"] == "ORCL").all()
    for column, name in [("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close"),
                         ("adj_close", "Adj Close"), ("volume", "Volume")]:
        expected = np.array([float(r[name]) for r in rows])
        assert np.array_equal(bars[column].to_numpy(), expected), column
    assert bars["timestamp"].iloc[-1] == pd.Timestamp("2014-12-31 21:00Z")


@pytest.mark.parametrize(
    "symbol, rows, first, last",
    [
        ("NVDA", 4012, "1999-01-22", "2014-12-31"),
        ("YHOO", 4965, "1996-04-12", "2015-12-31"),
        ("2006-DAY-001", 255, "2006-01-02", "2006-12-29"),
        ("2005-2006-DAY-001", 512, "2005-01-03", "2006-12-29"),
    ],
)
def test_each_real_file_reads(shared_data, symbol, rows, first, last):
    bars = CsvDirSource(shared_data).fetch(symbol, *ALL_YEARS)
    assert len(bars) == rows
    assert bars["session"].iloc[0] == pd.Timestamp(first)
    assert bars["session"].iloc[-1] == pd.Timestamp(last)


def test_symbols_of_the_real_folder(shared_data):
    source = CsvDirSource(shared_data)
    assert source.symbols() == ["2005-2006-DAY-001", "2006-DAY-001", "NVDA", "ORCL", "YHOO"]
    mapped = CsvDirSource(shared_data, symbols_map={"2006-DAY-001.txt": "idx06",
                                                    "2005-2006-day-001": "IDX0506"})
    assert mapped.symbols() == ["IDX0506", "IDX06", "NVDA", "ORCL", "YHOO"]


def test_index_row_on_an_nyse_holiday_is_kept_at_16_new_york(shared_data):
    bars = CsvDirSource(shared_data).fetch("2006-DAY-001", date(2006, 1, 2), date(2006, 1, 3))
    assert bars["session"].tolist() == [pd.Timestamp("2006-01-02"), pd.Timestamp("2006-01-03")]
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2006-01-02 21:00Z")  # 16:00 New York
    assert (bars["adj_close"] == bars["close"]).all()  # no Adj Close column: the close


def test_ranges_slice_and_holidays_are_empty(shared_data):
    source = make_source("csv", directory=shared_data)
    assert len(source.fetch("ORCL", date(2014, 1, 1), date(2014, 1, 31))) == 21
    assert source.fetch("ORCL", date(2014, 7, 4), date(2014, 7, 4)).empty
    assert source.fetch("ORCL", date(1990, 1, 1), date(1994, 12, 31)).empty
    one = source.fetch("orcl", date(2014, 11, 28), date(2014, 11, 28))
    assert one["timestamp"].iloc[0] == pd.Timestamp("2014-11-28 18:00Z")  # early close


# -- formats, symbols, listing ---------------------------------------------------------------------


def test_symbol_rule():
    assert symbol_for_stem("orcl-1995-2014") == "ORCL"
    assert symbol_for_stem("brk-b") == "BRK-B"
    assert symbol_for_stem("2006-day-001") == "2006-DAY-001"


def test_generic_ohlcv_csv(tmp_path):
    write(tmp_path, "spy.csv", [
        " session , OPEN,high,low,Close,volume,OpenInterest",
        "2024-07-02,1,2,0.5,1.5,10,7",
        "2024-07-03,1.5,2,1,1.8,20,7",
    ])
    write(tmp_path, "notes.md", ["not data"])
    bars = CsvDirSource(tmp_path).fetch("SPY", date(2024, 7, 1), date(2024, 7, 31))
    assert bars["close"].tolist() == [1.5, 1.8]
    assert bars["adj_close"].tolist() == [1.5, 1.8]
    assert bars["timestamp"].tolist() == [pd.Timestamp("2024-07-02 20:00Z"),
                                          pd.Timestamp("2024-07-03 17:00Z")]


def test_timestamp_column_with_time_and_offset_counts_as_its_new_york_day(tmp_path):
    write(tmp_path, "qqq.txt", [
        "timestamp,open,high,low,close,adj close,volume",
        "2024-07-02 16:00:00-04:00,1,2,0.5,1.5,1.4,10",
        "2024-07-04T01:00:00Z,1.5,2,1,1.8,1.7,20",  # 21:00 New York on July 3rd
    ])
    bars = CsvDirSource(tmp_path).fetch("QQQ", date(2024, 7, 1), date(2024, 7, 31))
    assert bars["session"].tolist() == [pd.Timestamp("2024-07-02"), pd.Timestamp("2024-07-03")]
    assert bars["adj_close"].tolist() == [1.4, 1.7]


def test_list_files_reports_changes_and_the_cache_follows_them(tmp_path):
    path = write(tmp_path, "abc.csv", [YAHOO_HEADER, *GOOD_ROWS])
    source = CsvDirSource(tmp_path)
    (f,) = source.list_files()
    assert (f.symbol, f.path, f.size) == ("ABC", path, path.stat().st_size)
    assert source.fetch("ABC", *ALL_YEARS)["close"].iloc[-1] == 11.5
    write(tmp_path, "abc.csv", [YAHOO_HEADER, *GOOD_ROWS[:2], GOOD_ROWS[2].replace("11.5", "11.6")])
    os.utime(path, (f.mtime + 10, f.mtime + 10))
    assert source.list_files()[0].mtime == f.mtime + 10
    assert source.fetch("ABC", *ALL_YEARS)["close"].iloc[-1] == 11.6


def test_fetched_frames_are_copies(tmp_path):
    write(tmp_path, "abc.csv", [YAHOO_HEADER, *GOOD_ROWS])
    source = CsvDirSource(tmp_path)
    bars = source.fetch("ABC", *ALL_YEARS)
    bars.loc[0, "close"] = 99.0
    assert source.fetch("ABC", *ALL_YEARS)["close"].iloc[0] == 10.5


def test_two_files_for_one_symbol_is_an_error(tmp_path):
    write(tmp_path, "orcl-1995-2014.txt", [YAHOO_HEADER, *GOOD_ROWS])
    write(tmp_path, "ORCL.csv", [YAHOO_HEADER, *GOOD_ROWS])
    with pytest.raises(SourceError, match="ORCL.csv and orcl-1995-2014.txt .* give symbol ORCL"):
        CsvDirSource(tmp_path).symbols()


# -- failures -------------------------------------------------------------------------------------


def test_missing_directory_file_and_symbol(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        CsvDirSource(tmp_path / "nope").symbols()
    write(tmp_path, "abc.csv", [YAHOO_HEADER, *GOOD_ROWS])
    source = CsvDirSource(tmp_path)
    with pytest.raises(SourceError, match="no file for 'XYZ'.*symbols: ABC"):
        source.fetch("XYZ", *ALL_YEARS)
    with pytest.raises(SourceError, match="cannot read .*gone.csv"):
        source.read(tmp_path / "gone.csv")


def test_empty_file_is_a_source_error(tmp_path):
    (tmp_path / "abc.csv").write_text("")
    with pytest.raises(SourceError, match="cannot parse .*abc.csv for ABC"):
        CsvDirSource(tmp_path).fetch("ABC", *ALL_YEARS)


def test_header_only_file_has_no_bars(tmp_path):
    write(tmp_path, "abc.csv", [YAHOO_HEADER])
    assert CsvDirSource(tmp_path).fetch("ABC", *ALL_YEARS).empty


BAD_CASES = [
    # (what, row to replace (0-based data row) or None, replacement line, line, field, message)
    ("unparsable date", 1, "2024-13-45,10.5,11.5,10.0,11.0,10.9,2000", 3, "Date", "unparsable"),
    ("unparsable number", 2, "2024-01-04,11.0,12.x,10.5,11.5,11.4,3000", 4, "High", "not a number"),
    ("yahoo null row", 1, "2024-01-03,null,null,null,null,null,null", 3, "Open", "null value"),
    ("NaN", 2, "2024-01-04,11.0,12.0,10.5,NaN,11.4,3000", 4, "Close", "missing value"),
    ("empty field", 2, "2024-01-04,11.0,12.0,10.5,11.5,,3000", 4, "Adj Close", "missing value"),
    ("duplicate date", 2, "2024-01-03,11.0,12.0,10.5,11.5,11.4,3000", 4, "Date",
     "duplicate date 2024-01-03 (already on line 3)"),
    ("unsorted rows", 2, "2024-01-01,11.0,12.0,10.5,11.5,11.4,3000", 4, "Date", "not sorted"),
    ("high below low", 0, "2024-01-02,10.0,9.0,9.5,9.6,9.6,1000", 2, "High", "below low"),
    ("zero price", 1, "2024-01-03,0,11.5,10.0,11.0,10.9,2000", 3, "Open", "must be positive"),
    ("negative price", 1, "2024-01-03,10.5,11.5,-1,11.0,10.9,2000", 3, "Low", "must be positive"),
    ("negative volume", 2, "2024-01-04,11.0,12.0,10.5,11.5,11.4,-3", 4, "Volume", "negative"),
]


@pytest.mark.parametrize("what, row, line_text, line, field, message", BAD_CASES,
                         ids=[c[0] for c in BAD_CASES])
def test_bad_rows_name_file_line_and_field(tmp_path, what, row, line_text, line, field, message):
    rows = list(GOOD_ROWS)
    rows[row] = line_text
    path = write(tmp_path, "bad-2024-2024.csv", [YAHOO_HEADER, *rows])
    with pytest.raises(BarValidationError) as err:
        CsvDirSource(tmp_path).fetch("BAD", *ALL_YEARS)
    e = err.value
    assert (e.source, e.row, e.field) == (str(path), line, field)
    assert f"{path}, line {line}, field {field!r}" in str(e)
    assert message in str(e)


def test_missing_column_names_the_header_line(tmp_path):
    header = "Date,Open,High,Low,Adj Close,Volume"  # no Close
    path = write(tmp_path, "abc.csv", [header, "2024-01-02,1,2,1,1,1"])
    with pytest.raises(BarValidationError, match="missing column.*close") as err:
        CsvDirSource(tmp_path).fetch("ABC", *ALL_YEARS)
    assert (err.value.source, err.value.row, err.value.field) == (str(path), 1, "close")


def test_line_numbers_count_blank_lines(tmp_path):
    path = tmp_path / "abc.csv"
    path.write_text(f"{YAHOO_HEADER}\n{GOOD_ROWS[0]}\n\n{GOOD_ROWS[1]}\n2024-01-04,1,1,1,x,1,1\n\n")
    with pytest.raises(BarValidationError) as err:
        CsvDirSource(tmp_path).fetch("ABC", *ALL_YEARS)
    assert (err.value.row, err.value.field) == (5, "Close")


def test_blank_lines_are_not_rows(tmp_path):
    path = tmp_path / "abc.csv"
    path.write_text(f"{YAHOO_HEADER}\n{GOOD_ROWS[0]}\n\n{GOOD_ROWS[1]}\n\n")
    assert len(CsvDirSource(tmp_path).fetch("ABC", *ALL_YEARS)) == 2
