"""The galaxy_restart_lane module: its spec agrees with DOCUMENTATION, check mode restarts nothing."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_restart_lane

STEPS = [{"ids": ["h1/a.service"], "units": [{"id": "h1/a.service", "unit": "a.service", "state": "restarted",
                                              "text": None, "port": None}]}]


def module(check_mode, calls):
    def run_command(argv, check_rc):
        calls.append(argv)
        return 0, "active\n", ""
    params = {"lane": "services on h1", "host": "h1", "steps": STEPS, "deadline": 1, "interval": 0.01,
              "stop_file": None}
    return SimpleNamespace(params=params, check_mode=check_mode, run_command=run_command)


def test_spec_agrees_with_documentation():
    assert galaxy_restart_lane.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(galaxy_restart_lane.DOCUMENTATION)["options"])


def test_check_mode_restarts_nothing_and_shows_the_calls():
    calls = []
    result = galaxy_restart_lane.run(module(True, calls))
    assert calls == [] and result["changed"] is True and result["left"] == ["h1/a.service"]
    assert result["diff"]["after"] == "systemctl restart -- a.service\n"


def test_run_restarts_and_records():
    calls = []
    result = galaxy_restart_lane.run(module(False, calls))
    assert calls[0] == ["systemctl", "restart", "--", "a.service"] and result["ok"] is True
    assert [e["kind"] for e in result["events"]] == ["stop", "start", "ready"] and result["done"] == ["h1/a.service"]
    assert result["changed"] is True and result["msg"] == "lane services on h1: 1 unit(s) restarted in 1 step(s)"
