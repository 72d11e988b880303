"""The galaxyproject.galaxy role's variables as the plan reads them (plan_galaxy_role.py)."""

from __future__ import annotations

import copy
import os

import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_galaxy_role import (
    FileRef, gravity_difference, host_view, map_galaxy_role, role_in_use)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_inventory import deep_merge

FIXTURES = os.path.join(os.path.dirname(__file__), "data")


def gtn() -> dict:
    with open(os.path.join(FIXTURES, "gtn_galaxyservers.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def problems(out: Collector) -> list[str]:
    return [str(p) for p in out.problems]


def test_gtn_end_state_maps_to_one_galaxy_yml():
    out = Collector()
    mapping = map_galaxy_role({"gat": gtn()}, ["gat"], {}, out)
    assert problems(out) == []
    assert mapping.galaxy_config_path == "/srv/galaxy/config/galaxy.yml"  # root-dir layout: galaxy_root/config
    gravity = mapping.galaxy_config["gravity"]
    assert gravity["galaxy_root"] == "/srv/galaxy/server"
    assert gravity["virtualenv"] == "/srv/galaxy/venv"
    assert gravity["handlers"]["handler"]["processes"] == 2
    galaxy = mapping.galaxy_config["galaxy"]
    assert galaxy["job_config"]["handling"]["assign"] == ["db-skip-locked"]
    assert galaxy["data_dir"] == "/srv/galaxy/var"  # the role's galaxy_app_config_default
    assert mapping.job_file is None and mapping.overrides == {}


def test_role_defaults_fill_what_the_gravity_section_leaves_out():
    hv = gtn()
    for key in ("galaxy_root", "virtualenv", "galaxy_user"):
        del hv["galaxy_config"]["gravity"][key]
    view = host_view("gat", hv, Collector())
    assert view.gravity["galaxy_root"] == "/srv/galaxy/server"   # layout root-dir: galaxy_root/server
    assert view.gravity["virtualenv"] == "/srv/galaxy/venv"
    assert view.gravity["galaxy_user"] == "galaxy"               # galaxy_user given as {name, shell}


def test_without_gravity_section_the_role_writes_its_default_one():
    hv = {"galaxy_server_dir": "/opt/galaxy/server", "galaxy_config": {"galaxy": {}}}
    view = host_view("g", hv, Collector())
    assert view.config_file == "/opt/galaxy/server/galaxy.yml"    # legacy layout: config in the clone
    assert view.gravity == {"log_dir": "/opt/galaxy/server/database/log", "app_server": "gunicorn",
                            "gunicorn": {"bind": "localhost:8080"}, "galaxy_root": "/opt/galaxy/server",
                            "virtualenv": "/opt/galaxy/server/.venv"}


def test_explicit_role_paths_win_over_the_layout():
    hv = {"galaxy_layout": "root-dir", "galaxy_root": "/srv/g", "galaxy_venv_dir": "/venvs/galaxy",
          "galaxy_config_file": "/etc/galaxy/galaxy.yml", "galaxy_config": {"gravity": {}, "galaxy": {}}}
    view = host_view("g", hv, Collector())
    assert view.config_file == "/etc/galaxy/galaxy.yml"
    assert view.gravity["virtualenv"] == "/venvs/galaxy"
    assert view.galaxy["data_dir"] == "/srv/g/var"


def test_layout_problems_name_the_variable_and_host():
    out = Collector()
    assert host_view("g", {"galaxy_config": {}}, out) is None
    assert problems(out) == ["inventory: galaxy_server_dir: required: galaxy_layout legacy gives no default (the "
                             "role's default layout is legacy; set galaxy_layout: root-dir with galaxy_root) (host g)"]
    out = Collector()
    host_view("g", {"galaxy_layout": "rootdir", "galaxy_config": {}}, out)
    assert "inventory: galaxy_layout: unknown layout 'rootdir'" in problems(out)[0]
    out = Collector()
    host_view("g", {"galaxy_layout": "root-dir", "galaxy_config": {}}, out)
    assert problems(out) == ["inventory: galaxy_root: required by galaxy_layout root-dir (host g)"]


def test_job_configuration_from_galaxy_config_files():
    hv = gtn()
    del hv["galaxy_job_config"]
    galaxy = hv["galaxy_config"]["galaxy"]
    del galaxy["job_config"]
    galaxy["job_config_file"] = "job_conf.xml"  # relative: beside galaxy.yml, as Galaxy reads it
    hv["galaxy_config_files"] = [{"src": "files/galaxy/config/job_conf.xml", "dest": "/srv/galaxy/config/job_conf.xml"}]
    out = Collector()
    mapping = map_galaxy_role({"gat": hv}, ["gat"], {}, out)
    assert problems(out) == []
    assert mapping.job_file == FileRef("files/galaxy/config/job_conf.xml", "/srv/galaxy/config/job_conf.xml", False,
                                       "galaxy_config_files.0", "gat")


def test_job_configuration_template_found_by_galaxys_default_name():
    hv = gtn()
    del hv["galaxy_job_config"]
    del hv["galaxy_config"]["galaxy"]["job_config"]
    hv["galaxy_config_templates"].append({"src": "templates/galaxy/config/job_conf.yml.j2",
                                          "dest": "/srv/galaxy/config/job_conf.yml"})
    view = host_view("gat", hv, Collector())
    assert view.job.template and view.job.variable == "galaxy_config_templates.2"


def test_job_configuration_file_nobody_installs_is_refused():
    hv = gtn()
    del hv["galaxy_job_config"]
    hv["galaxy_config"]["galaxy"]["job_config_file"] = "/srv/galaxy/config/job_conf.yml"
    out = Collector()
    assert map_galaxy_role({"gat": hv}, ["gat"], {}, out) is None
    assert problems(out) == [
        "inventory: galaxy_config.galaxy.job_config_file: /srv/galaxy/config/job_conf.yml is installed by neither "
        "galaxy_config_files nor galaxy_config_templates: the plan cannot read the job configuration Galaxy will "
        "use (host gat)"]


def test_galaxy_job_config_alone_is_the_job_configuration():
    hv = gtn()
    del hv["galaxy_config"]["galaxy"]["job_config"]
    mapping = map_galaxy_role({"gat": hv}, ["gat"], {}, Collector())
    assert mapping.galaxy_config["galaxy"]["job_config"] == hv["galaxy_job_config"]


def test_galaxy_job_config_that_galaxy_does_not_use_is_refused():
    hv = gtn()
    hv["galaxy_job_config"]["handling"]["assign"] = ["db-self"]
    out = Collector()
    map_galaxy_role({"gat": hv}, ["gat"], {}, out)
    assert "inventory: galaxy_job_config: differs from galaxy_config.galaxy.job_config" in problems(out)[0]


def usegalaxy_org() -> dict[str, dict]:
    """Web, handler and celery groups, each with its own group-level gravity settings (as
    group_vars/galaxy_web.yml etc. give them), the galaxy section shared from group_vars/all."""
    common_galaxy = {"job_config": {"handling": {"assign": ["db-skip-locked"]}},
                     "galaxy_infrastructure_url": "https://usegalaxy.example"}
    base = {"process_manager": "systemd", "galaxy_root": "/srv/galaxy/server", "virtualenv": "/srv/galaxy/venv",
            "galaxy_user": "g2main", "celery": {"enable": False, "enable_beat": False}}
    web = deep_merge(base, {"gunicorn": [{"bind": "0.0.0.0:8080", "workers": 4}, {"bind": "0.0.0.0:8081", "workers": 4}]})
    celery = deep_merge(base, {"celery": {"enable": True, "enable_beat": True, "concurrency": 8}})
    hosts = {}
    for name, gravity in (("web1", web), ("web2", web), ("celery1", celery)):
        hosts[name] = {"galaxy_server_dir": "/srv/galaxy/server", "galaxy_config_dir": "/srv/galaxy/config",
                       "galaxy_config": {"gravity": copy.deepcopy(gravity), "galaxy": copy.deepcopy(common_galaxy)}}
    for name in ("handlers1", "handlers2"):
        gravity = deep_merge(base, {"handlers": {"handler": {"processes": 3, "name_template": "{name}_%s_{process}" % name}}})
        hosts[name] = {"galaxy_server_dir": "/srv/galaxy/server", "galaxy_config_dir": "/srv/galaxy/config",
                       "galaxy_config": {"gravity": gravity, "galaxy": copy.deepcopy(common_galaxy)}}
    return hosts


def test_usegalaxy_org_groups_become_per_host_overrides():
    hostvars = usegalaxy_org()
    order = ["web1", "web2", "handlers1", "handlers2", "celery1"]
    out = Collector()
    mapping = map_galaxy_role(hostvars, order, {}, out)
    assert problems(out) == []
    assert mapping.base_host == "web1" and mapping.galaxy_config_path == "/srv/galaxy/config/galaxy.yml"
    assert "web2" not in mapping.overrides
    for host in order:  # the base merged with each override is exactly the host's own section
        own = hostvars[host]["galaxy_config"]["gravity"]
        assert deep_merge(mapping.galaxy_config["gravity"], mapping.overrides.get(host, {})) == own
    expected = {"gunicorn": None, "celery": {"enable": True, "enable_beat": True, "concurrency": 8}}
    assert mapping.overrides["celery1"] == expected


def test_gravity_difference_removes_what_the_host_does_not_set():
    assert gravity_difference({"a": 1, "b": {"c": 1, "d": 2}}, {"b": {"c": 1}, "e": [1]}) == {
        "a": None, "b": {"d": None}, "e": [1]}


def test_hosts_must_share_galaxy_yml():
    hostvars = usegalaxy_org()
    hostvars["handlers2"]["galaxy_config"]["galaxy"]["galaxy_infrastructure_url"] = "https://other"
    hostvars["celery1"]["galaxy_config_dir"] = "/etc/galaxy"
    out = Collector()
    assert map_galaxy_role(hostvars, ["web1", "handlers2", "celery1"], {}, out) is None
    assert problems(out) == [
        "inventory: galaxy_config.galaxy: differs from host web1's: every Galaxy host runs the same galaxy.yml in one "
        "cluster plan (only the gravity section may differ per host or group) (host handlers2)",
        "inventory: galaxy_config_file: differs from host web1's: every Galaxy host runs the same galaxy.yml in one "
        "cluster plan (only the gravity section may differ per host or group) (host celery1)"]


def test_fleet_gravity_on_top_unless_it_sets_the_same_key():
    hostvars = usegalaxy_org()
    hostvars["web2"]["fleet_gravity"] = {"gunicorn": {"instances": 2}}
    hostvars["celery1"]["fleet_gravity"] = {"celery": {"concurrency": 4}}
    out = Collector()
    assert map_galaxy_role(hostvars, ["web1", "web2", "celery1"], {}, out) is None
    assert problems(out) == [
        "inventory: fleet_gravity.celery.concurrency: is set both here and in this host's galaxy_config.gravity (which "
        "differs from host web1's there): set it in one place (host celery1)"]
    del hostvars["celery1"]["fleet_gravity"]
    mapping = map_galaxy_role(hostvars, ["web1", "web2", "celery1"], {}, Collector())
    assert mapping.overrides["web2"] == {"gunicorn": {"instances": 2}}


def test_fleet_paths_agree_with_the_role_or_are_refused():
    out = Collector()
    fleet = {"fleet_virtualenv": "/srv/galaxy/venv", "fleet_galaxy_root": "/opt/galaxy",
             "fleet_galaxy_config_path": "/etc/galaxy.yml"}
    map_galaxy_role({"gat": gtn()}, ["gat"], fleet, out)
    assert problems(out) == [
        "inventory: fleet_galaxy_root: is '/opt/galaxy' but galaxyproject.galaxy gives '/srv/galaxy/server' "
        "(galaxy_config.gravity.galaxy_root, else galaxy_server_dir or its layout default): remove one (host gat)",
        "inventory: fleet_galaxy_config_path: is '/etc/galaxy.yml' but galaxyproject.galaxy writes galaxy.yml to "
        "'/srv/galaxy/config/galaxy.yml' (galaxy_config_file): remove fleet_galaxy_config_path (host gat)"]


def test_fleet_user_fills_in_when_the_role_names_none():
    hv = {"galaxy_server_dir": "/srv/g", "galaxy_config": {"gravity": {}, "galaxy": {}}}
    mapping = map_galaxy_role({"g": hv}, ["g"], {"fleet_galaxy_user": "gx"}, Collector())
    assert mapping.galaxy_config["gravity"]["galaxy_user"] == "gx"


def test_a_galaxy_host_without_galaxy_config_is_refused():
    hostvars = usegalaxy_org()
    del hostvars["handlers1"]["galaxy_config"]
    out = Collector()
    assert map_galaxy_role(hostvars, ["web1", "handlers1"], {}, out) is None
    assert problems(out)[0].startswith("inventory: galaxy_config: must be a mapping with the gravity and galaxy "
                                       "sections of galaxy.yml")
    assert problems(out)[0].endswith("(host handlers1)")


def test_which_source_the_plan_reads():
    hostvars = {"gat": gtn(), "proxy": {}}
    none_given = {"fleet_galaxy_config_file": None}
    assert role_in_use("auto", none_given, hostvars, ["gat"], Collector())
    assert not role_in_use("auto", none_given, {"gat": {}}, ["gat"], Collector())
    assert not role_in_use("ignore", {"fleet_galaxy_config_file": "/x/galaxy.yml"}, hostvars, ["gat"], Collector())
    out = Collector()
    assert not role_in_use("auto", {"fleet_galaxy_config_file": "/x/galaxy.yml"}, hostvars, ["gat"], out)
    assert problems(out) == [
        "inventory: galaxy_config: set (galaxyproject.galaxy) while fleet_galaxy_config_file is given too: the plan "
        "would read one and ignore the other. Remove fleet_galaxy_config_file to plan from the role's variables, or "
        "set fleet_galaxy_role: ignore to plan from it (host gat)"]
    out = Collector()
    assert not role_in_use("use", none_given, {"gat": {}}, ["gat"], out)
    assert "fleet_galaxy_role is use, but no host that runs Galaxy processes has galaxy_config" in problems(out)[0]
