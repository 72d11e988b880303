"""What one host says about its Galaxy processes: systemd's text, nginx's upstream, the heartbeats."""

from __future__ import annotations

import socket

from ansible_collections.galaxyops.fleet.plugins.module_utils import status_host as sh
from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import Process, Record, InstanceRecord

ARGV = ["/venv/bin/gunicorn", "galaxy.webapps.galaxy.fast_factory:factory()", "-b", "0.0.0.0:8080"]
PLAN = {
    "version": 1,
    "instances": {"_default_": {"unit_prefix": "galaxy", "virtualenv": "/venv", "galaxy_config_file": "/g.yml"}},
    "hosts": {"web1": {"targets": ["galaxy.target"], "units": {"galaxy-gunicorn@.service": {
        "instance_name": "_default_", "service_type": "gunicorn", "service_name": "gunicorn", "template": True,
        "instances": [{"unit": "galaxy-gunicorn@0.service", "server_name": "gunicorn0", "bind": "0.0.0.0:8080",
                       "argv": ARGV, "exec_start": " ".join(ARGV[:1] + ['"' + ARGV[1] + '"'] + ARGV[2:])}]}}}},
}
SHOW = """Id=galaxy-gunicorn@0.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=4242
ActiveEnterTimestampMonotonic=100000000
MemoryCurrent=157286400
MemoryMax=infinity
NRestarts=1
ExecStart={ path=/venv/bin/gunicorn ; argv[]=/venv/bin/gunicorn galaxy.webapps.galaxy.fast_factory:factory() -b 0.0.0.0:8080 ; \
ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
NeedDaemonReload=no

Id=galaxy-handler@0.service
LoadState=loaded
ActiveState=failed
SubState=failed
MainPID=0
ActiveEnterTimestampMonotonic=0
MemoryCurrent=[not set]
MemoryMax=2147483648
NRestarts=0
ExecStart=
NeedDaemonReload=yes
"""


def test_planned_processes_and_units_of_a_host():
    procs = sh.planned(PLAN, "web1")
    assert [(p.unit, p.service_type, p.server_name, p.bind) for p in procs] == [
        ("galaxy-gunicorn@0.service", "gunicorn", "gunicorn0", "0.0.0.0:8080")]
    assert sh.planned_units(PLAN, "web1") == {"galaxy-gunicorn@0.service", "galaxy.target"}
    assert sh.planned(PLAN, "nohost") == [] and sh.unit_prefixes(PLAN) == ["galaxy"]


def test_show_blocks_become_unit_states():
    states = sh.parse_show(SHOW, now_monotonic_s=400.0)
    web = states["galaxy-gunicorn@0.service"]
    assert (web.running, web.main_pid, web.uptime_s, web.memory, web.memory_max, web.restarts) == (
        True, 4242, 300.0, 157286400, None, 1)
    assert web.exec_argv[:2] == ("/venv/bin/gunicorn", "galaxy.webapps.galaxy.fast_factory:factory()")
    handler = states["galaxy-handler@0.service"]
    assert (handler.running, handler.uptime_s, handler.memory, handler.memory_max, handler.need_reload) == (
        False, None, None, 2147483648, True)


def test_drift_compares_systemd_and_the_record_with_the_plan():
    proc = sh.planned(PLAN, "web1")[0]
    state = sh.parse_show(SHOW, 400.0)["galaxy-gunicorn@0.service"]
    record = Record(instances={"_default_": InstanceRecord(processes={proc.unit: Process(unit=proc.unit, argv=tuple(ARGV))})})
    assert sh.drift(proc, state, record) == []
    edited = sh.UnitState(**{**state.__dict__, "exec_argv": ("/venv/bin/gunicorn", "-b", "0.0.0.0:9999"),
                             "need_reload": True})
    lines = sh.drift(proc, edited, Record())
    assert lines[0] == "its unit file changed on disk and systemd has not reloaded it"
    assert lines[1].startswith("systemd runs `/venv/bin/gunicorn -b 0.0.0.0:9999`")
    assert "record does not list it" in lines[2]
    old = Record(instances={"_default_": InstanceRecord(processes={proc.unit: Process(unit=proc.unit, argv=("x",))})})
    assert sh.drift(proc, state, old) == ["installed with another command than the plan's (run the site playbook)"]
    assert sh.drift(proc, sh.UnitState(unit=proc.unit), None) == ["systemd has no unit galaxy-gunicorn@0.service (not-found)"]


def test_running_units_the_plan_lacks():
    listed = sh.list_units(
        "galaxy-gunicorn@0.service loaded active running Galaxy gunicorn0\n"
        "galaxy-gunicorn@7.service loaded active running Galaxy gunicorn7\n"
        "galaxy-old.service loaded inactive dead Galaxy old\n"
        "galaxy.target loaded active active Galaxy\n"
        "galaxyfoo.service loaded active running not ours\n")
    assert sh.unplanned(listed, sh.planned_units(PLAN, "web1"), ["galaxy"]) == [
        {"unit": "galaxy-gunicorn@7.service", "load": "loaded", "active": "active", "sub": "running"}]


def test_member_states_from_the_configuration_and_the_record():
    conf = ("    server web1:8080 max_fails=0; # web1/a.service\n"
            "    server web1:8081 max_fails=0 down; # web1/b.service\n"
            "    server web2:8080 max_fails=0; # web2/c.service\n")
    record = "down:\n  - \"web2/c.service\"\n"
    assert sh.member_states(["web1/a.service", "web1/b.service", "web2/c.service", "web2/d.service"], record, conf) == {
        "web1/a.service": "serving", "web1/b.service": "drained", "web2/c.service": "drained", "web2/d.service": "missing"}
    assert sh.member_states(["web1/a.service"], None, None) == {"web1/a.service": "missing"}


def test_accepts_a_listening_port_and_not_a_closed_one(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert sh.accepts(f"0.0.0.0:{port}", 1) == (True, f"0.0.0.0:{port} accepts")
    finally:
        server.close()
    ok, seen = sh.accepts(f"127.0.0.1:{port}", 1)
    assert not ok and "ConnectionRefusedError" in seen
    ok, seen = sh.accepts(f"unix:{tmp_path}/nothing.sock", 1)
    assert not ok and "FileNotFoundError" in seen
    assert sh.local_target("[::]:8080") == ("tcp", ("::1", 8080))
    assert sh.accepts("nonsense", 1)[0] is False


def test_heartbeats_alive_stale_and_missing_with_their_jobs():
    rows = [{"server_name": "handler_0", "hostname": "h1", "pid": 10, "age_s": 4.2},
            {"server_name": "handler_0", "hostname": "old", "pid": 9, "age_s": 9000.0},
            {"server_name": "handler_1", "hostname": "h1", "pid": 11, "age_s": 600.0}]
    jobs = [{"handler": "handler_0", "jobs": 3}, {"handler": "handler_1", "jobs": 1}]
    beats = sh.heartbeats(["handler_0", "handler_1", "handler_2"], rows, jobs, stale_after_s=180)
    assert (beats["handler_0"].alive, beats["handler_0"].hostname, beats["handler_0"].jobs) == (True, "h1", 3)
    assert beats["handler_0"].seen == "heartbeat 4 s ago"
    assert beats["handler_1"].alive is False and beats["handler_1"].seen == "heartbeat 600 s ago (stale after 180 s)"
    assert beats["handler_2"].alive is False and beats["handler_2"].jobs == 0
