"""The fleet's status merged from every host's answer: rows, problems, warnings and the table."""

from __future__ import annotations

import copy

from ansible_collections.galaxyops.fleet.plugins.filter.fleet_status import FilterModule
from ansible_collections.galaxyops.fleet.plugins.filter.fleet_status_python import FilterModule as PythonFilter
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import fleet_status as fs

GUNICORN = "galaxy-gunicorn.service"
HANDLER = "galaxy-handler@0.service"
PLAN = {
    "version": 1, "groups": {"proxy": "galaxy_proxy"},
    "instances": {"_default_": {"virtualenv": "/venv/"}},
    "hosts": {
        "proxy1": {"groups": ["galaxy_proxy"], "units": {}},
        "web1": {"groups": ["galaxy_web"], "units": {GUNICORN: {"service_type": "gunicorn", "instance_name": "_default_",
                                                                "instances": [{"unit": GUNICORN, "server_name": "gunicorn"}]}}},
        "web2": {"groups": ["galaxy_web"], "units": {GUNICORN: {"service_type": "gunicorn", "instance_name": "_default_",
                                                                "instances": [{"unit": GUNICORN, "server_name": "gunicorn"}]}}},
        "handlers1": {"groups": ["galaxy_handlers"], "units": {"galaxy-handler@.service": {
            "service_type": "standalone", "instance_name": "_default_",
            "instances": [{"unit": HANDLER, "server_name": "handler_0"}]}}},
    },
}


def systemd(active="active", sub="running", pid=100):
    return {"active": active, "sub": sub, "main_pid": pid, "uptime_s": 3725.0, "memory": 150 * 2**20,
            "memory_max": 2 * 2**30}


def proc(unit, stype, name, **extra):
    return {"unit": unit, "service_type": stype, "server_name": name, "systemd": systemd(), "drift": [], **extra}


def healthy():
    probe = {"ok": True, "seen": "version_major 26.1", "version": "26.1.2"}
    beat = {"alive": True, "seen": "heartbeat 3 s ago", "jobs": 2}
    return {
        "proxy1": {"processes": [], "unplanned": [], "errors": [],
                   "probes": {f"web1/{GUNICORN}": dict(probe), f"web2/{GUNICORN}": dict(probe)},
                   "members": {f"web1/{GUNICORN}": "serving", f"web2/{GUNICORN}": "serving"}},
        "web1": {"processes": [proc(GUNICORN, "gunicorn", "gunicorn")], "unplanned": [], "errors": []},
        "web2": {"processes": [proc(GUNICORN, "gunicorn", "gunicorn")], "unplanned": [], "errors": []},
        "handlers1": {"processes": [proc(HANDLER, "standalone", "handler_0", heartbeat=beat)], "unplanned": [],
                      "errors": []},
    }


def test_a_healthy_fleet_has_one_row_a_process_and_no_problem():
    status = fs.merge(PLAN, healthy())
    assert status.ok and status.problems == [] and status.warnings == []
    assert [(r.host, r.unit, r.service, r.verdict) for r in status.rows] == [
        ("web1", GUNICORN, "gunicorn", "ok"), ("web2", GUNICORN, "gunicorn", "ok"),
        ("handlers1", HANDLER, "handler", "ok")]
    web1 = status.rows[0]
    assert (web1.state, web1.pid, web1.uptime, web1.memory, web1.limit) == ("active/running", "100", "1h02m", "150.0M", "2.0G")
    assert web1.health == "proxy1: 26.1.2 serving"
    assert status.rows[2].health == "alive (heartbeat 3 s ago); 2 job(s)"
    assert status.versions == {"26.1.2": [f"web1/{GUNICORN}", f"web2/{GUNICORN}"]}
    lines = fs.table(status)
    assert lines[0].split() == ["host", "unit", "service", "server", "name", "state", "main", "PID", "uptime",
                                "memory", "limit", "health"]
    assert lines[1].startswith("web1       galaxy-gunicorn.service   gunicorn  gunicorn     active/running  100  ")
    assert {line.index("active/") for line in lines[1:4]} == {lines[0].index("state")}
    assert lines[-1] == "3/3 planned processes healthy, 0 problem(s), 0 warning(s); Galaxy 26.1.2"


