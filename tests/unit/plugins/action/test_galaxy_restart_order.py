"""The galaxy_restart_order action: arguments from DOCUMENTATION, no connection, the order as a result."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.action.galaxy_restart_order import ARGUMENT_SPEC, ActionModule
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.tests.unit.plugins.action.runner import run_action


def plan():
    groups = {"all": ["p1", "w1", "h1"], "galaxy_proxy": ["p1"], "galaxy_web": ["w1"], "galaxy_handlers": ["h1"]}
    config = {"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}, "celery": {"enable": False, "enable_beat": False},
                          "handlers": {"handler": {"processes": 2}}},
              "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}}
    hostvars = {"w1": {"fleet_gravity": {"gunicorn": {"instances": 2}}}}
    return build_plan(galaxy_config=config, inventory={"groups": groups, "hostvars": hostvars}, options={})


def run(args):
    return run_action(ActionModule, args)


def test_spec_comes_from_documentation():
    assert ARGUMENT_SPEC["web_batch"] == {"type": "int", "default": 1}
    assert ARGUMENT_SPEC["plan"]["required"] is True
    assert ActionModule._requires_connection is False


def test_order_returned():
    result = run({"plan": plan(), "web_batch": "1"})
    assert result["changed"] is False
    assert result["lines"] == ["gunicorn: w1/galaxy-gunicorn@0.service", "gunicorn: w1/galaxy-gunicorn@1.service",
                               "handlers: h1/galaxy-handler@0.service", "handlers: h1/galaxy-handler@1.service"]
    assert result["problems"] == {"limits": None, "downtime": None, "unhealthy": None}
    assert result["steps"][0]["check"]["targets"] == [{"id": "w1/galaxy-gunicorn@0.service",
                                                       "url": "http://w1:8080/api/version"}]


def test_health_makes_to_start():
    health = {"p1": {"w1/galaxy-gunicorn@1.service": {"ok": False, "seen": "refused", "after_s": 0}}}
    result = run({"plan": plan(), "health": health, "start_stopped": True})
    assert [m["id"] for m in result["to_start"]] == ["w1/galaxy-gunicorn@1.service"]
    assert result["lines"][0] == "start first: w1/galaxy-gunicorn@1.service"
