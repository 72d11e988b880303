"""The cluster plan: Gravity-equal single-host output and every rule a cluster adds."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import PlanError
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan, deep_merge, parse_bind

VENV_PATH = "/srv/galaxy/venv/bin/:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ALL_IN_ONE = {"galaxy_web": ["h1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["h1"], "galaxy_proxy": ["h1"]}
ASSIGNED = {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}


def inventory(groups, hostvars=None):
    groups = dict(groups)
    groups["all"] = list(dict.fromkeys([h for members in groups.values() for h in members]
                                       + list((hostvars or {}).keys())))
    return {"groups": groups, "hostvars": hostvars or {}}


def plan(gravity=None, galaxy=None, inv_groups=None, hostvars=None, **options):
    gravity = dict(gravity or {})
    if inv_groups and "gunicorn" not in gravity:
        gravity["gunicorn"] = {"bind": "0.0.0.0:8080"}  # reachable from a proxy on another host
    config = {"gravity": gravity, "galaxy": galaxy if galaxy is not None else dict(ASSIGNED)}
    return build_plan(galaxy_config=config, inventory=inventory(inv_groups or ALL_IN_ONE, hostvars), options=options)


def problems(*args, **kwargs):
    with pytest.raises(PlanError) as info:
        plan(*args, **kwargs)
    return [str(p) for p in info.value.problems]


def units(result, host="h1"):
    return result["hosts"][host]["units"]


def proc(result, unit, host="h1"):
    return units(result, host)[unit]["instances"][0]


# ---------------------------------------------------------------- single host = Gravity
def test_default_single_host_units_in_gravity_order():
    result = plan()
    assert list(units(result)) == ["galaxy-gunicorn.service", "galaxy-celery.service",
                                   "galaxy-celery-beat.service"]
    assert result["hosts"]["h1"]["targets"] == ["galaxy.target"]


def test_gunicorn_argv_and_environment_equal_gravity_direct_style():
    p = proc(plan(), "galaxy-gunicorn.service")
    assert p["argv"] == ["/srv/galaxy/venv/bin/gunicorn", "galaxy.webapps.galaxy.fast_factory:factory()",
                         "--timeout", "300", "--pythonpath", "lib", "-k", "galaxy.webapps.galaxy.workers.Worker",
                         "-b", "localhost:8080", "--workers=1", "--config", "python:galaxy.web_stack.gunicorn_config",
                         "--preload"]
    assert list(p["environment"].items()) == [("PYTHONPATH", "lib"),
                                              ("GALAXY_CONFIG_FILE", "/srv/galaxy/config/galaxy.yml"),
                                              ("VIRTUAL_ENV", "/srv/galaxy/venv"), ("PATH", VENV_PATH)]
    assert (p["server_name"], p["index"], p["bind"], p["reload"]) == ("gunicorn", None, "localhost:8080", None)
    assert (p["start_timeout"], p["stop_timeout"], p["restart_timeout"], p["umask"]) == (15, 65, 300, "022")
    assert (p["user"], p["group"], p["working_directory"]) == ("galaxy", None, "/srv/galaxy/server")
    assert p["health_url"] == "http://localhost:8080/api/version"
    assert p["exec_start"].startswith("/srv/galaxy/venv/bin/gunicorn galaxy.webapps.galaxy.fast_factory:factory() ")


def test_celery_and_beat_commands():
    result = plan(gravity={"celery": {"concurrency": 4, "loglevel": "INFO", "extra_args": "-O fair"}},
                  galaxy={**ASSIGNED, "data_dir": "/data"})
    assert proc(result, "galaxy-celery.service")["argv"] == [
        "/srv/galaxy/venv/bin/celery", "--app", "galaxy.celery", "worker", "--concurrency", "4", "--loglevel", "INFO",
        "--pool", "threads", "--queues", "celery,galaxy.internal,galaxy.external", "-O", "fair"]
    assert proc(result, "galaxy-celery-beat.service")["argv"] == [
        "/srv/galaxy/venv/bin/celery", "--app", "galaxy.celery", "beat", "--loglevel", "INFO",
        "--schedule", "/data/gravity/celerybeat-schedule"]
    assert result["instances"]["_default_"]["celery_beat_host"] == "h1"


def test_relative_data_dir_is_under_galaxy_root():
    result = plan(gravity={"galaxy_root": "/g"})
    assert proc(result, "galaxy-celery-beat.service")["argv"][-1] == "/g/database/gravity/celerybeat-schedule"
    result = plan(gravity={"galaxy_root": "/g"}, galaxy_installed=True)
    assert proc(result, "galaxy-celery-beat.service")["argv"][-1] == "/g/data/gravity/celerybeat-schedule"


def test_preload_false_gets_sighup_reload_and_no_flag():
    p = proc(plan(gravity={"gunicorn": {"preload": False}}), "galaxy-gunicorn.service")
    assert p["reload"] == "hup" and "--preload" not in p["argv"]


def test_gunicorn_list_gives_a_template_unit_whose_instances_keep_their_own_settings():
    result = plan(gravity={"gunicorn": [{"bind": "0.0.0.0:8080", "workers": 2, "start_timeout": 30},
                                        {"bind": "0.0.0.0:8081", "enable": False},
                                        {"bind": "0.0.0.0:8082", "memory_limit": 3}]})
    assert [u for u in units(result) if "gunicorn" in u] == ["galaxy-gunicorn@.service"]
    unit = units(result)["galaxy-gunicorn@.service"]
    assert (unit["template"], unit["service_name"], unit["description"]) == (
        True, "gunicorn", "Galaxy gunicorn (process %i)")
    # instances are numbered among the enabled gunicorns, as Gravity numbers them
    first, third = unit["instances"]
    assert [(p["index"], p["unit"], p["server_name"]) for p in unit["instances"]] == [
        (0, "galaxy-gunicorn@0.service", "gunicorn0"), (1, "galaxy-gunicorn@1.service", "gunicorn2")]
    assert "--workers=2" in first["argv"] and first["start_timeout"] == 30 and first["memory_limit"] is None
    assert "--workers=1" in third["argv"] and third["start_timeout"] == 15 and third["memory_limit"] == 3
    members = result["instances"]["_default_"]["upstream"]["members"]
    assert [(m["unit"], m["index"], m["server_name"], m["address"]) for m in members] == [
        ("galaxy-gunicorn@0.service", 0, "gunicorn0", "h1:8080"),
        ("galaxy-gunicorn@1.service", 1, "gunicorn2", "h1:8082")]


def test_gunicorn_list_of_one_enabled_gets_the_plain_unit_name():
    result = plan(gravity={"gunicorn": [{"bind": "0.0.0.0:8080", "enable": False}, {"bind": "0.0.0.0:8081"}]})
    unit = units(result)["galaxy-gunicorn.service"]
    assert (unit["template"], unit["description"]) == (False, "Galaxy gunicorn")
    assert [(p["index"], p["unit"], p["server_name"]) for p in unit["instances"]] == [
        (None, "galaxy-gunicorn.service", "gunicorn1")]
    assert [(m["unit"], m["index"]) for m in result["instances"]["_default_"]["upstream"]["members"]] == [
        ("galaxy-gunicorn.service", 1)]
    nothing = plan(gravity={"gunicorn": [{"enable": False}]})
    assert not [u for u in units(nothing) if "gunicorn" in u]


def test_direct_style_or_no_service_instances_name_each_process():
    for setting in ({"service_command_style": "direct"}, {"use_service_instances": False}):
        result = plan(gravity=dict(setting, gunicorn=[{"bind": "0.0.0.0:8080"}, {"bind": "0.0.0.0:8081"}],
                                   handlers={"handler": {"processes": 2}}))
        assert [u for u in units(result) if "celery" not in u] == [
            "galaxy-gunicorn0.service", "galaxy-gunicorn1.service", "galaxy-handler_0.service",
            "galaxy-handler_1.service"]
        unit = units(result)["galaxy-gunicorn1.service"]
        assert (unit["template"], unit["service_name"], unit["description"]) == (False, "gunicorn1", "Galaxy gunicorn1")
        assert (unit["instances"][0]["index"], unit["instances"][0]["unit"]) == (None, "galaxy-gunicorn1.service")
        assert result["instances"]["_default_"]["handlers"]["handler_1"]["unit"] == "galaxy-handler_1.service"


def test_tusd_list_gives_a_template_unit():
    tusd = [{"enable": True, "upload_dir": "/u", "port": 1080}, {"enable": True, "upload_dir": "/u", "port": 1081}]
    result = plan(gravity={"tusd": tusd}, galaxy={**ASSIGNED, "galaxy_infrastructure_url": "http://g"})
    unit = units(result)["galaxy-tusd@.service"]
    assert unit["template"] and [(p["unit"], p["server_name"]) for p in unit["instances"]] == [
        ("galaxy-tusd@0.service", "tusd0"), ("galaxy-tusd@1.service", "tusd1")]
    assert [s["unit"] for s in result["instances"]["_default_"]["services"]["tusd"]] == [
        "galaxy-tusd@0.service", "galaxy-tusd@1.service"]


def test_gunicorn_version_adds_no_control_socket():
    assert "--no-control-socket" in proc(plan(gunicorn_version="25.1.0"), "galaxy-gunicorn.service")["argv"]
    assert "--no-control-socket" not in proc(plan(gunicorn_version="23.0.0"), "galaxy-gunicorn.service")["argv"]


def test_memory_umask_user_group_and_log_namespace():
    result = plan(gravity={"memory_limit": 4, "memory_high": 3.5, "umask": "027", "galaxy_user": "gx",
                           "galaxy_group": "gg", "log_namespace": "galaxy",
                           "celery": {"memory_limit": 1.5, "umask": "077"}})
    gunicorn, celery = proc(result, "galaxy-gunicorn.service"), proc(result, "galaxy-celery.service")
    assert (gunicorn["memory_limit"], gunicorn["memory_high"], gunicorn["umask"]) == (4, 3.5, "027")
    assert (celery["memory_limit"], celery["umask"]) == (1.5, "077")
    assert (gunicorn["user"], gunicorn["group"], gunicorn["log_namespace"]) == ("gx", "gg", "galaxy")


def test_environment_values_are_formatted_like_gravity():
    result = plan(gravity={"gunicorn": {"environment": {"PATH": "/opt/bin", "X": "{server_name}-{galaxy_root}"}}})
    env = proc(result, "galaxy-gunicorn.service")["environment"]
    assert env["X"] == "gunicorn-/srv/galaxy/server"
    assert env["PATH"] == "/srv/galaxy/venv/bin/:/opt/bin"


def test_unknown_environment_variable_is_an_error():
    found = problems(gravity={"gunicorn": {"environment": {"X": "{nope}"}}})
    assert len(found) == 1
    assert found[0].startswith("galaxy_config: gravity.gunicorn.environment.X: cannot expand '{nope}': KeyError")
    assert found[0].endswith("(host h1)")


def test_tusd_gx_it_proxy_reports():
    result = plan(
        gravity={"tusd": {"enable": True, "upload_dir": "/up", "host": "0.0.0.0"},
                 "gx_it_proxy": {"enable": True, "forward_ip": "10.0.0.1", "reverse_proxy": True},
                 "reports": {"enable": True, "url_prefix": "/reports"}},
        galaxy={**ASSIGNED, "galaxy_infrastructure_url": "https://g.example.org/", "interactivetools_enable": True,
                "interactivetools_map": "/m.sqlite", "interactivetools_base_path": "/it/"})
    assert proc(result, "galaxy-tusd.service")["argv"] == [
        "tusd", "-host=0.0.0.0", "-port=1080", "-upload-dir=/up", "-hooks-http=https://g.example.org/api/upload/hooks",
        "-hooks-http-forward-headers=X-Api-Key,Cookie", "-hooks-enabled-events", "pre-create"]
    assert list(proc(result, "galaxy-tusd.service")["environment"]) == ["VIRTUAL_ENV", "PATH"]
    gx = proc(result, "galaxy-gx-it-proxy.service")
    assert gx["argv"] == ["/srv/galaxy/venv/bin/npx", "@galaxyproject/gx-it-proxy@>=0.0.6", "--ip", "localhost",
                          "--port", "4002", "--sessions", "/m.sqlite", "--verbose", "--forwardIP", "10.0.0.1",
                          "--reverseProxy", "--proxyPathPrefix", "/it/interactivetool/ep"]
    assert gx["environment"]["npm_config_yes"] == "true"
    reports = proc(result, "galaxy-reports.service")
    assert reports["argv"][-2:] == ["--env", "SCRIPT_NAME=/reports"]
    assert reports["environment"]["GALAXY_REPORTS_CONFIG"] == "/srv/galaxy/config/reports.yml"
    assert reports["reload"] == "hup"
    services = result["instances"]["_default_"]["services"]
    assert services["tusd"] == [{"host": "h1", "unit": "galaxy-tusd.service", "bind": "0.0.0.0:1080",
                                 "address": "h1:1080"}]
    assert services["reports"][0]["url_prefix"] == "/reports"


def test_reports_config_file_must_exist_beside_galaxy_yml(tmp_path):
    config = {"gravity": {"reports": {"enable": True}}, "galaxy": {}}
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config=config, inventory=inventory(ALL_IN_ONE), options={"config_dir": str(tmp_path)})
    assert str(info.value) == (f"galaxy_config: gravity.reports.config_file: reports.yml does not exist beside "
                               f"galaxy.yml ({tmp_path}); reports needs its configuration file (host h1)")
    (tmp_path / "reports.yml").write_text("reports: {}\n")
    build_plan(galaxy_config=config, inventory=inventory(ALL_IN_ONE), options={"config_dir": str(tmp_path)})


def test_interactivetoolsproxy_map_is_used_for_sessions():
    result = plan(gravity={"gx_it_proxy": {"enable": True}},
                  galaxy={**ASSIGNED, "interactivetools_enable": True, "interactivetools_map": "/a.sqlite",
                          "interactivetoolsproxy_map": "postgresql:///its"})
    argv = proc(result, "galaxy-gx-it-proxy.service")["argv"]
    assert argv[argv.index("--sessions") + 1] == "postgresql:///its"


def test_tusd_needs_infrastructure_url_and_gx_it_proxy_needs_interactivetools():
    found = problems(gravity={"tusd": {"enable": True, "upload_dir": "/u"}, "gx_it_proxy": {"enable": True}})
    assert found == [
        "galaxy_config: galaxy.galaxy_infrastructure_url: must be set to run tusd (its hooks_http "
        "'/api/upload/hooks' is relative) (host h1)",
        "galaxy_config: galaxy.interactivetools_enable: must be true to run gx-it-proxy "
        "(gravity.gx_it_proxy.enable is true) (host h1)"]


def test_static_and_dynamic_handlers_single_host():
    galaxy = {"job_config": {"handling": {"assign": ["db-skip-locked"], "processes": {"sh0": {"environment": {"A": "b"}}}}}}
    result = plan(gravity={"handlers": {"handler": {"processes": 2, "pools": ["job-handlers"]}, "special1": {}}},
                  galaxy=galaxy)
    assert [u for u in units(result) if "gunicorn" not in u and "celery" not in u] == [
        "galaxy-sh0.service", "galaxy-handler@.service", "galaxy-special1.service"]
    handler = units(result)["galaxy-handler@.service"]
    assert (handler["template"], handler["service_name"], handler["description"]) == (
        True, "handler", "Galaxy handler (process %i)")
    assert [(p["index"], p["unit"], p["server_name"]) for p in handler["instances"]] == [
        (0, "galaxy-handler@0.service", "handler_0"), (1, "galaxy-handler@1.service", "handler_1")]
    assert handler["instances"][1]["argv"] == [
        "/srv/galaxy/venv/bin/python", "./scripts/galaxy-main", "-c", "/srv/galaxy/config/galaxy.yml",
        "--server-name=handler_1", "--attach-to-pool=job-handlers"]
    assert not units(result)["galaxy-special1.service"]["template"]
    assert proc(result, "galaxy-special1.service")["server_name"] == "special1"
    sh0 = proc(result, "galaxy-sh0.service")
    assert list(sh0["environment"].items()) == [("VIRTUAL_ENV", "/srv/galaxy/venv"), ("A", "b"), ("PATH", VENV_PATH)]
    assert (sh0["start_timeout"], sh0["stop_timeout"]) == (20, 65)
    roster = result["instances"]["_default_"]["handlers"]
    assert roster["sh0"] == {"host": "h1", "unit": "galaxy-sh0.service", "index": 0, "key": None, "pools": [],
                             "tags": [], "static": True}
    assert roster["handler_1"] == {"host": "h1", "unit": "galaxy-handler@1.service", "index": 1, "key": "handler",
                                   "pools": ["job-handlers"], "tags": [], "static": False}
    assert roster["special1"]["pools"] == ["job-handlers", "workflow-schedulers"]


def test_installed_galaxy_runs_galaxy_main_from_the_venv():
    result = plan(gravity={"handlers": {"handler": {}}}, galaxy_installed=True)
    assert proc(result, "galaxy-handler.service")["argv"][:2] == ["/srv/galaxy/venv/bin/galaxy-main", "-c"]


def test_dynamic_key_with_one_process_is_named_by_the_key():
    """Gravity's default style: one unit named by the key (galaxy-handler.service), whatever the
    server name (handler_0, or the template's), except a key ending in a digit, used as is."""
    result = plan(gravity={"handlers": {"handler": {}, "tmpl": {"name_template": "{name}x{process}"},
                                        "handler7": {}}})
    named = {u: (v["template"], [(p["index"], p["unit"], p["server_name"]) for p in v["instances"]])
             for u, v in units(result).items() if "gunicorn" not in u and "celery" not in u}
    assert named == {
        "galaxy-handler.service": (False, [(None, "galaxy-handler.service", "handler_0")]),
        "galaxy-tmpl.service": (False, [(None, "galaxy-tmpl.service", "tmplx0")]),
        "galaxy-handler7.service": (False, [(None, "galaxy-handler7.service", "handler7")]),
    }
    roster = result["instances"]["_default_"]["handlers"]
    assert (roster["handler_0"]["unit"], roster["handler_0"]["index"]) == ("galaxy-handler.service", 0)


def test_unit_of_a_dynamic_key_clashing_with_a_static_handler_is_an_error():
    """Static handler `handler` and dynamic key `handler` with one process both get
    galaxy-handler.service (Gravity writes one of them and loses the other)."""
    galaxy = {"job_config": {"handling": {"assign": ["db-skip-locked"], "processes": {"handler": {}}}}}
    found = problems(gravity={"handlers": {"handler": {}}}, galaxy=galaxy)
    assert found == ["galaxy_config: gravity.handlers.handler: unit galaxy-handler.service is planned twice on "
                     "this host (host h1)"]


def test_named_instance_prefixes_units_target_and_upstream():
    result = plan(gravity={"instance_name": "main"})
    assert list(units(result))[0] == "galaxy-main-gunicorn.service"
    assert units(result)["galaxy-main-gunicorn.service"]["description"] == "Galaxy main gunicorn"
    inst = result["instances"]["main"]
    assert (inst["target"], inst["unit_prefix"], inst["upstream"]["name"]) == ("galaxy-main.target", "galaxy-main",
                                                                               "galaxy_main")


def test_gravity_list_with_several_instances(tmp_path):
    (tmp_path / "one.yml").write_text("galaxy:\n  job_config: {handling: {assign: [db-skip-locked]}}\n")
    (tmp_path / "two.yml").write_text("galaxy: {}\n")
    two = tmp_path / "two.yml"
    (tmp_path / "gravity.yml").write_text(
        "gravity:\n"
        "  - {instance_name: one, galaxy_config_file: one.yml, gunicorn: {bind: '0.0.0.0:8080'}}\n"
        "  - {instance_name: two, galaxy_config_file: " + str(two) + ", gunicorn: {bind: '0.0.0.0:9090'},"
        " celery: {enable: false, enable_beat: false}}\n")
    result = build_plan(galaxy_config_file=str(tmp_path / "gravity.yml"), inventory=inventory(ALL_IN_ONE),
                        options={"galaxy_config_path": "/etc/galaxy/gravity.yml"})
    assert list(units(result)) == ["galaxy-one-gunicorn.service", "galaxy-one-celery.service",
                                   "galaxy-one-celery-beat.service", "galaxy-two-gunicorn.service"]
    assert result["instances"]["one"]["galaxy_config_file"] == "/etc/galaxy/one.yml"
    assert result["instances"]["two"]["galaxy_config_file"] == str(two)
    assert result["hosts"]["h1"]["targets"] == ["galaxy-one.target", "galaxy-two.target"]


def test_duplicate_instance_names_and_missing_galaxy_config_file(tmp_path):
    (tmp_path / "g.yml").write_text("galaxy: {}\n")
    (tmp_path / "gravity.yml").write_text(
        "gravity:\n  - {instance_name: a, galaxy_config_file: g.yml}\n  - {instance_name: a, galaxy_config_file: g.yml}\n"
        "  - {instance_name: b}\n")
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config_file=str(tmp_path / "gravity.yml"), inventory=inventory(ALL_IN_ONE))
    found = [str(p) for p in info.value.problems]
    assert f"{tmp_path}/gravity.yml: gravity.2.galaxy_config_file: is required when several Gravity " \
           "configurations are listed" in found
    assert f"{tmp_path}/gravity.yml: gravity.1.instance_name: duplicate instance name 'a': instance names must " \
           "be unique" in found


