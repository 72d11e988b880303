"""Steady concurrent HTTP load against a Galaxy fleet (through its proxy), with a JSON report.

Standard library only: run it with any python3 (`python3 tests/loadgen/loadgen.py URL ...`). C workers
(``--concurrency``) each send one request at a time, a mix of GET ``/api/version`` and POST
``/api/echo``, over HTTP/1.1 keep-alive connections (or a fresh connection per request with
``--fresh-connections``), until ``--duration`` seconds pass, ``--requests`` have been sent or
``--stop-file`` appears (whichever comes first); ``--rate`` caps the total at a steady number of requests per
second (spread evenly over time, no catch-up bursts), so the load leaves CPU to the processes under test. Only
the test bed may be targeted:
127.0.0.0/8, ::1 and 10.77.0.0/16.

A request fails when it gets a non-2xx status or a connection error (refused, reset, timeout,
malformed response). The one exception a real HTTP client also makes: a request sent on a
*reused* keep-alive connection that the server had already closed (no response byte received)
is retried once on a new connection, by default only for GET (``--retry-stale``); such retries
are counted in ``stale_retries`` and never hidden.

The report (stdout, and ``--report FILE``) gives total, ok, failed with a breakdown by status or
error and the first failures' times, latency percentiles (milliseconds, every completed request),
requests per second, counts per ``X-Galaxy-Server`` header (which process answered) and ``per_second``:
``[ok, failed]`` requests sent in each second since ``started_epoch`` (drawn by the restart timeline).
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

ALLOWED_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "10.77.0.0/16"))
FIRST_FAILURES = 10
USER_AGENT = "galaxyops-loadgen/1"


class TargetRefused(Exception):
    """The target is outside the networks this tool may load."""


class StaleConnection(Exception):
    """A reused connection was closed by the server before any response byte arrived."""


class BadResponse(Exception):
    """The server's answer is not valid HTTP/1.x."""


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    address: str
    family: int
    base_path: str
    host_header: str


