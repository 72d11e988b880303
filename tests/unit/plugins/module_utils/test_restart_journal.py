"""Restart events from journal entries: systemd's stop/start lines, ready lines, galaxy_nginx_members' entries."""

from __future__ import annotations

import socket

from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_journal as rj

UNIT = "galaxy-gunicorn@0.service"


def systemd(t, message_id, message, unit=UNIT):
    return {"__REALTIME_TIMESTAMP": str(int(t * 1e6)), "MESSAGE_ID": message_id, "MESSAGE": message, "UNIT": unit,
            "_SYSTEMD_UNIT": "init.scope", "_PID": "1"}


def own(t, message, unit=UNIT):
    return {"__REALTIME_TIMESTAMP": str(int(t * 1e6)), "MESSAGE": message, "_SYSTEMD_UNIT": unit}


def restart(t0, ready_line="stand-in gunicorn ready, listening on 0.0.0.0:8080"):
    return [
        systemd(t0, rj.STOPPING_ID, f"Stopping {UNIT} - Galaxy gunicorn..."),
        own(t0 + 0.1, "Handling signal: term"),
        systemd(t0 + 0.3, "9d1aaa27d60140bd96365438aad20286", f"Stopped {UNIT}."),
        systemd(t0 + 0.31, rj.STARTING_ID, f"Starting {UNIT}..."),
        systemd(t0 + 0.32, rj.STARTED_ID, f"Started {UNIT}."),
        own(t0 + 0.4, "Booting worker with pid: 7"),
        own(t0 + 3.2, ready_line),
    ]


def kinds(events):
    return [(e.kind, round(e.time, 2)) for e in events]


def test_stop_start_ready_of_a_restart_in_order_whatever_the_entry_order():
    entries = list(reversed(restart(100.0)))
    events = rj.unit_events(entries, "web1", UNIT)
    assert kinds(events) == [("stop", 100.0), ("start", 100.31), ("ready", 103.2)]
    assert {e.id for e in events} == {f"web1/{UNIT}"}
    assert events[2].message.startswith("stand-in gunicorn ready")


def job(t, job_type, result, message):
    entry = {"__REALTIME_TIMESTAMP": str(int(t * 1e6)), "JOB_TYPE": job_type, "MESSAGE": message, "UNIT": UNIT,
             "_SYSTEMD_UNIT": "init.scope", "MESSAGE_ID": "some-id"}
    if result:
        entry["JOB_RESULT"] = result
    return entry


def systemctl_restart(t0, ready=True):
    """What systemd 252 logs for `systemctl restart` (as seen on the test bed): no "Starting" line."""
    return [job(t0, "stop", None, f"Stopping {UNIT} - Galaxy gunicorn0..."),
            job(t0 + 0.6, "restart", "done", f"Stopped {UNIT} - Galaxy gunicorn0."),
            job(t0 + 0.62, "start", "done", f"Started {UNIT} - Galaxy gunicorn0.")] + \
        ([own(t0 + 4.9, "stand-in gunicorn ready, listening on http://0.0.0.0:8080")] if ready else [])


def test_systemctl_restart_starts_at_its_stopped_line():
    assert kinds(rj.unit_events(systemctl_restart(100.0), "web1", UNIT)) == [
        ("stop", 100.0), ("start", 100.6), ("ready", 104.9)]


def test_systemctl_restart_of_a_unit_without_ready_line_is_ready_when_started():
    assert kinds(rj.unit_events(systemctl_restart(100.0, ready=False), "web1", UNIT)) == [
        ("stop", 100.0), ("start", 100.6), ("ready", 100.62)]


def test_a_job_that_failed_is_not_a_step():
    entries = systemctl_restart(100.0, ready=False)[:2] + [job(101.0, "start", "failed", f"Failed to start {UNIT}.")]
    assert kinds(rj.unit_events(entries, "web1", UNIT)) == [("stop", 100.0), ("start", 100.6)]


