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
