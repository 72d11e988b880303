"""The plan as the plan playbook prints it."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_summary import summary_lines


def test_summary_names_every_host_process_and_instance():
    groups = {"galaxy_proxy": ["proxy1"], "galaxy_web": ["web1"], "galaxy_handlers": ["handlers1"],
              "all": ["proxy1", "web1", "handlers1", "spare1"]}
    plan = build_plan(
        galaxy_config={"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}, "celery": {"enable": False, "enable_beat": False},
                                   "handlers": {"handler": {"processes": 2, "pools": ["job-handlers"]}}},
                       "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}},
        inventory={"groups": groups, "hostvars": {}}, options={})
    lines = summary_lines(plan)
    assert lines[0] == "proxy1 (proxy1) groups: galaxy_proxy, nothing to run"
    assert "web1 (web1) groups: galaxy_web" in lines
    assert "  galaxy-gunicorn.service: gunicorn gunicorn bind 0.0.0.0:8080" in lines
    assert "  galaxy-handler@1.service: standalone handler_1" in lines
    assert "spare1 (spare1) groups: -, nothing to run" in lines
    assert lines[-3:] == ["instance _default_: upstream galaxy = web1:8080",
                          "  handlers: handler_0@handlers1 handler_1@handlers1", "  celery-beat: -"]


def test_summary_of_an_empty_plan():
    assert summary_lines({"hosts": {}, "instances": {}}) == []


def test_show_lists_each_instance_its_files_and_processes_per_host():
    from ansible_collections.galaxyops.fleet.plugins.filter.plan_show import FilterModule
    from ansible_collections.galaxyops.fleet.tests.unit.plugins.plugin_utils.test_restart_order import make_plan

    lines = FilterModule().filters()["plan_show"](make_plan())
    assert lines[:2] == ["instance _default_", "  galaxy.yml on the hosts: /srv/galaxy/config/galaxy.yml"]
    assert "  upstream galaxy: 5 gunicorn(s), 3 handler(s)" in lines
    assert lines.index("  web1 (web1):") < lines.index("    galaxy-gunicorn@1.service: gunicorn gunicorn gunicorn1 bind 0.0.0.0:8081") \
        < lines.index("  web2 (web2):")
    assert "    galaxy-scheduler.service: standalone scheduler scheduler_0" in lines
    assert not any(line.startswith("  proxy1") for line in lines)