def test_config_file_errors(tmp_path):
    (tmp_path / "bad.yml").write_text("gravity: [\n")
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config_file=str(tmp_path / "bad.yml"), inventory=inventory(ALL_IN_ONE))
    assert "cannot parse the Galaxy/Gravity configuration" in str(info.value)
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config={"other": 1}, inventory=inventory(ALL_IN_ONE))
    assert str(info.value) == "galaxy_config: does not look like a Galaxy or Gravity configuration (no galaxy or " \
                              "gravity section)"
    with pytest.raises(PlanError) as info:
        build_plan(inventory=inventory(ALL_IN_ONE))
    assert "one of galaxy_config_file, galaxy_config or gravity_config_file is required" in str(info.value)


# ---------------------------------------------------------------- placement
CLUSTER = {"galaxy_web": ["web1", "web2"], "galaxy_handlers": ["hd1", "hd2"], "galaxy_celery": ["cel1", "cel2"],
           "galaxy_proxy": ["proxy"]}
WIDE = {"gunicorn": {"bind": "0.0.0.0:8080"}}


def test_services_go_to_their_groups_and_others_get_nothing():
    result = plan(gravity=dict(WIDE, handlers={"handler": {}}), inv_groups=CLUSTER, hostvars={"lonely": {}})
    assert list(units(result, "web1")) == ["galaxy-gunicorn.service"]
    assert list(units(result, "cel1")) == ["galaxy-celery.service", "galaxy-celery-beat.service"]
    assert list(units(result, "cel2")) == ["galaxy-celery.service"]
    assert list(units(result, "hd2")) == ["galaxy-handler.service"]
    assert proc(result, "galaxy-handler.service", "hd2")["server_name"] == "handler_hd2_0"
    assert units(result, "proxy") == {} and result["hosts"]["proxy"]["targets"] == []
    assert result["hosts"]["lonely"] == {"address": "lonely", "groups": [], "targets": [], "units": {}}


