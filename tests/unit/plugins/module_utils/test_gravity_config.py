"""The Gravity configuration model: defaults, coercion like Gravity's, and every validation error."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import gravity_config as gc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, PlanError, Problem


def validate(raw):
    out = Collector()
    settings = gc.validate_gravity(raw, "galaxy.yml", "gravity", out)
    return settings, [str(p) for p in out.problems], out.warnings


def test_defaults_match_gravity_1_2_4():
    settings, problems, dummy_warnings = validate({})
    assert problems == []
    assert settings["umask"] == "022"
    assert settings["instance_name"] == "_default_"
    assert settings["service_command_style"] == "gravity"
    g = settings["gunicorn"]
    assert (g["bind"], g["workers"], g["timeout"], g["preload"]) == ("localhost:8080", 1, 300, True)
    assert (g["start_timeout"], g["stop_timeout"], g["restart_timeout"]) == (15, 65, 300)
    c = settings["celery"]
    assert (c["enable"], c["enable_beat"], c["concurrency"], c["loglevel"], c["pool"]) == (True, True, 2, "DEBUG", "threads")
    assert c["queues"] == "celery,galaxy.internal,galaxy.external"
    assert (c["start_timeout"], c["stop_timeout"]) == (10, 10)
    t = settings["tusd"]
    assert (t["enable"], t["port"], t["host"], t["upload_dir"], t["hooks_enabled_events"]) == (False, 1080, "localhost", "", "pre-create")
    x = settings["gx_it_proxy"]
    assert (x["enable"], x["port"], x["ip"], x["version"], x["verbose"]) == (False, 4002, "localhost", ">=0.0.6", True)
    r = settings["reports"]
    assert (r["enable"], r["bind"], r["config_file"], r["workers"]) == (False, "localhost:9001", "reports.yml", 1)
    assert settings["handlers"] == {}


def test_values_are_coerced_like_gravity():
    raw = {"gunicorn": {"workers": "2", "preload": "no", "memory_limit": "2"},
           "celery": {"enable": 1, "concurrency": 4.0}}
    settings, problems, dummy_warnings = validate(raw)
    assert problems == []
    assert settings["gunicorn"]["workers"] == 2
    assert settings["gunicorn"]["preload"] is False
    assert settings["gunicorn"]["memory_limit"] == 2.0
    assert settings["celery"]["enable"] is True
    assert settings["celery"]["concurrency"] == 4


def test_null_sections_get_defaults():
    settings, problems, dummy_warnings = validate({"gunicorn": None, "celery": None, "tusd": None})
    assert problems == []
    assert settings["gunicorn"]["bind"] == "localhost:8080"
    assert settings["tusd"]["enable"] is False


@pytest.mark.parametrize("raw, expected", [
    ({"gunicorn": {"workers": 0}}, "galaxy.yml: gravity.gunicorn.workers: must be an integer >= 1, got 0"),
    ({"gunicorn": {"workers": 2.5}}, "galaxy.yml: gravity.gunicorn.workers: must be an integer >= 1, got 2.5"),
    ({"gunicorn": {"bind": 8080}}, "galaxy.yml: gravity.gunicorn.bind: must be host:port, [IPv6]:port, host or unix:/path (not a URL), got 8080"),
    ({"gunicorn": {"timeout": -1}}, "galaxy.yml: gravity.gunicorn.timeout: must be an integer >= 0, got -1"),
    ({"gunicorn": {"preload": "maybe"}}, "galaxy.yml: gravity.gunicorn.preload: must be true or false (or null), got 'maybe'"),
    ({"gunicorn": {"umask": 22}}, "galaxy.yml: gravity.gunicorn.umask: must be an octal string such as \"022\" (or null), got 22 "
     "(YAML reads an unquoted 022 as the number 18: quote it)"),
    ({"gunicorn": {"environment": {"A": 1}}},
     "galaxy.yml: gravity.gunicorn.environment: must be a mapping of variable names to strings, got {'A': 1}"),
    ({"gunicorn": "x"}, "galaxy.yml: gravity.gunicorn: must be a mapping or a list of mappings, got str"),
    ({"gunicorn": [{"workers": 0}]}, "galaxy.yml: gravity.gunicorn.0.workers: must be an integer >= 1, got 0"),
    ({"celery": {"loglevel": "info"}},
     "galaxy.yml: gravity.celery.loglevel: must be one of: DEBUG, INFO, WARNING, ERROR, got 'info'"),
    ({"celery": {"pool": "x"}},
     "galaxy.yml: gravity.celery.pool: must be one of: prefork, eventlet, gevent, solo, processes, threads, got 'x'"),
    ({"celery": {"concurrency": -1}}, "galaxy.yml: gravity.celery.concurrency: must be an integer >= 0, got -1"),
    ({"celery": []}, "galaxy.yml: gravity.celery: must be a mapping, got list"),
    ({"tusd": {"enable": True}}, "galaxy.yml: gravity.tusd.upload_dir: is required"),
    ({"tusd": {"upload_dir": "/u", "port": 0}}, "galaxy.yml: gravity.tusd.port: must be an integer from 1 to 65535, got 0"),
    ({"gx_it_proxy": {"forward_port": "x"}},
     "galaxy.yml: gravity.gx_it_proxy.forward_port: must be an integer from 1 to 65535 (or null), got 'x'"),
    ({"reports": {"workers": 0}}, "galaxy.yml: gravity.reports.workers: must be an integer >= 1, got 0"),
    ({"memory_limit": "lots"}, "galaxy.yml: gravity.memory_limit: must be a number >= 0 (or null), got 'lots'"),
    ({"process_manager": "runit"},
     "galaxy.yml: gravity.process_manager: must be one of: supervisor, systemd, multiprocessing (or null), got 'runit'"),
    ({"service_command_style": "x"},
     "galaxy.yml: gravity.service_command_style: must be one of: gravity, direct, got 'x'"),
    ({"handlers": []}, "galaxy.yml: gravity.handlers: must be a mapping of handler names to settings"),
    ({"handlers": {"handler": {"processes": 0}}},
     "galaxy.yml: gravity.handlers.handler.processes: must be an integer >= 1, got 0"),
    ({"handlers": {"handler": {"processes": "2"}}},
     "galaxy.yml: gravity.handlers.handler.processes: must be an integer >= 1, got '2'"),
    ({"handlers": {"handler": {"processes": True}}},
     "galaxy.yml: gravity.handlers.handler.processes: must be an integer >= 1, got True"),
    ({"handlers": {"handler": {"pools": "job-handlers"}}},
     "galaxy.yml: gravity.handlers.handler.pools: must be a list of pool names, got 'job-handlers'"),
    ({"handlers": {"handler": {"pools": ["job handlers"]}}},
     "galaxy.yml: gravity.handlers.handler.pools: must be a list of pool names, got ['job handlers']"),
    ({"handlers": {"handler": "x"}}, "galaxy.yml: gravity.handlers.handler: must be a mapping"),
    ({"handlers": {"handler": {"environment": {"A": 2}}}},
     "galaxy.yml: gravity.handlers.handler.environment: must be a mapping of variable names to strings, got {'A': 2}"),
])
def test_each_invalid_setting_is_reported_with_file_and_key_path(raw, expected):
    dummy_settings, problems, dummy_warnings = validate(raw)
    assert problems == [expected]


def test_name_template_variables_are_checked():
    dummy_settings, problems, dummy_warnings = validate({"handlers": {"h": {"name_template": "{name}_{pid}"}}})
    assert problems == ["galaxy.yml: gravity.handlers.h.name_template: unknown variable {pid} in '{name}_{pid}'; "
                        "known: {name}, {process}, {instance_name}, {host}"]
    dummy_settings, problems, dummy_warnings = validate({"handlers": {"h": {"name_template": "{}_{process}"}}})
    assert problems[0].startswith("galaxy.yml: gravity.handlers.h.name_template: positional field {}")
    dummy_settings, problems, dummy_warnings = validate({"handlers": {"h": {"name_template": "{name"}}})
    assert problems[0].startswith("galaxy.yml: gravity.handlers.h.name_template: invalid template")
    dummy_settings, problems, dummy_warnings = validate({"handlers": {"h": {"name_template": "{name.upper}"}}})
    assert "attribute or index access" in problems[0]


def test_all_problems_are_collected_not_just_the_first():
    raw = {"gunicorn": {"workers": 0, "bind": 1}, "celery": {"pool": "x"},
           "handlers": {"a": {"processes": 0}, "b": {"processes": -3}}}
    dummy_settings, problems, dummy_warnings = validate(raw)
    assert len(problems) == 5


def test_unknown_settings_are_errors_naming_the_nearest_key():
    dummy_settings, problems, warnings = validate({"gunicron": {}, "gunicorn": {"wokers": 2}, "handlers": {"h": {"procs": 2}}})
    assert sorted(problems) == sorted([
        "galaxy.yml: gravity.gunicorn.wokers: unknown setting (did you mean 'workers'?)",
        "galaxy.yml: gravity.handlers.h.procs: unknown setting (did you mean 'processes'?)",
        "galaxy.yml: gravity.gunicron: unknown setting (did you mean 'gunicorn'?)",
    ])
    assert warnings == []


def test_gunicorn_instances_extension_is_validated():
    settings, problems, dummy_warnings = validate({"gunicorn": {"instances": 3}})
    assert problems == [] and settings["gunicorn"]["instances"] == 3
    dummy_settings, problems, dummy_warnings = validate({"gunicorn": {"instances": 0}})
    assert problems == ["galaxy.yml: gravity.gunicorn.instances: must be an integer >= 1 (or null), got 0"]


def test_problem_and_plan_error_render_one_line_each():
    first = Problem("galaxy.yml", "gravity.handlers.handler.processes", "must be an integer >= 1", "handlers1")
    second = Problem("inventory", "fleet_static_handlers", "must be a list")
    assert str(first) == "galaxy.yml: gravity.handlers.handler.processes: must be an integer >= 1 (host handlers1)"
    error = PlanError([first, second])
    assert str(error).splitlines() == [str(first), "inventory: fleet_static_handlers: must be a list"]
    assert error.problems == [first, second]
    assert first.as_dict()["host"] == "handlers1"