def test_a_killed_gunicorn_and_a_stopped_handler_are_problems_that_name_them():
    results = healthy()
    results["web2"]["processes"][0]["systemd"] = systemd("inactive", "dead", 0)
    results["proxy1"]["probes"][f"web2/{GUNICORN}"] = {"ok": False, "seen": "ConnectionRefusedError: refused"}
    results["handlers1"]["processes"][0]["systemd"] = systemd("failed", "failed", 0)
    results["handlers1"]["processes"][0]["heartbeat"] = {"alive": False, "seen": "heartbeat 400 s ago (stale after 180 s)",
                                                         "jobs": 1}
    status = fs.merge(PLAN, results)
    assert not status.ok
    assert status.problems == [
        f"web2/{GUNICORN}: planned, not running (inactive/dead)",
        f"web2/{GUNICORN}: /api/version from proxy1: ConnectionRefusedError: refused",
        f"handlers1/{HANDLER}: planned, not running (failed/failed)",
        f"handlers1/{HANDLER}: job handler handler_0 not alive in Galaxy's database: heartbeat 400 s ago (stale after 180 s)"]
    assert status.rows[1].health == "DOWN; proxy1: down serving" and status.rows[1].verdict == "failed"
    assert status.health() == {f"web1/{GUNICORN}": "ok", f"web2/{GUNICORN}": "failed", f"handlers1/{HANDLER}": "failed"}
    assert fs.table(status)[-1].startswith("1/3 planned processes healthy, 4 problem(s)")


def test_missing_member_is_a_problem_drained_drift_unplanned_and_versions_are_warnings():
    results = healthy()
    results["proxy1"]["members"][f"web1/{GUNICORN}"] = "missing"
    results["proxy1"]["members"][f"web2/{GUNICORN}"] = "drained"
    results["proxy1"]["probes"][f"web2/{GUNICORN}"]["version"] = "26.0.1"
    results["handlers1"]["processes"][0]["drift"] = ["its unit file changed on disk and systemd has not reloaded it"]
    results["handlers1"]["unplanned"] = [{"unit": "galaxy-handler@5.service", "active": "active", "sub": "running"}]
    results["handlers1"]["errors"] = ["cannot read Galaxy's database: boom"]
    status = fs.merge(PLAN, results)
    assert status.problems == [f"web1/{GUNICORN}: missing in the nginx upstream on proxy1"]
    assert status.warnings == [
        f"web2/{GUNICORN}: drained in nginx on proxy1",
        f"handlers1/{HANDLER}: its unit file changed on disk and systemd has not reloaded it",
        "handlers1/galaxy-handler@5.service: running, not planned",
        "handlers1: cannot read Galaxy's database: boom",
        f"Galaxy versions differ across hosts: 26.0.1 on web2/{GUNICORN}; 26.1.2 on web1/{GUNICORN}"]
    extra = status.rows[-1]
    assert (extra.unit, extra.planned, extra.verdict) == ("galaxy-handler@5.service", False, "warning")
    assert extra.health == "running, not planned"


def test_hosts_without_an_answer_make_each_of_their_processes_a_problem():
    results = healthy()
    results["web1"] = {"unreachable": True, "msg": "ssh: connect refused"}
    del results["proxy1"]
    status = fs.merge(PLAN, results)
    assert f"web1/{GUNICORN}: unreachable: ssh: connect refused" in status.problems
    assert f"web2/{GUNICORN}: not checked from proxy1 (no answer (not in the play))" in status.problems
    assert status.warnings == ["proxy1: no answer (not in the play)"]


def test_human_figures():
    assert [fs.human_duration(s) for s in (None, 5, 65, 7322, 190000)] == ["-", "5s", "1m05s", "2h02m", "2d04h"]
    assert [fs.human_bytes(b) for b in (None, 512, 2048, 3 * 2**20, 2**31)] == ["-", "512B", "2K", "3.0M", "2.0G"]


def test_filters_read_hostvars_and_choose_the_python():
    filters = FilterModule().filters()
    hostvars = {h: {"__status_host": copy.deepcopy(r)} for h, r in healthy().items()}
    hostvars["ghost"] = {}
    out = filters["fleet_status"](PLAN, hostvars, list(hostvars))
    assert out["ok"] is True and len(out["rows"]) == 3 and out["lines"][-1].startswith("3/3")
    python = PythonFilter().filters()["fleet_status_python"]
    assert python(PLAN, "handlers1") == "/venv/bin/python"
    assert python(PLAN, "handlers1", "/usr/bin/python3") == "/usr/bin/python3"
    assert python(PLAN, "web1", "/usr/bin/python3") is None