def test_tusd_reports_gx_it_proxy_fall_back_to_web_hosts_or_use_their_group():
    gravity = dict(WIDE, tusd={"enable": True, "upload_dir": "/u", "host": "0.0.0.0"})
    galaxy = {**ASSIGNED, "galaxy_infrastructure_url": "http://g"}
    result = plan(gravity=gravity, galaxy=galaxy, inv_groups=CLUSTER)
    assert [s["host"] for s in result["instances"]["_default_"]["services"]["tusd"]] == ["web1", "web2"]
    result = plan(gravity=gravity, galaxy=galaxy, inv_groups=dict(CLUSTER, galaxy_tusd=["cel2"]))
    assert [s["host"] for s in result["instances"]["_default_"]["services"]["tusd"]] == ["cel2"]
    assert "galaxy-tusd.service" not in units(result, "web1")


def test_group_names_are_configurable():
    groups = {"webservers": ["w"], "celeryhosts": ["w"]}
    result = plan(inv_groups=groups, groups={"web": "webservers", "celery": "celeryhosts"})
    assert list(units(result, "w")) == ["galaxy-gunicorn.service", "galaxy-celery.service",
                                        "galaxy-celery-beat.service"]
    assert result["hosts"]["w"]["groups"] == ["webservers", "celeryhosts"]


