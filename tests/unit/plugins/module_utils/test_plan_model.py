"""The records give the plan's mappings, without what they carry only while the plan is built."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import (
    Endpoint, Process, ReportsEndpoint, RosterEntry, Unit)


def test_process_to_dict_has_the_documented_keys_in_order_and_no_private_ones():
    proc = Process("gunicorn", ["g"], "g", {}, "/srv", "galaxy", None, "022", 15, 65, 300, None, None, None, None,
                   "0.0.0.0:8080", origin="galaxy.yml", key_path="gravity.gunicorn.bind",
                   endpoint=Endpoint("tcp", "0.0.0.0", 8080), unit_file="galaxy-gunicorn.service")
    assert list(proc.to_dict()) == list(Process.KEYS)
    assert list(Process.KEYS[:3]) == ["index", "unit", "server_name"]
    unit = Unit("_default_", "gunicorn", "gunicorn", "Galaxy gunicorn", False, "galaxy.target", [proc])
    assert unit.to_dict()["instances"] == [proc.to_dict()]


def test_roster_and_reports_entries():
    entry = RosterEntry("h1", "galaxy-handler@0.service", 0, "handler", ["job-handlers"], [], False)
    as_dict = entry.to_dict()
    assert list(as_dict) == ["host", "unit", "index", "key", "pools", "tags", "static"]
    assert as_dict["pools"] is not entry.pools
    assert ReportsEndpoint("h1", "galaxy-reports.service", "localhost:9001", None, "/r").to_dict() == {
        "host": "h1", "unit": "galaxy-reports.service", "bind": "localhost:9001", "address": None, "url_prefix": "/r"}
