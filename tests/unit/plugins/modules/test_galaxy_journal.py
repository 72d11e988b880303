"""The galaxy_journal module: its spec agrees with DOCUMENTATION; the last entries, then following."""

from __future__ import annotations

import json
from types import SimpleNamespace

import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_journal


def entry(t):
    return json.dumps({"__REALTIME_TIMESTAMP": str(t), "__CURSOR": f"c{t}", "MESSAGE": f"m{t}", "_SYSTEMD_UNIT": "u"})


class Module(SimpleNamespace):
    def __init__(self, outputs, **params):
        base = {"units": ["u"], "since": None, "grep": None, "lines": 100, "follow": 0, "poll_interval": 0.5}
        super().__init__(params={**base, **params}, outputs=list(outputs), calls=[])

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, cmd):
        self.calls.append(cmd)
        return self.outputs.pop(0) if self.outputs else (0, "", "")

    def fail_json(self, **kw):
        raise AssertionError(kw)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_spec_agrees_with_documentation():
    assert galaxy_journal.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(galaxy_journal.DOCUMENTATION)["options"])


def test_reads_once_without_follow():
    m = Module([(0, entry(1) + "\n" + entry(2) + "\n", "")], lines=2)
    recs = galaxy_journal.collect(m, Clock(), Clock().sleep)
    assert [r.message for r in recs] == ["m1", "m2"] and len(m.calls) == 1 and m.calls[0][-2:] == ["-n", "2"]


def test_follow_reads_after_the_last_cursor_until_the_time_is_up():
    clock = Clock()
    m = Module([(0, entry(1) + "\n", ""), (0, entry(2) + "\n", ""), (1, "", "")], follow=1, poll_interval=0.5)
    recs = galaxy_journal.collect(m, clock, clock.sleep)
    assert [r.message for r in recs] == ["m1", "m2"]
    assert m.calls[1][-2:] == ["--after-cursor", "c1"] and m.calls[2][-2:] == ["--after-cursor", "c2"]
    assert clock.now == 1001.0


def test_follow_with_nothing_yet_reads_since_the_start():
    clock = Clock()
    m = Module([(1, "", "-- No entries --")], follow=0.5, grep="error")
    assert galaxy_journal.collect(m, clock, clock.sleep) == []
    assert "@1000" in m.calls[1] and "--grep" in m.calls[1]


def test_a_journalctl_error_fails():
    m = Module([(1, "", "Failed to parse timestamp: yesterdayy")], since="yesterdayy")
    try:
        galaxy_journal.collect(m, Clock(), Clock().sleep)
    except AssertionError as err:
        assert "Failed to parse timestamp" in str(err)
    else:
        raise AssertionError("no failure")
