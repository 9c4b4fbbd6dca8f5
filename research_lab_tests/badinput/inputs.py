"""Bad input files the cases refer to as ``{in}/NAME``: config files, CSV source files, search
spaces. Each is small and wrong in one way."""

from __future__ import annotations

from pathlib import Path

YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD_ROWS = [f"2023-01-{d:02d},10,11,9,10.5,10.5,1000\n" for d in (3, 4, 5, 6, 9, 10)]


def _csv(rows: list[str]) -> str:
    return YAHOO + "".join(rows)


FILES: dict[str, str | bytes] = {
    # config files (RESEARCH_LAB_CONFIG, --config)
    "malformed.yaml": "source:\n  kind: [synthetic\n",
    "list.yaml": "- a\n- b\n",
    "unknown_key.yaml": "sources: {kind: synthetic}\n",
    "negative_seed.yaml": "source: {kind: synthetic, seed: -1}\n",
    "universe_number.yaml": "universe: 5\n",
    "universe_bad_symbol.yaml": "universe: ['../../etc/passwd']\n",
    "zero_limit.yaml": "quality: {max_abs_log_return: 0}\n",
    "stale_one.yaml": "quality: {stale_run: 1}\n",
    "bad_kind.yaml": "source: {kind: ftp}\n",
    "tabs.yaml": "source:\n\tkind: synthetic\n",
    "not_utf8.yaml": b"\xff\xfe\x00source: x\n",
    "optimize_malformed.yaml": "study: {n_trials: [\n",
    "optimize_unknown.yaml": "studdy: {n_trials: 5}\n",
    "optimize_negative.yaml": "study: {n_trials: -5}\n",
    "rl_malformed.yaml": "train: {timesteps: [\n",
    # search spaces (--param-space)
    "space_malformed.yaml": "params:\n  fast: {type: int, low: 5\n",
    "space_unknown_param.yaml": "params:\n  nope: {type: int, low: 1, high: 5}\n",
    "space_low_above_high.yaml": "params:\n  fast: {type: int, low: 50, high: 5}\n",
    "space_constraint.yaml": ("params:\n  fast: {type: int, low: 5, high: 50}\n"
                              "constraints: ['__import__(\"os\")']\n"),
    # CSV source files (--csv)
    "dayfirst.csv": _csv([f"{d:02d}/01/2023,10,11,9,10.5,10.5,1000\n"
                          for d in (9, 10, 11, 12, 13, 16, 17, 18)]),
    "six_rows.csv": _csv(GOOD_ROWS),
    "text_price.csv": _csv(GOOD_ROWS[:3] + ["2023-01-06,10,11,9,abc,10.5,1000\n"]),
    "huge_price.csv": _csv(GOOD_ROWS[:3] + ["2023-01-06,10,1e308,9,1e308,1e308,1000\n"]),
    "negative_price.csv": _csv(GOOD_ROWS[:3] + ["2023-01-06,10,11,9,-10.5,10.5,1000\n"]),
    "high_below_low.csv": _csv(GOOD_ROWS[:3] + ["2023-01-06,10,8,9,8.5,8.5,1000\n"]),
    "unsorted.csv": _csv([GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[1]]),
    "duplicate.csv": _csv([GOOD_ROWS[0], GOOD_ROWS[0]]),
    "header_only.csv": YAHOO,
    "no_header.csv": "".join(GOOD_ROWS),
    "future.csv": _csv(GOOD_ROWS[:3] + ["2099-01-06,10,11,9,10.5,10.5,1000\n"]),
    "nan_price.csv": _csv(GOOD_ROWS[:3] + ["2023-01-06,10,11,9,nan,10.5,1000\n"]),
    "binary.csv": b"\x00\x01\x02\xff" * 100,
}


def write_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in FILES.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder
