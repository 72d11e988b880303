"""The journals of several hosts merged in time order."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import logs

S = 1_764_650_000_000_000  # 2025-12-02T04:33:20Z in microseconds


def rec(dt_us, unit, message):
    return {"time_us": S + dt_us, "unit": unit, "message": message}


BY_HOST = {
    "web2": [rec(5, "g@0", "second"), rec(30, "g@1", "fourth")],
    "web1": [rec(1, "g@0", "first"), rec(20, "g@0", "third\ncontinued")],
    "handlers1": [],
}


def test_merged_in_time_order_with_host_and_unit():
    assert logs.lines(BY_HOST) == [
        "2025-12-02T04:33:20.000001Z web1 g@0: first",
        "2025-12-02T04:33:20.000005Z web2 g@0: second",
        "2025-12-02T04:33:20.000020Z web1 g@0: third",
        "2025-12-02T04:33:20.000020Z web1 g@0: continued",
        "2025-12-02T04:33:20.000030Z web2 g@1: fourth",
    ]


def test_last_keeps_the_newest_entries():
    assert [line.rsplit(": ", 1)[1] for line in logs.lines(BY_HOST, last=2)] == ["third", "continued", "fourth"]
    assert logs.lines(BY_HOST, last=0) == []
    assert len(logs.lines(BY_HOST, last=10)) == 5


def test_equal_times_keep_each_host_order():
    same = {"b": [rec(0, "u", "b1"), rec(0, "u", "b2")], "a": [rec(0, "u", "a1")]}
    assert [line.rsplit(" ", 1)[1] for line in logs.lines(same)] == ["a1", "b1", "b2"]


def test_hosts_without_entries():
    assert logs.hosts_without_entries(BY_HOST) == ["handlers1"]
