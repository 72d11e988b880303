"""The journal_lines filter maps to plugin_utils.logs.lines."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.filter.journal_lines import FilterModule


def test_filter_merges_and_keeps_the_last():
    f = FilterModule().filters()["journal_lines"]
    by_host = {"b": [{"time_us": 2, "unit": "u", "message": "two"}], "a": [{"time_us": 1, "unit": "u", "message": "one"}]}
    assert f(by_host) == ["1970-01-01T00:00:00.000001Z a u: one", "1970-01-01T00:00:00.000002Z b u: two"]
    assert f(by_host, last="1") == ["1970-01-01T00:00:00.000002Z b u: two"]
