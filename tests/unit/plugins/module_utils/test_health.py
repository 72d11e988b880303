"""Health and journal checks of galaxy_health: answers judged, polling, journal of the current run."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import health


def test_judge_answers():
    assert health.judge(200, b'{"version_major": "26.1", "server": "web1:8080"}', "u") == \
        health.Seen(True, "version_major 26.1 from web1:8080", "26.1")
    assert health.judge(502, b"bad gateway", "http://x/api/version") == \
        health.Seen(False, "HTTP 502 from http://x/api/version: bad gateway")
    assert health.judge(200, b"<html>", "u").seen == "HTTP 200 from u but not JSON: <html>"
    assert health.judge(200, b'{"version_major": "26.1", "version_minor": "2"}', "u").version == "26.1.2"
    assert health.judge(200, b"[1]", "u").seen == "HTTP 200 from u but no version_major in [1]"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_poll_until_each_passed_once():
    clock = Clock()
    answers = {"a": iter([False, False, True]), "b": iter([True])}
    result = health.poll({"a": "a", "b": "b"}, lambda item: health.Seen(next(answers[item]), item), 10, 1,
                         clock=clock, sleep=clock.sleep)
    assert result == {"a": health.Check(True, "a", 2.0), "b": health.Check(True, "b", 0.0)}


def test_poll_stops_at_the_deadline_and_deadline_zero_tries_once():
    clock = Clock()
    calls = []

    def never(item):
        calls.append(item)
        return health.Seen(False, "refused")

    result = health.poll({"a": 1}, never, 2.5, 1, clock=clock, sleep=clock.sleep)
    assert result["a"] == health.Check(False, "refused", 2.0) and len(calls) == 3
    calls.clear()
    health.poll({"a": 1}, never, 0, 1, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1


def test_failures_lines():
    checks = {"web2/u": health.Check(False, "ConnectionRefusedError: x", 9.01), "web1/u": health.Check(True, "v", 1)}
    assert health.failures(checks, "proxy1") == ["web2/u seen from proxy1: ConnectionRefusedError: x (after 9.01 s)"]
    assert health.failures(checks, None) == ["web2/u: ConnectionRefusedError: x (after 9.01 s)"]


def test_logged_reads_the_journal_of_the_current_invocation():
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[0] == "systemctl":
            return "InvocationID=abc\nActiveState=active\nSubState=running\n"
        return "starting\nGalaxy server instance 'handler_0' is running\n"

    unit = {"unit": "galaxy-handler@0.service", "text": "Galaxy server instance 'handler_0' is running"}
    assert health.logged(unit, run) == health.Seen(
        True, "active/running; logged \"Galaxy server instance 'handler_0' is running\"")
    assert calls[1][-1] == "_SYSTEMD_INVOCATION_ID=abc"


def test_logged_without_invocation():
    seen = health.logged({"unit": "u", "text": "m"}, lambda argv: "ActiveState=failed\nSubState=failed\n")
    assert seen == health.Seen(False, "failed/failed; last log line: (none)")


@pytest.fixture(name="server")
def fixture_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = json.dumps({"version_major": "26.1"}).encode()
            self.send_response(200 if self.path == "/api/version" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_probe_over_tcp(server):
    assert health.probe({"url": server + "/api/version"}, 5) == health.Seen(True, "version_major 26.1", "26.1")
    assert health.probe({"url": server + "/other"}, 5).seen.startswith("HTTP 404 from ")


def test_probe_refused():
    seen = health.probe({"url": "http://127.0.0.1:1/api/version"}, 1)
    assert not seen.ok and seen.seen.startswith("ConnectionRefusedError: ")


def test_probe_over_a_missing_unix_socket():
    seen = health.probe({"socket": "/nonexistent/g.sock", "path": "/api/version"}, 1)
    assert not seen.ok and seen.seen.startswith("FileNotFoundError")
