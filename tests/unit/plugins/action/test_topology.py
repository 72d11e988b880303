"""The topology action: arguments from DOCUMENTATION, inventory from task vars, errors as one failure."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.galaxyops.fleet.plugins.action.topology import ARGUMENT_SPEC, ActionModule
from ansible_collections.galaxyops.fleet.tests.unit.plugins.action.runner import run_action

GROUPS = {"all": ["w1", "h1"], "galaxy_web": ["w1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["w1"]}


def run(args, hostvars=None, check_mode=True):
    task_vars = {"groups": GROUPS, "hostvars": hostvars or {"w1": {"ansible_host": "10.0.0.1"}, "h1": {}}}
    return run_action(ActionModule, args, task_vars, check_mode)


def test_spec_comes_from_documentation():
    assert ARGUMENT_SPEC["galaxy_config_path"] == {"type": "str", "default": "/srv/galaxy/config/galaxy.yml"}
    assert ARGUMENT_SPEC["groups"]["options"]["web"]["default"] == "galaxy_web"
    assert ActionModule._requires_connection is False


def test_plan_in_check_mode_without_connecting():
    config = {"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}, "handlers": {"handler": {}}},
              "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}}
    result = run({"galaxy_config": config})
    assert result["changed"] is False
    plan = result["plan"]
    expected = ["galaxy-gunicorn.service", "galaxy-celery.service", "galaxy-celery-beat.service"]
    assert list(plan["hosts"]["w1"]["units"]) == expected
    assert plan["instances"]["_default_"]["upstream"]["members"][0]["address"] == "10.0.0.1:8080"
    assert list(plan["instances"]["_default_"]["handlers"]) == ["handler_0"]


def test_host_variables_are_read():
    config = {"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}}, "galaxy": {}}
    result = run({"galaxy_config": config}, hostvars={"w1": {"fleet_gravity": {"gunicorn": {"instances": 2}}},
                                                      "h1": {}})
    gunicorn = result["plan"]["hosts"]["w1"]["units"]["galaxy-gunicorn@.service"]
    assert [p["unit"] for p in gunicorn["instances"]] == ["galaxy-gunicorn@0.service", "galaxy-gunicorn@1.service"]


def test_all_problems_in_one_failure():
    config = {"gravity": {"gunicorn": {"workers": 0}, "handlers": {"h": {"processes": "2"}}}, "galaxy": {}}
    with pytest.raises(AnsibleActionFail) as info:
        run({"galaxy_config": config})
    message = str(info.value)
    assert "the cluster plan has 3 problem(s):" in message
    assert "dynamic handlers are configured" in message
    assert "galaxy_config: gravity.gunicorn.workers: must be an integer >= 1, got 0" in message
    assert "galaxy_config: gravity.handlers.h.processes: must be an integer >= 1, got '2'" in message


def test_arguments_are_validated():
    with pytest.raises(AnsibleActionFail, match="one of galaxy_config_file, galaxy_config or gravity_config_file is required"):
        run({})
    with pytest.raises(AnsibleActionFail, match="mutually exclusive"):
        run({"galaxy_config": {}, "galaxy_config_file": "/x"})
    with pytest.raises(AnsibleActionFail, match="Unsupported parameters"):
        run({"galaxy_config": {"galaxy": {}}, "bogus": 1})
