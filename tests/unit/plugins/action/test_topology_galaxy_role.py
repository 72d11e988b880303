"""The topology action planning from the galaxyproject.galaxy role's variables (docs/galaxyproject-galaxy.md)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.galaxyops.fleet.plugins.action.topology import ActionModule
from ansible_collections.galaxyops.fleet.tests.unit.plugins.action.runner import run_action
from ansible_collections.galaxyops.fleet.tests.unit.plugins.module_utils.test_plan_galaxy_role import (
    gtn, usegalaxy_org)

GTN_GROUPS = {"all": ["gat"], "galaxyservers": ["gat"]}
GTN_NAMES = {"web": "galaxyservers", "handlers": "galaxyservers", "celery": "galaxyservers",
             "proxy": "galaxyservers"}


def run(args, groups, hostvars):
    return run_action(ActionModule, args, {"groups": groups, "hostvars": hostvars}, True)


def test_gtn_training_end_state_is_planned_as_gravity_would_run_it():
    result = run({"groups": GTN_NAMES}, GTN_GROUPS, {"gat": gtn()})
    assert result["config_owner"] == "galaxyproject.galaxy"
    plan = result["plan"]
    units = plan["hosts"]["gat"]["units"]
    assert list(units) == ["galaxy-gunicorn.service", "galaxy-celery.service", "galaxy-celery-beat.service",
                           "galaxy-tusd.service", "galaxy-handler@.service"]
    gunicorn = units["galaxy-gunicorn.service"]["instances"][0]
    assert gunicorn["bind"] == "unix:/srv/galaxy/var/config/gunicorn.sock"
    assert gunicorn["user"] == "galaxy"
    assert gunicorn["working_directory"] == "/srv/galaxy/server"
    assert gunicorn["environment"]["GALAXY_CONFIG_FILE"] == "/srv/galaxy/config/galaxy.yml"
    assert gunicorn["argv"][0] == "/srv/galaxy/venv/bin/gunicorn"
    instance = plan["instances"]["_default_"]
    assert instance["galaxy_config_file"] == "/srv/galaxy/config/galaxy.yml"
    assert instance["gravity_data_dir"] == "/srv/galaxy/var/gravity"
    assert sorted(instance["handlers"]) == ["handler_0", "handler_1"]
    assert instance["assign"] == ["db-skip-locked"]


def test_usegalaxy_org_layout_places_each_groups_settings():
    groups = {"all": ["web1", "web2", "handlers1", "handlers2", "celery1", "proxy1"], "galaxy_web": ["web1", "web2"],
              "galaxy_handlers": ["handlers1", "handlers2"], "galaxy_celery": ["celery1"], "galaxy_proxy": ["proxy1"]}
    hostvars = usegalaxy_org()
    hostvars["proxy1"] = {}
    plan = run({}, groups, hostvars)["plan"]
    hosts = plan["hosts"]
    assert [p["bind"] for p in hosts["web2"]["units"]["galaxy-gunicorn@.service"]["instances"]] == [
        "0.0.0.0:8080", "0.0.0.0:8081"]
    assert list(hosts["celery1"]["units"]) == ["galaxy-celery.service", "galaxy-celery-beat.service"]
    assert "--concurrency" in " ".join(hosts["celery1"]["units"]["galaxy-celery.service"]["instances"][0]["argv"])
    handlers = plan["instances"]["_default_"]["handlers"]
    assert sorted(handlers) == [f"handler_{h}_{i}" for h in ("handlers1", "handlers2") for i in range(3)]
    assert {handlers[f"handler_handlers2_{i}"]["host"] for i in range(3)} == {"handlers2"}
    assert all(unit["instances"][0]["user"] == "g2main" for host in hosts.values() for unit in host["units"].values())


def test_job_configuration_file_of_galaxy_config_files_is_read(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "job_conf.yml").write_text(
        "handling:\n  assign: [db-skip-locked]\n  processes:\n    main_handler: {tags: [big]}\n", encoding="utf-8")
    hv = gtn()
    del hv["galaxy_job_config"]
    del hv["galaxy_config"]["galaxy"]["job_config"]
    hv["galaxy_config"]["galaxy"]["job_config_file"] = "/srv/galaxy/config/job_conf.yml"
    hv["galaxy_config_files"] = [{"src": "job_conf.yml", "dest": "/srv/galaxy/config/job_conf.yml"}]
    hv["inventory_dir"] = str(tmp_path)
    plan = run({"groups": GTN_NAMES}, GTN_GROUPS, {"gat": hv})["plan"]
    handlers = plan["instances"]["_default_"]["handlers"]
    assert handlers["main_handler"]["static"] is True and handlers["main_handler"]["tags"] == ["big"]


def test_job_configuration_file_missing_on_the_controller_is_refused():
    hv = gtn()
    del hv["galaxy_job_config"]
    del hv["galaxy_config"]["galaxy"]["job_config"]
    hv["galaxy_config_files"] = [{"src": "files/job_conf.xml", "dest": "/srv/galaxy/config/job_conf.xml"}]
    with pytest.raises(AnsibleActionFail) as info:
        run({"groups": GTN_NAMES}, GTN_GROUPS, {"gat": hv})
    assert ("inventory: galaxy_config_files.0.src: files/job_conf.xml (the job configuration, installed to "
            "/srv/galaxy/config/job_conf.xml) is not found on the controller") in str(info.value)


def test_both_sources_are_refused_before_any_plan():
    with pytest.raises(AnsibleActionFail) as info:
        run({"galaxy_config": {"gravity": {}, "galaxy": {}}, "groups": GTN_NAMES}, GTN_GROUPS, {"gat": gtn()})
    assert "inventory: galaxy_config: set (galaxyproject.galaxy) while fleet_galaxy_config is given too" in str(info.value)
    plan = run({"galaxy_config": {"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}}, "galaxy": {}}, "groups": GTN_NAMES,
                "galaxy_role": "ignore"}, GTN_GROUPS, {"gat": gtn()})
    assert plan["config_owner"] == "galaxyops.fleet"


def test_no_source_at_all_is_refused():
    with pytest.raises(AnsibleActionFail, match="one of galaxy_config_file, galaxy_config or gravity_config_file is "
                                                "required"):
        run({}, {"all": ["w1"], "galaxy_web": ["w1"]}, {"w1": {}})


def test_a_groups_bad_gravity_setting_is_named_after_its_own_variable():
    groups = {"all": ["web1", "handlers1"], "galaxy_web": ["web1"], "galaxy_handlers": ["handlers1"]}
    hostvars = usegalaxy_org()
    hostvars["handlers1"]["galaxy_config"]["gravity"]["handlers"]["handler"]["processes"] = 0
    hostvars["handlers1"]["fleet_gravity"] = {"handlers": {"handler": {"start_timeout": -1}}}
    with pytest.raises(AnsibleActionFail) as info:
        run({}, groups, {h: hostvars[h] for h in ("web1", "handlers1")})
    message = str(info.value)
    expected = "inventory: galaxy_config.gravity.handlers.handler.processes: must be an integer >= 1, got 0 (host handlers1)"
    assert expected in message
    assert "inventory: fleet_gravity.handlers.handler.start_timeout:" in message


def test_job_configuration_template_is_rendered_with_its_hosts_variables(tmp_path):
    from unittest.mock import MagicMock

    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "job_conf.yml.j2").write_text(
        "handling:\n  assign: [db-skip-locked]\n  processes:\n    {{ handler_id }}: {}\n", encoding="utf-8")
    hv = gtn()
    del hv["galaxy_job_config"]
    del hv["galaxy_config"]["galaxy"]["job_config"]
    hv["galaxy_config_templates"] = [{"src": "job_conf.yml.j2", "dest": "/srv/galaxy/config/job_conf.yml"}]
    hv["inventory_dir"] = str(tmp_path)
    hv["handler_id"] = "main_gat"
    task = MagicMock()
    task.args = {"groups": GTN_NAMES}
    task.async_val = 0
    task.check_mode = True
    action = ActionModule(task, MagicMock(), MagicMock(), loader=DataLoader(), templar=Templar(loader=DataLoader()),
                          shared_loader_obj=None)
    plan = action.run(task_vars={"groups": GTN_GROUPS, "hostvars": {"gat": hv}})["plan"]
    assert plan["instances"]["_default_"]["handlers"]["main_gat"]["static"] is True
