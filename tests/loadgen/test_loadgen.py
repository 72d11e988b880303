"""The load generator against tiny local servers (127.0.0.1 only)."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import loadgen


class GalaxyLike(BaseHTTPRequestHandler):
    """Answers like the stand-in: JSON, keep-alive, an X-Galaxy-Server header; POST fails when asked."""

    protocol_version = "HTTP/1.1"
    fail_posts_with: int | None = None

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Galaxy-Server", f"test:{self.server.server_address[1]}")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/api/version":
            self._answer(200, {"version_major": "26.1"})
        else:
            self._answer(404, {"err_msg": "no route"})

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.fail_posts_with:
            self._answer(self.fail_posts_with, {"err_msg": "failing on purpose"})
        else:
            self._answer(200, {"echo": json.loads(body)})

    def log_message(self, format, *args):  # noqa: A002 - silence the access log
        pass


class FailingPosts(GalaxyLike):
    fail_posts_with = 502


@pytest.fixture
def serve():
    servers = []

    def start(handler=GalaxyLike) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_closer():
    """Answers each request with keep-alive semantics, then closes the connection without saying so."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            body = b'{"version_major": "26.1"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Galaxy-Server: closer\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def run(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    report = tmp_path / "report.json"
    code = loadgen.main([*argv, "--report", str(report)])
    return code, json.loads(report.read_text())


def test_counts_mix_and_servers(serve, tmp_path):
    url = serve()
    code, report = run(tmp_path, url, "-n", "60", "-c", "4", "--seed", "1")
    assert code == 0
    assert report["total"] == 60 and report["ok"] == 60 and report["failed"] == 0
    assert report["stopped_by"] == "requests"
    assert set(report["by_method"]) == {"GET", "POST"} and sum(report["by_method"].values()) == 60
    port = url.rsplit(":", 1)[1]
    assert report["servers"] == {f"test:{port}": 60}
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    # keep-alive: one connection per client
    assert report["connections_opened"] == 4


def test_fresh_connections(serve, tmp_path):
    _, report = run(tmp_path, serve(), "-n", "20", "-c", "2", "--fresh-connections")
    assert report["ok"] == 20 and report["connections_opened"] == 20 and report["connections"] == "fresh"


def test_non_2xx_are_failures(serve, tmp_path):
    code, report = run(tmp_path, serve(FailingPosts), "-n", "40", "-c", "4", "--seed", "2", "--fail-on-error")
    assert code == 1
    posts = report["by_method"]["POST"]
    assert report["failed"] == posts > 0 and report["failures"] == {"status 502": posts}
    assert len(report["first_failures"]) == min(posts, loadgen.FIRST_FAILURES)
    assert all(f["method"] == "POST" and f["status"] == 502 for f in report["first_failures"])
    assert report["failure_window_s"][0] <= report["failure_window_s"][1]
    # the per-second counts (the restart timeline's load) add up to the totals
    assert sum(ok for ok, _bad in report["per_second"]) == report["ok"]
    assert sum(bad for _ok, bad in report["per_second"]) == report["failed"] == posts
    assert report["started_epoch"] > 0


def test_connection_errors_are_failures(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    _, report = run(tmp_path, f"http://127.0.0.1:{port}", "-n", "10", "-c", "2")
    assert report["total"] == report["failed"] == 10
    assert report["failures"] == {"ConnectionRefusedError": 10}
    assert report["servers"] == {}


def test_stop_file(serve, tmp_path):
    stop_file = tmp_path / "stop"
    timer = threading.Timer(0.5, stop_file.touch)
    timer.start()
    try:
        _, report = run(tmp_path, serve(), "-c", "2", "--duration", "120", "--stop-file", str(stop_file))
    finally:
        timer.cancel()
    assert report["stopped_by"] == "stop-file" and report["failed"] == 0 and report["total"] > 0


def test_duration(serve, tmp_path):
    _, report = run(tmp_path, serve(), "-c", "2", "--duration", "0.5")
    assert report["stopped_by"] == "duration" and report["total"] > 0


def test_rate_spaces_requests_evenly(serve, tmp_path):
    _, report = run(tmp_path, serve(), "-n", "21", "-c", "4", "--rate", "40")
    assert report["ok"] == 21 and report["rate"] == 40
    # 21 requests at 40/s take their slots 0, 1/40, ..., 20/40 s: never less than 0.5 s in all
    assert report["elapsed_s"] >= 0.5
    assert report["requests_per_s"] <= 42


def test_rate_must_be_positive(tmp_path):
    with pytest.raises(SystemExit):
        loadgen.parse_args(["http://127.0.0.1", "-n", "1", "--rate", "0"])


def test_stale_keep_alive_is_retried_for_get_only_when_allowed(silent_closer, tmp_path):
    _, report = run(tmp_path, silent_closer, "-n", "10", "-c", "1", "--post-ratio", "0")
    assert report["failed"] == 0 and report["ok"] == 10
    assert report["stale_retries"] == 9  # every reuse found the connection closed
    _, strict = run(tmp_path, silent_closer, "-n", "10", "-c", "1", "--post-ratio", "0", "--retry-stale", "none")
    # a failed request drops its connection, so requests alternate: fresh (ok), reused (fails)
    assert strict["failed"] == 5 and strict["stale_retries"] == 0
    _, posts = run(tmp_path, silent_closer, "-n", "10", "-c", "1", "--post-ratio", "1")
    assert posts["failed"] == 5 and posts["stale_retries"] == 0  # POST is not retried by default


@pytest.mark.parametrize("url", [
    "http://8.8.8.8/", "http://192.168.1.1:8080", "http://10.78.0.1/", "http://[2001:db8::1]/", "https://127.0.0.1/",
])
def test_refuses_targets_outside_the_test_bed(url, tmp_path, capsys):
    assert loadgen.main([url, "-n", "1"]) == 2
    assert "refusing target" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://10.77.0.10/", "http://[::1]:80/", "http://localhost/"])
def test_accepts_test_bed_targets(url):
    target = loadgen.resolve_target(url)
    assert target.scheme == "http"


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 0.5) == 50.0
    assert loadgen.percentile(values, 0.99) == 99.0
    assert loadgen.percentile([3.0], 0.9) == 3.0
    assert loadgen.latency_summary([]) == {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
