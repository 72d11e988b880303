"""The plan drawn as DOT: every host, process, upstream member and pool is in the picture."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_graph import dot, quote


def _plan():
    groups = {"galaxy_proxy": ["proxy1"], "galaxy_web": ["web1", "web2"], "galaxy_handlers": ["handlers1"],
              "all": ["proxy1", "web1", "web2", "handlers1"]}
    gravity = {"gunicorn": {"bind": "0.0.0.0:8080"}, "celery": {"enable": False, "enable_beat": False},
               "handlers": {"handler": {"processes": 2, "pools": ["job-handlers", "workflow-schedulers"]},
                            "special": {"processes": 1, "pools": ["job-handlers.special"]}}}
    return build_plan(galaxy_config={"gravity": gravity,
                                     "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}},
                      inventory={"groups": groups, "hostvars": {"web1": {"fleet_gravity": {"gunicorn": {"instances": 2}}}}},
                      options={})


def edges(text):
    return set(re.findall(r'^  "([^"]+)" -> "([^"]+)"', text, re.M))


def test_every_host_process_member_and_pool_is_drawn():
    text = dot(_plan(), "test")
    for host in ("proxy1", "web1", "web2", "handlers1"):
        assert f'label="{host} (' in text
    assert ("proxy1/nginx", "upstream/_default_") in edges(text)
    members = {b for a, b in edges(text) if a == "upstream/_default_"}
    assert members == {"web1/galaxy-gunicorn@0.service", "web1/galaxy-gunicorn@1.service", "web2/galaxy-gunicorn.service"}
    assert ("pool/_default_/job-handlers", "handlers1/galaxy-handler@1.service") in edges(text)
    assert ("pool/_default_/job-handlers.special", "handlers1/galaxy-special.service") in edges(text)
    assert "pool/_default_/tag special" not in text  # a dynamic handler's tag is its pool
    assert "handler handler_0" in text and 'label="10.77' not in text


def test_static_handler_tags_and_an_idle_host():
    plan = _plan()
    plan["instances"]["_default_"]["handlers"]["main"] = {
        "host": "handlers1", "unit": "galaxy-main.service", "pools": [], "tags": ["big"], "static": True}
    plan["hosts"]["spare1"] = {"address": "spare1", "groups": [], "units": {}}
    text = dot(plan)
    assert ("pool/_default_/tag big", "handlers1/galaxy-main.service") in edges(text)
    assert '"spare1/-" [label="nothing to run"' in text


def test_quote_escapes():
    assert quote('a "b"\nc\\') == '"a \\"b\\"\\nc\\\\"'


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_renders_it():
    svg = subprocess.run(["dot", "-Tsvg"], input=dot(_plan()), capture_output=True, text=True, check=True).stdout
    assert "<svg" in svg and "handler special_0" in svg


def test_health_map_colours_processes_and_no_map_keeps_the_plan_picture():
    plan = _plan()
    assert dot(plan, "test") == dot(plan, "test", None)
    text = dot(plan, "test", {"web1/galaxy-gunicorn@0.service": "failed", "handlers1/galaxy-handler@0.service": "ok"})
    assert re.search(r'"web1/galaxy-gunicorn@0.service" \[label="[^"]*\\nfailed", [^]]*fillcolor="#f4a3a3"', text)
    assert re.search(r'"handlers1/galaxy-handler@0.service" \[label="[^"]*\\nok", [^]]*fillcolor="#b7e4b0"', text)
    assert re.search(r'"web2/galaxy-gunicorn.service" \[label="[^"]*\\nnot seen", [^]]*fillcolor="#dddddd"', text)
