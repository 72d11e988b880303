"""The restart order: limits, web steps, handler waves, the safety rule, the warnings."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_order as ro

HANDLERS = {"handler": {"processes": 2, "pools": ["job-handlers"]},
            "scheduler": {"processes": 1, "pools": ["workflow-schedulers"]}}


def make_plan(gunicorns=(2, 3), handlers=None, gravity=None, job_config=None, celery=False):
    webs = [f"web{i + 1}" for i in range(len(gunicorns))]
    groups = {"galaxy_proxy": ["proxy1"], "galaxy_web": webs, "galaxy_handlers": ["handlers1"]}
    if celery:
        groups["galaxy_celery"] = ["web1"]
    groups["all"] = ["proxy1", *webs, "handlers1"]
    hostvars = {w: {"fleet_gravity": {"gunicorn": {"instances": n}}} for w, n in zip(webs, gunicorns)}
    grav = {"gunicorn": {"bind": "0.0.0.0:8080", "restart_timeout": 10}, "handlers": HANDLERS if handlers is None else handlers,
            "celery": {"enable": celery, "enable_beat": False}, **(gravity or {})}
    galaxy = {"job_config": job_config or {"handling": {"assign": ["db-skip-locked"]}}}
    return build_plan(galaxy_config={"gravity": grav, "galaxy": galaxy},
                      inventory={"groups": groups, "hostvars": hostvars}, options={})


def order(plan=None, health=None, **kw):
    limits = {k: tuple(kw.pop(k)) for k in ("hosts", "services", "units") if k in kw}
    exact = kw.pop("units_exact", False)
    return ro.restart_order(plan or make_plan(), ro.Limits(units_exact=exact, **limits), ro.Settings(**kw), health)


def step_ids(o):
    return [list(s.ids) for s in o.steps]


def wave_ids(o):
    return [list(w.ids) for w in o.waves]


# ---------------------------------------------------------------- web steps (host batches)
def test_one_host_at_a_time_one_gunicorn_at_a_time():
    o = order()
    assert step_ids(o) == [["web1/galaxy-gunicorn@0.service"], ["web1/galaxy-gunicorn@1.service"],
                           ["web2/galaxy-gunicorn@0.service"], ["web2/galaxy-gunicorn@1.service"],
                           ["web2/galaxy-gunicorn@2.service"]]
    assert [s.drain_first for s in o.steps] == [True, False, False, False, False]
    assert list(o.steps[0].next_ids) == ["web1/galaxy-gunicorn@1.service"] and o.steps[-1].next_ids == ()


def test_web_batch_takes_the_kth_gunicorn_of_each_host():
    o = order(make_plan(gunicorns=(2, 3, 1)), web_batch=2)
    assert step_ids(o) == [["web1/galaxy-gunicorn@0.service", "web2/galaxy-gunicorn@0.service"],
                           ["web1/galaxy-gunicorn@1.service", "web2/galaxy-gunicorn@1.service"],
                           ["web2/galaxy-gunicorn@2.service"], ["web3/galaxy-gunicorn.service"]]


def test_health_request_of_a_step():
    o = order()
    raw = o.to_dict()["steps"][0]
    assert raw["check"] == {"targets": [{"id": "web1/galaxy-gunicorn@0.service", "url": "http://web1:8080/api/version"}],
                            "deadline": 10}
    assert raw["ids"] == ["web1/galaxy-gunicorn@0.service"] and raw["members"][0]["unit"] == "galaxy-gunicorn@0.service"


def test_ready_timeout_when_the_plan_gives_no_restart_timeout():
    plan = make_plan()
    for unit in plan["hosts"]["web1"]["units"].values():
        for p in unit["instances"]:
            p["restart_timeout"] = None
    o = order(plan, ready_timeout=42)
    assert [m.restart_timeout for s in o.steps for m in s.members][:3] == [42, 42, 10]


def test_unix_socket_target():
    member = ro.Member(id="w/u", host="w", unit="u", file="u", instance="i", upstream="g", upstream_size=2,
                       restart_timeout=1, health_url={"socket": "/run/g.sock", "path": "/api/version"})
    assert member.target() == {"id": "w/u", "socket": "/run/g.sock", "path": "/api/version"}


# ---------------------------------------------------------------- handler waves
def test_handler_waves_keep_every_pool_served():
    o = order()
    assert wave_ids(o) == [["handlers1/galaxy-handler@0.service", "handlers1/galaxy-scheduler.service"],
                           ["handlers1/galaxy-handler@1.service"]]
    assert o.waves[0].checks[0]["units"][0]["text"] == "Galaxy server instance 'handler_0' is running"
    assert [c["host"] for c in o.waves[0].checks] == ["handlers1"]


def test_handler_batch_two_restarts_a_pool_two_at_a_time():
    plan = make_plan(handlers={"handler": {"processes": 3, "pools": ["job-handlers"]}})
    assert wave_ids(order(plan, handler_batch=2)) == [
        ["handlers1/galaxy-handler@0.service", "handlers1/galaxy-handler@1.service"],
        ["handlers1/galaxy-handler@2.service"]]


def test_a_handler_in_two_pools_waits_for_both():
    plan = make_plan(handlers={"a": {"processes": 1, "pools": ["job-handlers"]},
                               "b": {"processes": 1, "pools": ["job-handlers", "workflow-schedulers"]},
                               "c": {"processes": 1, "pools": ["workflow-schedulers"]}})
    assert wave_ids(order(plan)) == [["handlers1/galaxy-a.service", "handlers1/galaxy-c.service"],
                                     ["handlers1/galaxy-b.service"]]


def test_static_handlers_pool_by_their_tags():
    job_config = {"handling": {"processes": {"s1": {"tags": ["t"]}, "s2": {"tags": ["t"]}, "s3": {}}}}
    plan = make_plan(handlers={}, job_config=job_config)
    pools = {p.server_name: p.pools for p in ro.processes(plan)}
    assert pools == {"s1": ("_default_:static:t",), "s2": ("_default_:static:t",), "s3": ("_default_:static:s3",)}
    assert wave_ids(order(plan)) == [["handlers1/galaxy-s1.service", "handlers1/galaxy-s3.service"],
                                     ["handlers1/galaxy-s2.service"]]


def test_every_pool_is_named_after_its_galaxy_instance():
    plan = make_plan(handlers={"b": {"processes": 1, "pools": ["job-handlers", "workflow-schedulers"]}})
    assert [p.pools for p in ro.processes(plan)] == [("_default_:job-handlers", "_default_:workflow-schedulers")]


# ---------------------------------------------------------------- limits
def test_no_limit_selects_everything_in_order():
    o = order(make_plan(celery=True))
    assert o.lines() == [
        "gunicorn: web1/galaxy-gunicorn@0.service", "gunicorn: web1/galaxy-gunicorn@1.service",
        "gunicorn: web2/galaxy-gunicorn@0.service", "gunicorn: web2/galaxy-gunicorn@1.service",
        "gunicorn: web2/galaxy-gunicorn@2.service",
        "handlers: handlers1/galaxy-handler@0.service + handlers1/galaxy-scheduler.service",
        "handlers: handlers1/galaxy-handler@1.service", "service: web1/galaxy-celery.service"]
    assert list(o.ids) == [line.split(": ")[1] for line in o.lines() if "+" not in line][:5] + [
        "handlers1/galaxy-handler@0.service", "handlers1/galaxy-scheduler.service",
        "handlers1/galaxy-handler@1.service", "web1/galaxy-celery.service"]


def test_hosts_limit():
    o = order(hosts=["web2", "handlers1"])
    assert [i for s in step_ids(o) for i in s] == [f"web2/galaxy-gunicorn@{i}.service" for i in range(3)]
    assert len(o.waves) == 2


def test_services_limit():
    o = order(make_plan(celery=True), services=["handlers"])
    assert o.steps == () and o.services == () and len(o.waves) == 2
    o = order(make_plan(celery=True), services=["scheduler", "celery"])
    assert wave_ids(o) == [["handlers1/galaxy-scheduler.service"]] and o.steps == ()
    assert [s.process.id for s in o.services] == ["web1/galaxy-celery.service"]
    assert o.services[0].journal[0]["text"] == " ready." and o.services[0].state == "restarted"
    o = order(services=["gunicorn"])
    assert len(o.steps) == 5 and o.waves == ()


def test_units_limit_by_unit_and_host_unit():
    o = order(units=["galaxy-gunicorn@1.service"])
    assert step_ids(o) == [["web1/galaxy-gunicorn@1.service"], ["web2/galaxy-gunicorn@1.service"]]
    o = order(units=["web2/galaxy-gunicorn@0.service", "handlers1/galaxy-handler@1.service"])
    assert step_ids(o) == [["web2/galaxy-gunicorn@0.service"]] and wave_ids(o) == [["handlers1/galaxy-handler@1.service"]]


def test_unit_file_stands_for_every_instance():
    o = order(units=["web2/galaxy-gunicorn@.service"])
    assert [i for s in step_ids(o) for i in s] == [f"web2/galaxy-gunicorn@{i}.service" for i in range(3)]
    o = order(units=["galaxy-handler@.service"])
    assert wave_ids(o) == [["handlers1/galaxy-handler@0.service"], ["handlers1/galaxy-handler@1.service"]]


def test_units_exact_with_no_unit_selects_nothing():
    o = order(units=[], units_exact=True)
    assert o.lines() == ["nothing to restart"] and o.ids == ()


def test_unknown_limits_are_named():
    o = order(hosts=["web9"], units=["nope.service"], services=["handler", "bogus"], web_batch=0)
    assert o.problems.limits == (
        "Batches must be at least 1 and timeouts not negative. Limits must name what the plan has: "
        "unknown hosts ['web9'], units ['nope.service'], services ['bogus'] (services: gunicorn, celery, "
        "celery-beat, tusd, gx-it-proxy, reports, handlers, handler, handler, scheduler).")
    assert order().problems.limits is None
    assert order(poll_interval=0).problems.limits is not None


def test_reload_and_port_of_other_services():
    process = ro.Process(id="w/r", host="w", unit="r", file="r", server_name="reports", service_type="reports",
                         service_name="reports", instance="_default_", reload="hup", bind="localhost:9001", pools=())
    step = ro._service(process, ro.Settings())
    assert (step.state, step.port, step.journal) == ("reloaded", {"host": "localhost", "port": 9001}, ())
    assert ro.port_check("0.0.0.0:1080") == {"host": "127.0.0.1", "port": 1080}
    assert ro.port_check("[::]:4002") == {"host": "127.0.0.1", "port": 4002}
    assert ro.port_check("[fe80::1]:4002") == {"host": "fe80::1", "port": 4002}
    assert ro.port_check("unix:/run/x.sock") is None and ro.port_check(None) is None


# ---------------------------------------------------------------- the safety rule
def test_an_upstreams_only_gunicorn_is_refused_unless_downtime_is_allowed():
    plan = make_plan(gunicorns=(1,))
    assert order(plan).problems.downtime == (
        "Restarting web1/galaxy-gunicorn.service cannot keep Galaxy serving: the upstream has no other gunicorn "
        "(lower galaxy_restart_web_batch, add gunicorns, or set galaxy_restart_allow_downtime "
        "/ -e restart_allow_downtime=true).")
    assert order(plan, allow_downtime=True).problems.downtime is None


def test_a_step_with_every_member_of_an_upstream_is_refused():
    plan = make_plan(gunicorns=(1, 1))
    assert order(plan).problems.downtime is None
    assert order(plan, web_batch=2).problems.downtime.startswith(
        "Restarting web1/galaxy-gunicorn.service, web2/galaxy-gunicorn.service cannot keep Galaxy serving: "
        "a step would take every gunicorn of an upstream out")


def test_safety_rule_counts_unhealthy_gunicorns_too():
    plan = make_plan(gunicorns=(1, 1))
    health = {"proxy1": {"web1/galaxy-gunicorn.service": {"ok": False, "seen": "refused"}}}
    assert order(plan, health, web_batch=2, start_stopped=True).problems.downtime is not None


# ---------------------------------------------------------------- gunicorns that do not answer
def test_an_unhealthy_gunicorn_stops_everything():
    health = {"proxy1": {"web1/galaxy-gunicorn@0.service": {"ok": True, "seen": "v"},
                         "web2/galaxy-gunicorn@1.service": {"ok": False, "seen": "ConnectionRefusedError: x"}}}
    o = order(health=health, hosts=["web1"])
    assert o.unhealthy == ("web2/galaxy-gunicorn@1.service",)
    assert o.problems.unhealthy == (
        "Not restarting anything: 1 gunicorn(s) do not answer GET /api/version with Galaxy's version: "
        "web2/galaxy-gunicorn@1.service (from proxy1): ConnectionRefusedError: x. Fix them first, or set "
        "galaxy_restart_start_stopped (-e restart_start_stopped=true) to start the stopped ones (upgrade case).")
    # start_stopped only helps for a selected gunicorn
    assert order(health=health, hosts=["web1"], start_stopped=True).problems.unhealthy is not None


def test_start_stopped_starts_the_selected_unhealthy_gunicorns_first():
    health = {"proxy1": {"web2/galaxy-gunicorn@0.service": {"ok": False, "seen": "refused"}}}
    o = order(health=health, start_stopped=True, hosts=["web2"])
    assert o.problems.unhealthy is None
    assert [m.id for m in o.to_start] == ["web2/galaxy-gunicorn@0.service"]
    assert step_ids(o) == [["web2/galaxy-gunicorn@1.service"], ["web2/galaxy-gunicorn@2.service"]]
    assert o.lines()[0] == "start first: web2/galaxy-gunicorn@0.service"
    assert o.ids[0] == "web2/galaxy-gunicorn@0.service"
    assert o.to_dict()["start_check"]["targets"][0]["url"] == "http://web2:8080/api/version"


def test_preflight_targets_every_gunicorn_whatever_the_limits():
    assert len(order(hosts=["handlers1"]).preflight) == 5


# ---------------------------------------------------------------- warnings
def test_local_runner_warning_names_the_handlers_to_restart():
    plan = make_plan()
    plan["instances"]["_default_"]["local_job_environments"] = ["local"]
    assert order(plan, hosts=["handlers1"], units=["galaxy-handler@1.service"]).local_warning == (
        "WARNING: handler_1 may run jobs in Galaxy's local runner (environments local): such jobs end in error when "
        "their handler restarts, since the local runner cannot recover them. A batch system or Pulsar keeps jobs "
        "through restarts.")
    assert order(plan, services=["gunicorn"]).local_warning is None
    plan["instances"]["_default_"]["local_job_environments"] = []
    assert order(plan).local_warning is None


@pytest.mark.parametrize("kw", [{}, {"hosts": ["web1"]}, {"units": ["galaxy-handler@.service"]}])
def test_to_dict_is_plain(kw):
    import json
    assert json.loads(json.dumps(order(**kw).to_dict()))["lines"]


# ---------------------------------------------------------------- what the site playbook waits for
def test_ready_names_every_gunicorn_and_handler_whatever_the_limits():
    ready = order(units=["web1/galaxy-gunicorn@0.service"], units_exact=True, handler_ready_message="up {name}").ready
    assert [t["id"] for t in ready["web"]["targets"]] == [
        "web1/galaxy-gunicorn@0.service", "web1/galaxy-gunicorn@1.service", "web2/galaxy-gunicorn@0.service",
        "web2/galaxy-gunicorn@1.service", "web2/galaxy-gunicorn@2.service"]
    assert ready["web"]["deadline"] == 10
    assert ready["handlers"] == [{"host": "handlers1", "units": [
        {"id": "handlers1/galaxy-handler@0.service", "unit": "galaxy-handler@0.service", "text": "up handler_0"},
        {"id": "handlers1/galaxy-handler@1.service", "unit": "galaxy-handler@1.service", "text": "up handler_1"},
        {"id": "handlers1/galaxy-scheduler.service", "unit": "galaxy-scheduler.service", "text": "up scheduler_0"}]}]
    assert len(ready["ids"]) == 8


def test_ready_without_handlers_or_gunicorns():
    ready = order(make_plan(gunicorns=(), handlers={})).ready
    assert ready["web"] == {"targets": [], "deadline": 0}
    assert ready["handlers"] == [] and ready["ids"] == []
