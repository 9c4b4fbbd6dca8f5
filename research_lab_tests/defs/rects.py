"""What a market_data run request asks for, read back from its tags and run config."""

from datetime import date

from research_lab.defs.marketdata.requests import END_TAG, START_TAG
from research_lab.defs.partitions import split_market_key


def rect(request) -> tuple[str, str, date, date]:
    """(first symbol, last symbol, first session, last session) of a run request; checks that
    its partition range is the years of its session range and that its run config restricts
    it to the sessions of its tags."""
    rng = request.partition_key_range
    (s0, y0), (s1, y1) = split_market_key(rng.start), split_market_key(rng.end)
    start = date.fromisoformat(request.tags[START_TAG])
    end = date.fromisoformat(request.tags[END_TAG])
    assert (y0, y1) == (start.year, end.year), request
    config = request.run_config["ops"]["market_data"]["config"]
    assert config == {"start": start.isoformat(), "end": end.isoformat()}, request
    return s0, s1, start, end