def test_upstream_addresses():
    hostvars = {"web1": {"ansible_host": "10.0.0.1", "fleet_address": "192.168.0.1"}, "web2": {"ansible_host": "10.0.0.2"}}
    result = plan(gravity=WIDE, inv_groups=CLUSTER, hostvars=hostvars)
    members = result["instances"]["_default_"]["upstream"]["members"]
    assert [(m["host"], m["address"], m["health_url"]) for m in members] == [
        ("web1", "192.168.0.1:8080", "http://192.168.0.1:8080/api/version"),
        ("web2", "10.0.0.2:8080", "http://10.0.0.2:8080/api/version")]
    assert proc(result, "galaxy-gunicorn.service", "web1")["health_url"] == "http://127.0.0.1:8080/api/version"
    result = plan(gravity={"gunicorn": {"bind": "[::]:8080"}}, inv_groups=CLUSTER, galaxy={**ASSIGNED,
                  "galaxy_url_prefix": "/galaxy/"}, hostvars={"web1": {"ansible_host": "fd00::1"}})
    member = result["instances"]["_default_"]["upstream"]["members"][0]
    assert (member["address"], member["health_url"]) == ("[fd00::1]:8080", "http://[fd00::1]:8080/galaxy/api/version")


def test_per_host_overrides_deep_merge():
    hostvars = {"web2": {"fleet_gravity": {"gunicorn": {"workers": 3}}}}
    result = plan(gravity={"gunicorn": {"bind": "0.0.0.0:8080", "workers": 2, "timeout": 60}}, inv_groups=CLUSTER,
                  hostvars=hostvars)
    assert "--workers=2" in proc(result, "galaxy-gunicorn.service", "web1")["argv"]
    web2 = proc(result, "galaxy-gunicorn.service", "web2")["argv"]
    assert "--workers=3" in web2 and "60" in web2 and "0.0.0.0:8080" in web2


