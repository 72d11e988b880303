"""Which host runs celery-beat, each static handler and each dynamic handler process."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import JobConfig, StaticHandler
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_inventory import DEFAULT_GROUPS, Inventory
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_placement import (
    expand_dynamic, place_beat, place_static_handlers)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_sources import Source

BEAT = {"celery": {"enable_beat": True}, "handlers": {}}
NO_BEAT = {"celery": {"enable_beat": False}, "handlers": {}}


def inventory(groups, hostvars=None):
    return Inventory({"groups": groups, "hostvars": hostvars or {}}, dict(DEFAULT_GROUPS))


def source(gravity=None):
    return Source(gravity or {}, "galaxy.yml", "gravity", {}, "galaxy.yml", None, "/srv/galaxy.yml")


def test_beat_runs_on_the_first_celery_host_that_enables_it():
    inv = inventory({"galaxy_celery": ["c1", "c2", "c3"]})
    out = Collector()
    assert place_beat(inv, {"c1": NO_BEAT, "c2": BEAT, "c3": BEAT}, BEAT, "_default_", out) == "c2"
    assert not out.problems


def test_fleet_celery_beat_chooses_the_host_and_must_be_unique():
    inv = inventory({"galaxy_celery": ["c1", "c2"]}, {"c2": {"fleet_celery_beat": True}})
    out = Collector()
    assert place_beat(inv, {"c1": BEAT, "c2": BEAT}, BEAT, "_default_", out) == "c2"
    inv = inventory({"galaxy_celery": ["c1", "c2"], "galaxy_web": ["w1"]},
                    {h: {"fleet_celery_beat": True} for h in ("c1", "c2", "w1")})
    out = Collector()
    assert place_beat(inv, {"c1": BEAT, "c2": BEAT}, BEAT, "_default_", out) is None
    assert [str(p) for p in out.problems] == [
        "inventory: fleet_celery_beat: w1 is not in the celery group galaxy_celery (host w1)",
        "inventory: fleet_celery_beat: celery-beat must run on exactly one host, but it is set on c1, c2"]


def test_no_celery_host_warns_that_no_beat_runs():
    out = Collector()
    assert place_beat(inventory({}), {}, BEAT, "main", out) is None
    assert out.warnings == ["instance main: celery beat is enabled but the celery group galaxy_celery has no hosts: "
                            "no celery-beat runs"]


def test_static_handlers_spread_over_handler_hosts_unless_placed():
    conf = JobConfig(source="job_conf.yml", label="job_conf.yml",
                     handlers=[StaticHandler("a", []), StaticHandler("b", []), StaticHandler("c", [])])
    inv = inventory({"galaxy_handlers": ["h1", "h2"]}, {"h2": {"fleet_static_handlers": ["a"]}})
    out = Collector()
    placed = place_static_handlers(inv, {"h1": BEAT, "h2": BEAT}, conf, True, out)
    assert {h: [s.id for s in hs] for h, hs in placed.items()} == {"h2": ["a", "c"], "h1": ["b"]}
    assert not out.problems


def test_static_handlers_need_a_handler_host_and_a_known_id():
    conf = JobConfig(source="job_conf.yml", label="job_conf.yml", handlers=[StaticHandler("a", [])])
    out = Collector()
    assert place_static_handlers(inventory({}), {}, conf, True, out) == {}
    assert [str(p) for p in out.problems] == [
        "job_conf.yml: handlers: the job configuration defines static handlers (a) but the handlers group "
        "galaxy_handlers has no hosts"]
    inv = inventory({"galaxy_handlers": ["h1"]}, {"h1": {"fleet_static_handlers": ["zz"]}})
    out = Collector()
    place_static_handlers(inv, {"h1": BEAT}, conf, True, out)
    assert [str(p) for p in out.problems] == [
        "inventory: fleet_static_handlers.zz: no such static handler in job_conf.yml (host h1)"]
    out = Collector()  # with several instances the id may be another instance's
    place_static_handlers(inv, {"h1": BEAT}, conf, False, out)
    assert not out.problems


def _handlers(**keys):
    return {"celery": None, "handlers": {k: {"processes": 1, "name_template": None, "pools": None, **v}
                                         for k, v in keys.items()}}


def test_dynamic_handlers_on_one_host_are_numbered_and_a_digit_key_is_kept():
    settings = _handlers(handler={"processes": 2}, special1={})
    out = Collector()
    result = expand_dynamic(inventory({"galaxy_handlers": ["h1"]}), {"h1": settings}, source(), settings,
                            "_default_", out)
    assert [(d.server_name, d.key, d.index, d.as_list, d.key_path) for d in result["h1"]] == [
        ("handler_0", "handler", 0, True, "gravity.handlers.handler"),
        ("handler_1", "handler", 1, True, "gravity.handlers.handler"),
        ("special1", "special1", 0, False, "gravity.handlers.special1")]


def test_a_dynamic_key_on_several_hosts_gets_the_host_in_its_names():
    settings = _handlers(handler={})
    out = Collector()
    inv = inventory({"galaxy_handlers": ["h-1", "h-2"]})
    result = expand_dynamic(inv, {"h-1": settings, "h-2": settings}, source(), settings, "_default_", out)
    assert [d.server_name for host in ("h-1", "h-2") for d in result[host]] == ["handler_h-1_0", "handler_h-2_0"]


def test_a_host_override_is_named_after_the_inventory():
    settings = _handlers(handler={"name_template": "{name} {process}"})
    inv = inventory({"galaxy_handlers": ["h1"]}, {"h1": {"fleet_gravity": {"handlers": {"handler": {}}}}})
    out = Collector()
    assert expand_dynamic(inv, {"h1": settings}, source(), settings, "_default_", out) == {}
    assert [str(p) for p in out.problems] == [
        "inventory: fleet_gravity.handlers.handler.name_template: gives server name 'handler 0': use only letters, "
        "digits, '_', '-' and '.' (host h1)"]


def test_dynamic_handlers_without_handler_hosts_warn():
    settings = _handlers(handler={})
    out = Collector()
    assert expand_dynamic(inventory({}), {}, source(), settings, "main", out) == {}
    assert out.warnings == ["instance main: gravity.handlers is set but the handlers group galaxy_handlers has no "
                            "hosts: no dynamic handler runs"]
