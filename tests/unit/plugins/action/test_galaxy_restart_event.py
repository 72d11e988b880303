"""The galaxy_restart_event action: events appended to the fact, lanes' events merged."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.action.galaxy_restart_event import ARGUMENT_SPEC, ActionModule
from ansible_collections.galaxyops.fleet.tests.unit.plugins.action.runner import run_action

P = {"id": "web1/g@0.service", "host": "web1", "unit": "g@0.service"}


def test_spec_comes_from_documentation():
    assert ARGUMENT_SPEC["kind"]["choices"] == ["drain", "stop", "start", "ready", "undrain"]
    assert ActionModule._requires_connection is False


def test_an_event_per_process_is_appended():
    before = [{"id": "x", "host": "h", "unit": "u", "kind": "drain", "time": 1.0}]
    result = run_action(ActionModule, {"kind": "ready", "processes": [P, {**P, "id": "web1/g@1.service"}]},
                        task_vars={"galaxy_restart_events": before})
    events = result["ansible_facts"]["galaxy_restart_events"]
    assert events[0] == before[0] and [e["id"] for e in events[1:]] == ["web1/g@0.service", "web1/g@1.service"]
    assert events[1]["kind"] == "ready" and events[1]["host"] == "web1" and events[1]["time"] > 1e9
    assert result["changed"] is False


def test_lane_results_bring_their_events():
    lane = {"events": [{"id": "h1/a", "host": "h1", "unit": "a", "kind": "stop", "time": 5.0}]}
    result = run_action(ActionModule, {"lanes": [lane, {"failed": True, "msg": "no events"}]})
    assert result["ansible_facts"]["galaxy_restart_events"] == lane["events"]


def test_reset_starts_anew():
    before = [{"id": "x", "host": "h", "unit": "u", "kind": "drain", "time": 1.0}]
    result = run_action(ActionModule, {"reset": True}, task_vars={"galaxy_restart_events": before})
    assert result["ansible_facts"]["galaxy_restart_events"] == []