def test_deep_merge_replaces_lists_and_null_removes():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "d": None}) == {"a": {"b": 1, "c": [3]}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}


def test_gunicorn_instances_extension():
    hostvars = {"web2": {"fleet_gravity": {"gunicorn": {"instances": 3}}}}
    result = plan(gravity=WIDE, inv_groups=CLUSTER, hostvars=hostvars)
    assert list(units(result, "web1")) == ["galaxy-gunicorn.service"]
    assert list(units(result, "web2")) == ["galaxy-gunicorn@.service"]
    web2 = units(result, "web2")["galaxy-gunicorn@.service"]["instances"]
    assert [(p["index"], p["unit"], p["server_name"], p["bind"]) for p in web2] == [
        (0, "galaxy-gunicorn@0.service", "gunicorn0", "0.0.0.0:8080"),
        (1, "galaxy-gunicorn@1.service", "gunicorn1", "0.0.0.0:8081"),
        (2, "galaxy-gunicorn@2.service", "gunicorn2", "0.0.0.0:8082")]
    members = result["instances"]["_default_"]["upstream"]["members"]
    assert [(m["address"], m["unit"], m["index"]) for m in members] == [
        ("web1:8080", "galaxy-gunicorn.service", 0), ("web2:8080", "galaxy-gunicorn@0.service", 0),
        ("web2:8081", "galaxy-gunicorn@1.service", 1), ("web2:8082", "galaxy-gunicorn@2.service", 2)]
    single = plan(gravity={"gunicorn": {"bind": "unix:/run/g.sock", "instances": 2}})
    assert [p["bind"] for p in units(single)["galaxy-gunicorn@.service"]["instances"]] == [
        "unix:/run/g-0.sock", "unix:/run/g-1.sock"]
    one = plan(gravity={"gunicorn": {"bind": "0.0.0.0:8080", "instances": 1}})
    assert proc(one, "galaxy-gunicorn.service")["server_name"] == "gunicorn0"


