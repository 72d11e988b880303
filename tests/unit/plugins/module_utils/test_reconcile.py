"""Unit tests of the host reconciliation: what galaxy_systemd creates, restarts, drains, retires and removes."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils import reconcile as rc
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import Record, process_from_argv

GROUPS = {"galaxy_web": ["h1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["h1"], "galaxy_proxy": ["h1"]}
PATHS = rc.Paths("/etc/systemd/system", "/etc/galaxyops-fleet/environment")
ENV = "/etc/galaxyops-fleet/environment/"
UNITS = "/etc/systemd/system/"
POOL = "job-handlers.galaxyops-draining"


def cluster(gunicorns=1, handlers=None, bind="0.0.0.0:8080"):
    gravity = {"gunicorn": {"bind": bind, "instances": gunicorns}}
    if handlers is not None:
        gravity["handlers"] = handlers
    groups = dict(GROUPS, all=["h1"])
    config = {"gravity": gravity, "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}}
    result = build_plan(galaxy_config=config, inventory={"groups": groups, "hostvars": {}}, options={})
    return rc.host_plan(result["hosts"]["h1"]["units"], result["instances"], PATHS)


def installed(plan):
    """The record the module writes once the plan is installed."""
    return rc.new_record(plan, Record())


def running(plan, *units):
    return {u: rc.UnitStatus("loaded", "active") for u in (units or plan.units)}


def decide(plan, record, status=None, drain=True, retire=False, changes=rc.Changes()):
    status = status if status is not None else running(plan, *rc.stale_units(plan, record), *plan.units)
    return rc.reconcile(plan, record, status, drain=drain, retire=retire, drain_pool=POOL, changes=changes)


def test_first_install_creates_everything_and_removes_nothing():
    plan = cluster(gunicorns=2)
    out = decide(plan, Record(), status={})
    assert out.start == ["galaxy-gunicorn@0.service", "galaxy-gunicorn@1.service", "galaxy-celery.service",
                         "galaxy-celery-beat.service", "galaxy.target"]
    assert out.create == out.start == out.not_loaded
    assert out.running == out.restart == out.remove.units == out.draining.units == []


def test_scale_up_creates_only_the_new_gunicorn():
    out = decide(cluster(gunicorns=3), installed(cluster(gunicorns=2)))
    assert out.create == ["galaxy-gunicorn@2.service"]
    assert out.remove.units == out.remove.files == out.retiring.units == out.restart == []


def test_scale_down_retires_the_extra_gunicorn_until_the_proxies_drop_it():
    old, new = cluster(gunicorns=3), cluster(gunicorns=2)
    out = decide(new, installed(old), retire=True)
    assert out.retiring.units == out.retiring.stop == ["galaxy-gunicorn@2.service"]
    assert out.retiring.files == [ENV + "galaxy-gunicorn@2.service.env",
                                  UNITS + "galaxy-gunicorn@2.service.d/50-galaxyops-fleet.conf"]
    assert out.retiring.dirs == [UNITS + "galaxy-gunicorn@2.service.d"]
    assert out.retiring.entries == [{"unit": "galaxy-gunicorn@2.service", "instance": "_default_",
                                     "binds": ["0.0.0.0:8082"]}]
    assert out.remove.units == out.remove.files == []
    # the record keeps it, with its files, until it is stopped
    kept = rc.new_record(new, installed(old), forget=out.remove.units).instances["_default_"]
    assert "galaxy-gunicorn@2.service" in kept.units and kept.processes["galaxy-gunicorn@2.service"].binds
    assert set(out.retiring.files) <= set(kept.files)
    gone = rc.new_record(new, installed(old), forget=out.retiring.units).instances["_default_"]
    assert gone.as_dict() == installed(new).instances["_default_"].as_dict()


def test_scale_down_without_retire_removes_at_once():
    out = decide(cluster(gunicorns=2), installed(cluster(gunicorns=3)))
    assert out.remove.units == out.remove.stop == ["galaxy-gunicorn@2.service"]
    assert out.remove.dirs == [UNITS + "galaxy-gunicorn@2.service.d"]
    assert out.retiring.units == []


def test_a_stale_process_whose_port_a_planned_one_takes_stops_at_once():
    # one gunicorn (galaxy-gunicorn.service on 8080) becomes two (galaxy-gunicorn@0 takes 8080)
    out = decide(cluster(gunicorns=2), installed(cluster(gunicorns=1)), retire=True)
    assert out.retiring.units == []
    assert out.remove.units == ["galaxy-gunicorn.service"]
    assert out.remove.files == [UNITS + "galaxy-gunicorn.service", ENV + "galaxy-gunicorn.service.env"]


def test_a_single_handler_unit_becoming_a_template_unit_is_replaced_not_drained():
    old, new = cluster(handlers={"handler": {"processes": 1}}), cluster(handlers={"handler": {"processes": 3}})
    out = decide(new, installed(old))
    assert out.draining.units == []
    assert out.remove.units == ["galaxy-handler.service"]
    assert out.remove.files == [UNITS + "galaxy-handler.service", ENV + "galaxy-handler.service.env"]
    assert out.create == ["galaxy-handler@0.service", "galaxy-handler@1.service", "galaxy-handler@2.service"]


def test_removed_handlers_drain_out_of_every_pool():
    old = cluster(handlers={"handler": {"processes": 3, "pools": ["job-handlers", "workflow-schedulers"]}})
    new = cluster(handlers={"handler": {"processes": 1, "pools": ["job-handlers", "workflow-schedulers"]}})
    out = decide(new, installed(old))
    assert out.draining.units == out.draining.stop == ["galaxy-handler@1.service", "galaxy-handler@2.service"]
    entry = out.draining.entries[1]
    assert entry["name"] == "handler_2" and entry["pools"] == ["job-handlers", "workflow-schedulers"]
    assert entry["argv"][-3:] == ["--server-name=handler_2", "--attach-to-pool=" + POOL,
                                  "--attach-to-pool=workflow-schedulers.galaxyops-draining"]
    assert entry["dropin"] == "/run/systemd/system/galaxy-handler@2.service.d/60-galaxyops-fleet-drain.conf"
    # the template file goes with the last instance: galaxy-handler.service replaces it
    assert UNITS + "galaxy-handler@.service" in out.draining.files
    assert "/run/systemd/system/galaxy-handler@2.service.d" in out.draining.dirs
    assert out.drain_instances == [{"instance": "_default_", "handlers": [
        {"name": "handler_1", "pools": ["job-handlers", "workflow-schedulers"], "tags": []},
        {"name": "handler_2", "pools": ["job-handlers", "workflow-schedulers"], "tags": []}]}]
    # handler_0 moves from galaxy-handler@0 to galaxy-handler.service: replaced, not drained
    assert out.remove.units == ["galaxy-handler@0.service"]
    assert UNITS + "galaxy-handler@.service" not in out.remove.files


def test_without_drain_removed_handlers_stop_at_once():
    out = decide(cluster(handlers={"handler": {"processes": 1}}), installed(cluster(handlers={"handler": {"processes": 2}})),
                 drain=False)
    assert out.draining.units == []
    assert out.remove.units == ["galaxy-handler@0.service", "galaxy-handler@1.service"]


def test_a_renamed_pool_drains_every_process_of_the_old_key():
    old = cluster(handlers={"handler": {"processes": 2, "pools": ["job-handlers.fast"]}})
    new = cluster(handlers={"worker": {"processes": 2, "pools": ["job-handlers.fast"]}})
    out = decide(new, installed(old))
    assert [e["name"] for e in out.draining.entries] == ["handler_0", "handler_1"]
    assert [e["pools"] for e in out.draining.entries] == [["job-handlers.fast"]] * 2
    assert out.create == ["galaxy-worker@0.service", "galaxy-worker@1.service"]


def test_units_systemd_does_not_know_are_not_stopped():
    old, new = cluster(gunicorns=3), cluster(gunicorns=2)
    status = running(new)
    status["galaxy-gunicorn@2.service"] = rc.UnitStatus("not-found", "inactive")
    out = decide(new, installed(old), status=status)
    assert out.remove.units == ["galaxy-gunicorn@2.service"] and out.remove.stop == []


def test_restarts_are_the_running_processes_whose_settings_changed():
    plan = cluster(gunicorns=2, handlers={"handler": {"processes": 1}})
    status = running(plan, "galaxy-gunicorn@0.service", "galaxy-handler.service")
    changes = rc.Changes(unit_files=("galaxy-gunicorn@.service",), processes=("galaxy-handler.service",))
    out = decide(plan, installed(plan), status=status, changes=changes)
    assert out.restart == ["galaxy-gunicorn@0.service", "galaxy-handler.service"]
    every = decide(plan, installed(plan), changes=rc.Changes(instances=("_default_",)))
    assert every.restart == [u for u in plan.units if u.endswith(".service")]


def test_instances_the_plan_does_not_have_are_left_alone():
    plan = cluster()
    record = Record.from_dict({"instances": {"other": {"units": ["galaxy-other-celery.service"], "files": ["/x"]}}})
    out = decide(plan, record)
    assert out.remove.units == []
    assert rc.new_record(plan, record).as_dict()["instances"]["other"] == {
        "units": ["galaxy-other-celery.service"], "files": ["/x"], "processes": {}}


def test_a_record_of_the_previous_version_falls_back_to_the_command_lines():
    old = cluster(gunicorns=3, handlers={"handler": {"processes": 3}})
    new = cluster(gunicorns=2, handlers={"handler": {"processes": 1}})
    full = installed(old).as_dict()
    legacy = {"instances": {n: {k: v for k, v in i.items() if k != "processes"} for n, i in full["instances"].items()}}
    record = Record.from_dict(legacy)
    assert rc.legacy_units(new, record) == ["galaxy-gunicorn@2.service", "galaxy-handler@0.service",
                                            "galaxy-handler@1.service", "galaxy-handler@2.service"]
    argv = {p.process.unit: list(p.process.argv) for p in old.processes}
    upgraded = rc.with_legacy(record, {u: process_from_argv(u, argv[u]) for u in rc.legacy_units(new, record)})
    assert rc.legacy_units(new, upgraded) == []
    got = decide(new, upgraded, retire=True)
    want = decide(new, installed(old), retire=True)
    assert got.as_dict() == want.as_dict()
    # what the fallback read is recorded with the units that stay, so it is read only once
    kept = rc.new_record(new, upgraded, forget=got.remove.units).instances["_default_"].processes
    assert kept["galaxy-handler@2.service"].server_name == "handler_2"


def test_process_from_argv_reads_what_the_previous_version_read():
    handler = process_from_argv("h.service", ["/v/galaxy-main", "-c", "g.yml", "--server-name=h0",
                                              "--attach-to-pool", "job-handlers", "--attach-to-pool=workflow-schedulers"])
    assert (handler.is_handler, handler.server_name, handler.pools) == (True, "h0", ("job-handlers", "workflow-schedulers"))
    web = process_from_argv("g.service", ["/v/gunicorn", "app", "-b", "0.0.0.0:8080", "--bind=unix:/run/g.sock"])
    assert web.is_web and web.binds == ("0.0.0.0:8080", "unix:/run/g.sock")
    assert not process_from_argv("c.service", ["/v/celery", "worker"]).is_handler
    assert rc.drain_argv(["m", "--attach-to-pool", "a", "--attach-to-pool=b", "--x"], "p") == ["m", "--x", "--attach-to-pool=p"]


def test_a_draining_workflow_scheduler_keeps_scheduling_its_own_invocations():
    argv = ["m", "--attach-to-pool=job-handlers", "--attach-to-pool", "workflow-schedulers"]
    assert rc.drain_argv(argv, "job-handlers.galaxyops-draining") == [
        "m", "--attach-to-pool=job-handlers.galaxyops-draining", "--attach-to-pool=workflow-schedulers.galaxyops-draining"]
    assert rc.drain_argv(["m", "--attach-to-pool=workflow-schedulers.gpu"], "job-handlers.x")[-1] == (
        "--attach-to-pool=workflow-schedulers.x")
    assert rc.drain_argv(["m", "--attach-to-pool=job-handlers.gpu"], "job-handlers.x") == ["m", "--attach-to-pool=job-handlers.x"]


def test_address_keys_compare_ports_and_socket_paths():
    assert rc.address_key("0.0.0.0:8080") == rc.address_key("127.0.0.1:8080") == ":8080"
    assert rc.address_key("unix:/run/g.sock") == "unix:/run/g.sock"


def test_the_record_round_trips():
    record = installed(cluster(gunicorns=2, handlers={"handler": {"processes": 2}}))
    assert Record.from_dict(record.as_dict()).as_dict() == record.as_dict()
    inst = record.as_dict()["instances"]["_default_"]
    assert inst["handlers"]["galaxy-handler@1.service"] == {"server_name": "handler_1", "tags": []}
    assert inst["processes"]["galaxy-gunicorn@1.service"]["binds"] == ["0.0.0.0:8081"]
