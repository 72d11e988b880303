# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Health and journal checks of Galaxy processes (module galaxyops.fleet.galaxy_health); standard library only.

- health: GET a gunicorn (Galaxy's ``/api/version``, TCP URL or unix socket) until it answers 200 with
  JSON carrying ``version_major``;
- journal: wait until the journal of a unit's current run (its ``InvocationID``) has a message.

Each check is polled until it passed once or the deadline comes (deadline 0: one try each).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

USER_AGENT = "galaxyops-restart"


@dataclass(frozen=True)
class Seen:
    """The outcome of one check."""

    ok: bool
    seen: str
    version: str | None = None  # Galaxy's version when it answered (``MAJOR.MINOR``)


@dataclass(frozen=True)
class Check:
    """The last outcome of a check while polling, and when it came."""

    ok: bool
    seen: str
    after_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seen": self.seen, "after_s": self.after_s}


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (gunicorn bound to ``unix:PATH``)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def connection(target: Mapping[str, Any], timeout: float) -> tuple[http.client.HTTPConnection, str, str]:
    """The connection, the path to GET and how to name the target in messages."""
    if target.get("socket"):
        return UnixHTTPConnection(target["socket"], timeout), target.get("path") or "/api/version", \
            "unix:" + target["socket"]
    url = target["url"]
    scheme, _sep, rest = url.partition("://")
    hostport, _sep, path = rest.partition("/")
    host, _sep, port = hostport.rpartition(":")
    if not host:
        host, port = hostport, "80"
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return conn_cls(host.strip("[]"), int(port), timeout=timeout), "/" + path, url


def judge(status: int, body: bytes, where: str) -> Seen:
    """Whether an answer is Galaxy's version."""
    text = body[:200].decode("utf-8", "replace")
    if status != 200:
        return Seen(False, f"HTTP {status} from {where}: {text}")
    try:
        data = json.loads(body)
    except ValueError:
        return Seen(False, f"HTTP 200 from {where} but not JSON: {text}")
    if not isinstance(data, dict) or "version_major" not in data:
        return Seen(False, f"HTTP 200 from {where} but no version_major in {text}")
    version = str(data["version_major"]) + (f".{data['version_minor']}" if data.get("version_minor") not in (None, "") else "")
    return Seen(True, f"version_major {data['version_major']}" + (f" from {data['server']}" if data.get("server") else ""),
                version)


def probe(target: Mapping[str, Any], timeout: float) -> Seen:
    """One health check of a target."""
    try:
        conn, path, where = connection(target, timeout)
        conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        resp = conn.getresponse()
        body = resp.read(4096)
        conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Seen(False, f"{type(exc).__name__}: {exc}")
    return judge(resp.status, body, where)


def poll(items: Mapping[str, Any], check: Callable[[Any], Seen], deadline_s: float, interval: float,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict[str, Check]:
    """Check every item until each passed once or the deadline comes."""
    start = clock()
    deadline = start + deadline_s
    pending = dict(items)
    result: dict[str, Check] = {}
    while True:
        for item_id, item in list(pending.items()):
            seen = check(item)
            result[item_id] = Check(seen.ok, seen.seen, round(clock() - start, 2))
            if seen.ok:
                del pending[item_id]
        if not pending or clock() + interval > deadline:
            return result
        sleep(interval)


def show_properties(text: str) -> dict[str, str]:
    """``systemctl show`` output as a dict."""
    return dict(line.partition("=")[::2] for line in text.splitlines())


def logged(unit: Mapping[str, Any], run: Callable[[list[str]], str]) -> Seen:
    """Whether the unit's current run (its systemd invocation) logged the expected text."""
    props = show_properties(run(["systemctl", "show", "--property=InvocationID,ActiveState,SubState", "--",
                                 unit["unit"]]))
    invocation = props.get("InvocationID", "")
    lines = run(["journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_INVOCATION_ID={invocation}"]).splitlines() \
        if invocation else []
    ok = any(unit["text"] in line for line in lines)
    state = f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}"
    last = lines[-1][:200] if lines else "(none)"
    return Seen(ok, f"{state}; " + (f"logged \"{unit['text']}\"" if ok else f"last log line: {last}"))


def failures(checks: Mapping[str, Check], seen_from: str | None) -> list[str]:
    """One line per check that did not pass: ``ID seen from WHERE: SEEN (after S s)``."""
    where = f" seen from {seen_from}" if seen_from else ""
    return [f"{check_id}{where}: {c.seen} (after {c.after_s} s)" for check_id, c in sorted(checks.items()) if not c.ok]