def test_two_web_hosts_with_two_and_one_gunicorns():
    """web1 runs a gunicorn list of two (a template unit), web2 a single gunicorn (a plain unit)."""
    hostvars = {"web1": {"fleet_gravity": {"gunicorn": [{"bind": "0.0.0.0:8080"}, {"bind": "0.0.0.0:8081"}]}}}
    result = plan(gravity=WIDE, inv_groups=CLUSTER, hostvars=hostvars)
    web1, web2 = units(result, "web1"), units(result, "web2")
    assert list(web1) == ["galaxy-gunicorn@.service"] and list(web2) == ["galaxy-gunicorn.service"]
    assert web1["galaxy-gunicorn@.service"]["template"] is True
    assert [(p["index"], p["unit"]) for p in web1["galaxy-gunicorn@.service"]["instances"]] == [
        (0, "galaxy-gunicorn@0.service"), (1, "galaxy-gunicorn@1.service")]
    assert web2["galaxy-gunicorn.service"]["template"] is False
    assert [(p["index"], p["unit"]) for p in web2["galaxy-gunicorn.service"]["instances"]] == [
        (None, "galaxy-gunicorn.service")]
    members = result["instances"]["_default_"]["upstream"]["members"]
    assert [(m["host"], m["unit"], m["index"], m["address"]) for m in members] == [
        ("web1", "galaxy-gunicorn@0.service", 0, "web1:8080"), ("web1", "galaxy-gunicorn@1.service", 1, "web1:8081"),
        ("web2", "galaxy-gunicorn.service", 0, "web2:8080")]


def test_dynamic_key_on_two_hosts_gives_each_host_the_template():
    hostvars = {"hd2": {"fleet_gravity": {"handlers": {"handler": {"processes": 1}}}}}
    result = plan(gravity=dict(WIDE, handlers={"handler": {"processes": 2}}), inv_groups=CLUSTER, hostvars=hostvars)
    assert [(p["unit"], p["server_name"]) for p in units(result, "hd1")["galaxy-handler@.service"]["instances"]] == [
        ("galaxy-handler@0.service", "handler_hd1_0"), ("galaxy-handler@1.service", "handler_hd1_1")]
    assert proc(result, "galaxy-handler.service", "hd2")["server_name"] == "handler_hd2_0"
    roster = result["instances"]["_default_"]["handlers"]
    assert [(n, r["host"], r["unit"], r["index"]) for n, r in roster.items()] == [
        ("handler_hd1_0", "hd1", "galaxy-handler@0.service", 0), ("handler_hd1_1", "hd1", "galaxy-handler@1.service", 1),
        ("handler_hd2_0", "hd2", "galaxy-handler.service", 0)]


def test_override_problems_name_the_inventory_and_host():
    hostvars = {"web2": {"fleet_gravity": {"gunicorn": {"workers": 0}}},
                "web1": {"fleet_gravity": ["not", "a", "mapping"]},
                "cel1": {"fleet_gravity": {"instance_name": "x"}}}
    found = problems(gravity=WIDE, inv_groups=CLUSTER, hostvars=hostvars)
    assert "inventory: fleet_gravity.gunicorn.workers: must be an integer >= 1, got 0 (host web2)" in found
    assert "inventory: fleet_gravity: must be a mapping of Gravity settings (host web1)" in found
    assert "inventory: fleet_gravity.instance_name: cannot be changed per host (host cel1)" in found


def test_base_problems_are_not_repeated_for_every_overridden_host():
    hostvars = {"web2": {"fleet_gravity": {"gunicorn": {"timeout": 5}}}}
    found = problems(gravity={"gunicorn": {"bind": "0.0.0.0:8080", "workers": 0}}, inv_groups=CLUSTER, hostvars=hostvars)
    assert found == ["galaxy_config: gravity.gunicorn.workers: must be an integer >= 1, got 0"]


# ---------------------------------------------------------------- handlers across hosts
def test_handler_names_unique_across_hosts_with_host_variable():
    result = plan(gravity={"handlers": {"handler": {"processes": 2}, "special": {"processes": 1}}},
                  inv_groups=CLUSTER, hostvars={"hd2": {"fleet_gravity": {"handlers": {"special": None}}}})
    roster = result["instances"]["_default_"]["handlers"]
    assert sorted(roster) == ["handler_hd1_0", "handler_hd1_1", "handler_hd2_0", "handler_hd2_1", "special_0"]
    assert roster["special_0"]["host"] == "hd1"


def test_host_variable_is_sanitised():
    result = plan(gravity={"handlers": {"h": {"name_template": "{name}-{host}-{process}"}}},
                  inv_groups={"galaxy_handlers": ["hd.example.org"]})
    assert list(result["instances"]["_default_"]["handlers"]) == ["h-hd_example_org-0"]


def test_digit_key_runs_as_is_only_on_one_host():
    single = plan(gravity={"handlers": {"handler0": {}}})
    assert "handler0" in single["instances"]["_default_"]["handlers"]
    shared = plan(gravity={"handlers": {"handler0": {}}}, inv_groups=CLUSTER)
    assert sorted(shared["instances"]["_default_"]["handlers"]) == ["handler0_hd1_0", "handler0_hd2_0"]


def test_template_without_host_on_several_hosts_is_a_duplicate():
    found = problems(gravity={"handlers": {"handler": {"name_template": "{name}_{process}"}}}, inv_groups=CLUSTER)
    assert found == ["galaxy_config: gravity.handlers.handler.name_template: handler server name 'handler_0' is "
                     "not unique: the dynamic handler key handler on hd1 has it too (host hd2)"]