def test_ready_only_after_a_start_and_once_per_start():
    entries = [own(90.0, "stand-in gunicorn ready, listening (before the restart)")] + restart(100.0) + \
        [own(104.0, "stand-in gunicorn ready, listening again")]
    assert kinds(rj.unit_events(entries, "web1", UNIT)) == [("stop", 100.0), ("start", 100.31), ("ready", 103.2)]


def test_another_units_systemd_lines_are_not_this_units():
    entries = [systemd(100.0, rj.STOPPING_ID, "Stopping nginx.service...", unit="nginx.service")]
    assert rj.unit_events(entries, "web1", UNIT) == []


def test_text_fallback_without_message_id():
    entries = [systemd(1.0, "", f"Stopping {UNIT}..."), systemd(2.0, "", f"Starting {UNIT}..."),
               own(3.0, "Galaxy server instance 'handler_0' is running")]
    assert kinds(rj.unit_events(entries, "h1", UNIT)) == [("stop", 1.0), ("start", 2.0), ("ready", 3.0)]


def test_a_unit_that_logs_no_ready_line_is_ready_when_started():
    entries = [e for e in restart(100.0) if "ready" not in e["MESSAGE"]]
    assert kinds(rj.unit_events(entries, "web1", UNIT)) == [("stop", 100.0), ("start", 100.31), ("ready", 100.32)]


def test_a_unit_that_logged_ready_before_the_window_waits_for_its_ready_line():
    entries = [e for e in restart(100.0) if "ready" not in e["MESSAGE"]]
    earlier = [own(50.0, "stand-in gunicorn ready, listening on 0.0.0.0:8080")]
    assert kinds(rj.unit_events(entries, "web1", UNIT, earlier=earlier)) == [("stop", 100.0), ("start", 100.31)]


def test_a_start_that_failed_is_never_ready():
    entries = restart(100.0)[:5] + [systemd(101.0, rj.FAILED_IDS[1], f"{UNIT}: Failed with result 'exit-code'.")]
    assert kinds(rj.unit_events(entries, "web1", UNIT)) == [("stop", 100.0), ("start", 100.31)]


def test_non_utf8_messages_are_read():
    entry = own(5.0, "x")
    entry["MESSAGE"] = list(b"caf\xe9 ready, listening")
    assert rj.text(entry["MESSAGE"]).endswith("ready, listening")


def test_member_events_of_a_proxy():
    entries = [{"__REALTIME_TIMESTAMP": "2000000", "GALAXYOPS_EVENT": "undrain", "GALAXYOPS_MEMBER": f"web1/{UNIT}"},
               {"__REALTIME_TIMESTAMP": "1000000", "GALAXYOPS_EVENT": "drain", "GALAXYOPS_MEMBER": f"web1/{UNIT}"},
               {"__REALTIME_TIMESTAMP": "1500000", "GALAXYOPS_EVENT": "other", "GALAXYOPS_MEMBER": f"web1/{UNIT}"}]
    events = rj.member_events(entries, "proxy1")
    assert [(e.kind, e.time, e.host, e.unit) for e in events] == [("drain", 1.0, "web1", UNIT), ("undrain", 2.0, "web1", UNIT)]
    assert events[0].message == "drain on proxy1"


def test_member_note_speaks_the_journals_native_protocol(tmp_path):
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    with server:
        assert rj.member_note("drain", ["web1/a.service", "web2/b.service"], path) == 2
        first = server.recv(4096).decode()
        second = server.recv(4096).decode()
    fields = dict(line.split("=", 1) for line in first.splitlines())
    assert fields["GALAXYOPS_EVENT"] == "drain" and fields["GALAXYOPS_MEMBER"] == "web1/a.service"
    assert fields["SYSLOG_IDENTIFIER"] == rj.IDENTIFIER and fields["MESSAGE"] == "web1/a.service out of nginx"
    assert "GALAXYOPS_MEMBER=web2/b.service" in second


def test_member_note_without_a_journal_writes_nothing(tmp_path):
    assert rj.member_note("undrain", ["web1/a.service"], str(tmp_path / "none.sock")) == 0
