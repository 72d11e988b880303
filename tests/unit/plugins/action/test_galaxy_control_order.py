"""The galaxy_control_order action: arguments from DOCUMENTATION, comma strings, no connection."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.action.galaxy_control_order import ARGUMENT_SPEC, ActionModule
from ansible_collections.galaxyops.fleet.tests.unit.plugins.action.runner import run_action
from ansible_collections.galaxyops.fleet.tests.unit.plugins.plugin_utils.test_restart_order import make_plan


def test_spec_comes_from_documentation():
    assert ARGUMENT_SPEC["plan"]["required"] is True and ARGUMENT_SPEC["allow_downtime"]["default"] is False
    assert ActionModule._requires_connection is False


def test_comma_separated_limits_are_trimmed_and_returned():
    result = run_action(ActionModule, {"plan": make_plan(), "hosts": "web1, web2", "services": "gunicorn"})
    assert result["changed"] is False and result["limits"] == {"hosts": ["web1", "web2"], "services": ["gunicorn"],
                                                               "units": []}
    assert result["problems"]["limits"] is None and len(result["selected"]) == 5


def test_stop_with_states_returns_what_to_drain_and_stop():
    result = run_action(ActionModule, {"plan": make_plan(), "action": "stop", "hosts": ["web2"], "services": ["gunicorn"],
                                       "active": {"web1": ["active"] * 2, "web2": ["active", "inactive", "active"]}})
    assert result["drain"] == [f"web2/galaxy-gunicorn@{i}.service" for i in range(3)]
    assert [s["id"] for s in result["stop"]] == ["web2/galaxy-gunicorn@0.service", "web2/galaxy-gunicorn@2.service"]
    assert result["changes"] is True and result["problems"]["downtime"] is None