def test_static_and_dynamic_name_collision():
    galaxy = {"job_config": {"handling": {"assign": ["db-skip-locked"], "processes": {"handler_0": {}}}}}
    found = problems(gravity={"handlers": {"handler": {}}}, galaxy=galaxy)
    assert found == ["galaxy_config: gravity.handlers.handler.name_template: handler server name 'handler_0' is "
                     "not unique: the static handler on h1 has it too (host h1)"]


def test_bad_template_result_is_an_error():
    found = problems(gravity={"handlers": {"h": {"name_template": "{name} {process}"}}})
    assert found == ["galaxy_config: gravity.handlers.h.name_template: gives server name 'h 0': use only letters, "
                     "digits, '_', '-' and '.' (host h1)"]


STATIC = {"job_config": {"handling": {"assign": ["db-skip-locked"],
                                      "processes": {"s0": {}, "s1": {"tags": ["big"]}, "s2": {}}}}}


def test_static_handlers_spread_round_robin():
    roster = plan(galaxy=STATIC, inv_groups=CLUSTER)["instances"]["_default_"]["handlers"]
    assert [(n, r["host"]) for n, r in roster.items()] == [("s0", "hd1"), ("s2", "hd1"), ("s1", "hd2")]


def test_static_handlers_placed_explicitly():
    roster = plan(galaxy=STATIC, inv_groups=CLUSTER, hostvars={"hd2": {"fleet_static_handlers": ["s0", "s2"]}}
                  )["instances"]["_default_"]["handlers"]
    assert {n: r["host"] for n, r in roster.items()} == {"s0": "hd2", "s1": "hd1", "s2": "hd2"}
    assert roster["s1"]["tags"] == ["big"]


def test_static_placement_errors():
    hostvars = {"hd1": {"fleet_static_handlers": ["s0", "nope"]}, "hd2": {"fleet_static_handlers": ["s0"]},
                "web1": {"fleet_static_handlers": ["s1"]}, "cel1": {"fleet_static_handlers": "s2"}}
    found = problems(galaxy=STATIC, inv_groups=CLUSTER, hostvars=hostvars)
    assert "inventory: fleet_static_handlers.nope: no such static handler in galaxy_config (galaxy.job_config) " \
           "(host hd1)" in found
    assert "inventory: fleet_static_handlers.s0: a static handler runs on exactly one host, but it is also placed " \
           "on hd1 (host hd2)" in found
    assert "inventory: fleet_static_handlers: web1 is not in the handlers group galaxy_handlers (host web1)" in found
    assert "inventory: fleet_static_handlers: must be a list of handler ids (host cel1)" in found


def test_static_handlers_without_handler_hosts():
    found = problems(galaxy=STATIC, inv_groups={"galaxy_web": ["w"]})
    assert found == ["galaxy_config (galaxy.job_config): handlers: the job configuration defines static handlers "
                     "(s0, s1, s2) but the handlers group galaxy_handlers has no hosts"]


def test_tool_mappings_need_a_running_handler(tmp_path):
    (tmp_path / "job_conf.xml").write_text(
        '<job_conf><handlers assign_with="db-skip-locked" default="nobody"><handler id="main0" tags="big"/></handlers>'
        '<tools><tool id="ok1" handler="big"/><tool id="ok2" handler="main0"/><tool id="ok3" handler="special"/>'
        '<tool id="bad" handler="ghost"/></tools></job_conf>')
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config={"gravity": {"handlers": {"h": {"pools": ["job-handlers.special"]}}}, "galaxy": {}},
                   inventory=inventory(ALL_IN_ONE), options={"config_dir": str(tmp_path)})
    job_conf = f"{tmp_path}/job_conf.xml"
    assert [str(p) for p in info.value.problems] == [
        f"{job_conf}: job_conf.tools.tool[bad].handler: tool bad is sent to handler 'ghost', but no running handler "
        "has that id or tag",
        f"{job_conf}: job_conf.handlers.default: the default handler is sent to handler 'nobody', but no running "
        "handler has that id or tag"]


def test_dynamic_handlers_need_db_assignment_unless_allowed():
    found = problems(gravity={"handlers": {"handler": {}}}, galaxy={})
    assert found == ["galaxy_config: galaxy.job_config: dynamic handlers are configured (gravity.handlers) but the "
                     "job configuration does not assign jobs with db-skip-locked or db-transaction-isolation, so "
                     "they would never get a job (set allow_unassigned_dynamic_handlers to accept this)"]
    result = plan(gravity={"handlers": {"handler": {}}}, galaxy={}, allow_unassigned_dynamic_handlers=True)
    assert any("dynamic handlers are configured" in w for w in result["warnings"])
    result = plan(gravity={"handlers": {"handler": {}}},
                  galaxy={"job_config": {"handling": {"assign": ["db-transaction-isolation"]}}})
    assert "handler_0" in result["instances"]["_default_"]["handlers"]


# ---------------------------------------------------------------- binds and reachability
def test_two_processes_binding_the_same_port_on_one_host():
    found = problems(gravity={"gunicorn": [{"bind": "0.0.0.0:8080"}, {"bind": "127.0.0.1:8080"}],
                              "reports": {"enable": True, "bind": "localhost:8081"},
                              "tusd": {"enable": True, "upload_dir": "/u", "port": 8081}},
                     galaxy={**ASSIGNED, "galaxy_infrastructure_url": "http://g"})
    assert found == [
        "galaxy_config: gravity.gunicorn.1.bind: galaxy-gunicorn@1.service binds 127.0.0.1:8080, which "
        "galaxy-gunicorn@0.service already binds (0.0.0.0:8080) (host h1)",
        "galaxy_config: gravity.reports.bind: galaxy-reports.service binds localhost:8081, which "
        "galaxy-tusd.service already binds (localhost:8081) (host h1)"]


