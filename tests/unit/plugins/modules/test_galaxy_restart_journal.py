"""The galaxy_restart_journal module: its spec agrees with DOCUMENTATION, journalctl's output maps to events."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_journal as rj
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_restart_journal as mod

UNIT = "galaxy-handler@0.service"


def entry(t, **fields):
    return json.dumps({"__REALTIME_TIMESTAMP": str(int(t * 1e6)), **fields})


JOURNAL = {
    ("-u", UNIT): "\n".join([
        entry(10.0, MESSAGE_ID=rj.STOPPING_ID, UNIT=UNIT, MESSAGE=f"Stopping {UNIT}..."),
        entry(10.5, MESSAGE_ID=rj.STARTING_ID, UNIT=UNIT, MESSAGE=f"Starting {UNIT}..."),
        "not json",
        entry(13.0, _SYSTEMD_UNIT=UNIT, MESSAGE="Galaxy server instance 'handler_0' is running"),
    ]),
    (f"SYSLOG_IDENTIFIER={rj.IDENTIFIER}",): entry(9.0, GALAXYOPS_EVENT="drain", GALAXYOPS_MEMBER="web1/g.service"),
}


class Failed(Exception):
    pass


def module(**params):
    calls = []

    def run_command(argv, check_rc):
        calls.append(argv)
        return 0, JOURNAL[tuple(a for a in argv[5:] if not a.startswith("--until"))], ""

    def fail_json(**kw):
        raise Failed(kw["msg"])

    base = {"host": "handlers1", "units": [UNIT], "members": False, "since": 5.0, "until": None,
            "ready_messages": list(rj.READY_MESSAGES)}
    return SimpleNamespace(params={**base, **params}, check_mode=True, run_command=run_command,
                           fail_json=fail_json, calls=calls)


def test_spec_agrees_with_documentation():
    assert mod.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(mod.DOCUMENTATION)["options"])


def test_events_of_a_handler_host():
    m = module()
    result = mod.run(m)
    assert result["changed"] is False
    assert [(e["kind"], e["time"]) for e in result["events"]] == [("stop", 10.0), ("start", 10.5), ("ready", 13.0)]
    assert result["events"][0]["id"] == f"handlers1/{UNIT}"
    assert m.calls == [["journalctl", "--no-pager", "-o", "json", "--since=@5.000000", "-u", UNIT]]


def test_a_unit_without_ready_line_in_the_window_is_looked_up_before_it():
    m = module(ready_messages=["never logged"])
    m.run_command = lambda argv, check_rc: (m.calls.append(argv) or 0, JOURNAL[("-u", UNIT)] if "--since=@5.000000" in argv
                                            else entry(1.0, _SYSTEMD_UNIT=UNIT, MESSAGE="never logged"), "")
    result = mod.run(m)
    assert m.calls[1] == ["journalctl", "--no-pager", "-o", "json", "--until=@5.000000", "-n", "300", "-u", UNIT]
    assert [e["kind"] for e in result["events"]] == ["stop", "start"]


def test_members_on_a_proxy():
    result = mod.run(module(host="proxy1", units=[], members=True, until=20.0))
    assert result["events"] == [{"id": "web1/g.service", "host": "web1", "unit": "g.service", "kind": "drain",
                                 "time": 9.0, "message": "drain on proxy1"}]


def test_journalctl_failure_names_the_host():
    m = module()
    m.run_command = lambda argv, check_rc: (1, "", "No journal files were found.")
    with pytest.raises(Failed, match="journalctl failed on handlers1: No journal files"):
        mod.run(m)