def resolve_target(url: str) -> Target:
    """Parse and resolve URL; refuse it unless every address it resolves to is in the test bed."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise TargetRefused(f"only http:// targets are supported, got {url!r}")
    if not parts.hostname:
        raise TargetRefused(f"no host in {url!r}")
    port = parts.port or 80
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"cannot resolve {parts.hostname}: {exc}") from exc
    addresses = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not any(address in net for net in ALLOWED_NETWORKS):
            allowed = ", ".join(str(n) for n in ALLOWED_NETWORKS)
            raise TargetRefused(f"{parts.hostname} resolves to {address}, outside the test bed ({allowed})")
        addresses.append((family, str(address)))
    family, address = addresses[0]
    default_port = parts.port is None
    return Target(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        address=address,
        family=family,
        base_path=parts.path.rstrip("/"),
        host_header=parts.netloc if not default_port else parts.hostname,
    )


@dataclass
class Result:
    started: float
    latency: float
    method: str
    ok: bool
    status: int | None = None
    error: str | None = None
    server: str | None = None


@dataclass
class Stats:
    results: list[Result] = field(default_factory=list)
    stale_retries: int = 0
    connections: int = 0


class Connection:
    """One HTTP/1.1 client connection."""

    def __init__(self, target: Target, timeout: float):
        self.target = target
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.uses = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.target.address, self.target.port, family=self.target.family),
            self.timeout,
        )
        self.uses = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None, keep_alive: bool) -> tuple[int, dict, bytes]:
        if self.writer is None:
            await self.open()
        reused = self.uses > 0
        self.uses += 1
        head = [f"{method} {self.target.base_path}{path} HTTP/1.1", f"Host: {self.target.host_header}",
                f"User-Agent: {USER_AGENT}", "Accept: application/json"]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if not keep_alive:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
        try:
            self.writer.write(data)
            await self.writer.drain()
            status_line = await asyncio.wait_for(self.reader.readline(), self.timeout)
        except (ConnectionResetError, BrokenPipeError) as exc:
            if reused:
                raise StaleConnection(str(exc)) from exc
            raise
        if not status_line:
            if reused:
                raise StaleConnection("connection closed before the response")
            raise BadResponse("connection closed before the response")
        return await asyncio.wait_for(self._rest(status_line, method), self.timeout)

    async def _rest(self, status_line: bytes, method: str) -> tuple[int, dict, bytes]:
        parts = status_line.decode("latin-1").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise BadResponse(f"bad status line {status_line[:80]!r}")
        version, status = parts[0], int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if not line:
                raise BadResponse("connection closed in the headers")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked()
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        conn_header = headers.get("connection", "").lower()
        if conn_header == "close" or (version == "HTTP/1.0" and conn_header != "keep-alive"):
            self.close()
        return status, headers, body

    async def _chunked(self) -> bytes:
        chunks = []
        while True:
            size_line = await self.reader.readline()
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise BadResponse(f"bad chunk size {size_line[:40]!r}") from exc
            if size == 0:
                while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "incomplete read"
    return type(exc).__name__


class LoadGenerator:
    def __init__(self, args: argparse.Namespace, target: Target):
        self.args = args
        self.target = target
        self.stats = Stats()
        self.stop = asyncio.Event()
        self.stopped_by: str | None = None
        self.tickets = args.requests
        self.random = random.Random(args.seed)
        self.t0 = 0.0
        self.next_slot = 0.0

    def _halt(self, reason: str) -> None:
        if not self.stop.is_set():
            self.stopped_by = reason
            self.stop.set()

    def _take_ticket(self) -> bool:
        if self.stop.is_set():
            return False
        if self.tickets is not None:
            if self.tickets <= 0:
                self._halt("requests")
                return False
            self.tickets -= 1
        return True

    async def _pace(self) -> None:
        """With --rate, wait for this request's slot: one every 1/rate seconds across all clients."""
        if not self.args.rate:
            return
        now = time.monotonic()
        slot = max(self.next_slot, now)  # a client that fell behind does not make up with a burst
        self.next_slot = slot + 1.0 / self.args.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _watch(self) -> None:
        deadline = self.t0 + self.args.duration if self.args.duration else None
        while not self.stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                self._halt("duration")
            elif self.args.stop_file and os.path.exists(self.args.stop_file):
                self._halt("stop-file")
            else:
                await asyncio.sleep(0.05)

    async def _worker(self, number: int) -> None:
        conn = Connection(self.target, self.args.timeout)
        keep_alive = not self.args.fresh_connections
        sequence = 0
        try:
            while True:
                await self._pace()
                if not self._take_ticket():
                    break
                sequence += 1
                post = self.random.random() < self.args.post_ratio
                method, path = ("POST", self.args.post_path) if post else ("GET", self.args.get_path)
                body = json.dumps({"worker": number, "seq": sequence}).encode() if post else None
                started = time.monotonic()
                result = await self._one(conn, method, path, body, keep_alive, started)
                self.stats.results.append(result)
                if not keep_alive or (not result.ok and result.status is None):
                    conn.close()
        finally:
            conn.close()

    async def _one(self, conn: Connection, method: str, path: str, body: bytes | None,
                   keep_alive: bool, started: float) -> Result:
        retry_stale = self.args.retry_stale == "all" or (self.args.retry_stale == "idempotent" and method == "GET")
        for attempt in (1, 2):
            try:
                if conn.writer is None:
                    self.stats.connections += 1
                status, headers, _body = await conn.request(method, path, body, keep_alive)
                return Result(started=started, latency=time.monotonic() - started, method=method,
                              ok=200 <= status < 300, status=status, server=headers.get("x-galaxy-server"))
            except StaleConnection as exc:
                conn.close()
                if attempt == 1 and retry_stale:
                    self.stats.stale_retries += 1
                    continue
                error = f"stale connection: {exc}"
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, BadResponse, ValueError) as exc:
                conn.close()
                error = _error_name(exc)
            return Result(started=started, latency=time.monotonic() - started, method=method, ok=False, error=error)
        raise AssertionError("unreachable")

    async def run(self) -> dict:
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._halt, "signal")
            except (NotImplementedError, RuntimeError):
                pass
        watcher = asyncio.create_task(self._watch())
        await asyncio.gather(*(self._worker(n) for n in range(self.args.concurrency)))
        self._halt(self.stopped_by or "requests")
        await watcher
        return self.report(time.monotonic() - self.t0)

    def report(self, elapsed: float) -> dict:
        results = self.stats.results
        failed = [r for r in results if not r.ok]
        breakdown: dict[str, int] = {}
        for r in failed:
            key = f"status {r.status}" if r.status is not None else r.error or "error"
            breakdown[key] = breakdown.get(key, 0) + 1
        servers: dict[str, int] = {}
        for r in results:
            if r.ok:
                key = r.server or "(no X-Galaxy-Server)"
                servers[key] = servers.get(key, 0) + 1
        by_method: dict[str, int] = {}
        for r in results:
            by_method[r.method] = by_method.get(r.method, 0) + 1
        first = sorted(failed, key=lambda r: r.started)[:FIRST_FAILURES]
        per_second = [[0, 0] for _second in range(int(elapsed) + 1)] if results else []
        for r in results:
            second = min(max(int(r.started - self.t0), 0), len(per_second) - 1)
            per_second[second][0 if r.ok else 1] += 1
        return {
            "target": self.args.url,
            "concurrency": self.args.concurrency,
            "rate": self.args.rate,
            "connections": "fresh" if self.args.fresh_connections else "keep-alive",
            "started_at": _iso(self.wall0),
            "started_epoch": round(self.wall0, 3),
            "elapsed_s": round(elapsed, 3),
            "stopped_by": self.stopped_by,
            "total": len(results),
            "ok": len(results) - len(failed),
            "failed": len(failed),
            "failures": dict(sorted(breakdown.items())),
            "first_failures": [
                {"t_s": round(r.started - self.t0, 3), "at": _iso(self.wall0 + r.started - self.t0),
                 "method": r.method, "status": r.status, "error": r.error}
                for r in first
            ],
            "failure_window_s": [round(failed[0].started - self.t0, 3), round(failed[-1].started - self.t0, 3)]
            if failed else None,
            "latency_ms": latency_summary([r.latency for r in results]),
            "requests_per_s": round(len(results) / elapsed, 1) if elapsed > 0 else 0.0,
            "by_method": by_method,
            "servers": dict(sorted(servers.items())),
            "stale_retries": self.stats.stale_retries,
            "connections_opened": self.stats.connections,
            # [ok, failed] requests sent in each second since started_epoch (the restart timeline's load)
            "per_second": per_second,
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil without math import
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(latencies: list[float]) -> dict:
    values = sorted(latencies)
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": round(percentile(values, 0.50) * 1000, 2),
        "p90": round(percentile(values, 0.90) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(values[-1] * 1000, 2),
        "mean": round(sum(values) / len(values) * 1000, 2),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("url", help="base URL, e.g. http://10.77.0.10 (the proxy)")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("-d", "--duration", type=float, help="stop after this many seconds")
    parser.add_argument("-n", "--requests", type=int, help="stop after this many requests")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--rate", type=float, help="at most this many requests per second in total, evenly spaced")
    parser.add_argument("--post-ratio", type=float, default=0.5, help="share of POST requests (default 0.5)")
    parser.add_argument("--get-path", default="/api/version")
    parser.add_argument("--post-path", default="/api/echo")
    parser.add_argument("--fresh-connections", action="store_true", help="one connection per request")
    parser.add_argument("--retry-stale", choices=["none", "idempotent", "all"], default="idempotent",
                        help="retry once a request whose reused connection the server had closed (default: GET only)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (default 30)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the GET/POST mix")
    parser.add_argument("--report", help="also write the JSON report to this file")
    parser.add_argument("--fail-on-error", action="store_true", help="exit 1 when any request failed")
    args = parser.parse_args(argv)
    if args.duration is None and args.requests is None and args.stop_file is None:
        parser.error("give --duration, --requests or --stop-file (or several)")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if not 0.0 <= args.post_ratio <= 1.0:
        parser.error("--post-ratio must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = resolve_target(args.url)
    except TargetRefused as exc:
        print(f"loadgen: refusing target: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(LoadGenerator(args, target).run())
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return 1 if args.fail_on_error and report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