def test_same_port_on_different_addresses_or_hosts_is_fine():
    plan(gravity={"gunicorn": [{"bind": "127.0.0.1:8080"}, {"bind": "127.0.0.2:8080"}]})
    plan(gravity=WIDE, inv_groups=CLUSTER)


def test_same_unix_socket_twice_is_an_error():
    found = problems(gravity={"gunicorn": [{"bind": "unix:/run/g.sock"}, {"bind": "unix:/run/g.sock"}]})
    assert found == ["galaxy_config: gravity.gunicorn.1.bind: galaxy-gunicorn@1.service binds unix:/run/g.sock, "
                     "which galaxy-gunicorn@0.service already binds (unix:/run/g.sock) (host h1)"]


def test_unix_socket_needs_the_proxy_on_the_same_host():
    result = plan(gravity={"gunicorn": {"bind": "unix:/run/g.sock"}})
    member = result["instances"]["_default_"]["upstream"]["members"][0]
    assert member["address"] == "unix:/run/g.sock"
    assert member["health_url"] == {"socket": "/run/g.sock", "path": "/api/version"}
    found = problems(gravity={"gunicorn": {"bind": "unix:/run/g.sock"}}, inv_groups=CLUSTER)
    assert found == [
        "galaxy_config: gravity.gunicorn.bind: unix socket unix:/run/g.sock cannot be reached from proxy host(s) "
        "proxy: a socket bind needs the proxy on the same host (host web1)",
        "galaxy_config: gravity.gunicorn.bind: unix socket unix:/run/g.sock cannot be reached from proxy host(s) "
        "proxy: a socket bind needs the proxy on the same host (host web2)"]


def test_loopback_bind_unreachable_from_a_remote_proxy():
    found = problems(gravity={"gunicorn": {"bind": "localhost:8080"}},
                     inv_groups={"galaxy_web": ["web1"], "galaxy_proxy": ["web1", "proxy"]})
    assert found == ["galaxy_config: gravity.gunicorn.bind: localhost:8080 listens on the loopback interface only, "
                     "so proxy host(s) proxy cannot reach it: bind 0.0.0.0 or the host's address (host web1)"]
    ok = plan(gravity={"gunicorn": {"bind": "localhost:8080"}}, inv_groups={"galaxy_web": ["w"], "galaxy_proxy": ["w"]})
    assert ok["instances"]["_default_"]["upstream"]["members"][0]["address"] == "localhost:8080"


def test_parse_bind():
    assert parse_bind("unix:/x.sock") == ("unix", "/x.sock", None)
    assert parse_bind("0.0.0.0:80") == ("tcp", "0.0.0.0", 80)
    assert parse_bind("[::1]:80") == ("tcp", "::1", 80)
    assert parse_bind("example.org") == ("tcp", "example.org", 8000)
    with pytest.raises(ValueError):
        parse_bind("host:http")
    found = problems(gravity={"gunicorn": {"bind": "0.0.0.0:99999"}})
    assert found[0] == "galaxy_config: gravity.gunicorn.bind: invalid port '99999' in bind '0.0.0.0:99999' (host h1)"


# ---------------------------------------------------------------- celery-beat
def test_celery_beat_on_exactly_one_host():
    result = plan(inv_groups=CLUSTER, hostvars={"cel2": {"fleet_celery_beat": True}})
    assert result["instances"]["_default_"]["celery_beat_host"] == "cel2"
    assert "galaxy-celery-beat.service" in units(result, "cel2")
    assert "galaxy-celery-beat.service" not in units(result, "cel1")
    beat = {"fleet_celery_beat": True}
    found = problems(inv_groups=CLUSTER, hostvars={"cel1": beat, "cel2": beat, "web1": beat})
    assert found == ["inventory: fleet_celery_beat: web1 is not in the celery group galaxy_celery (host web1)",
                     "inventory: fleet_celery_beat: celery-beat must run on exactly one host, but it is set on "
                     "cel1, cel2"]


def test_celery_beat_disabled_or_disabled_on_the_chosen_host():
    result = plan(gravity={"celery": {"enable_beat": False}}, inv_groups=CLUSTER)
    assert result["instances"]["_default_"]["celery_beat_host"] is None
    cel2 = {"fleet_celery_beat": True, "fleet_gravity": {"celery": {"enable_beat": False}}}
    found = problems(inv_groups=CLUSTER, hostvars={"cel2": cel2})
    assert found == ["inventory: fleet_celery_beat: set on a host whose celery.enable_beat is false (host cel2)"]


def test_every_problem_is_reported_at_once():
    hostvars = {"cel1": {"fleet_celery_beat": True}, "cel2": {"fleet_celery_beat": True}}
    found = problems(gravity={"gunicorn": {"bind": "unix:/s"}, "handlers": {"h": {"processes": 0}}},
                     inv_groups=CLUSTER, hostvars=hostvars, galaxy=STATIC)
    assert len(found) == 4


def test_plan_says_which_environments_run_in_the_local_runner():
    local = {"job_config": {"handling": {"assign": ["db-skip-locked"]},
                            "runners": {"local": {"load": "galaxy.jobs.runners.local:LocalJobRunner"},
                                        "slurm": {"load": "galaxy.jobs.runners.cli:ShellJobRunner"}},
                            "execution": {"default": "slurm",
                                          "environments": {"slurm": {"runner": "slurm"}, "quick": {"runner": "local"}}}}}
    assert plan(galaxy=local)["instances"]["_default_"]["local_job_environments"] == ["quick"]
    local["job_config"]["execution"]["environments"].pop("quick")
    assert plan(galaxy=local)["instances"]["_default_"]["local_job_environments"] == []
