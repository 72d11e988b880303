# Managed by galaxyops.fleet (role galaxy_restart). Run as `python3 -c SOURCE REQUEST_JSON` on a
# proxy or Galaxy host; standard library only. Prints one JSON object and exits 0 when every
# target passed, 1 otherwise (the JSON then says what was seen for each target).
#
# Requests ({"mode": ..., ...}):
#   health: {"targets": [{"id", "url"} | {"id", "socket", "path"}], "deadline": S, "interval": S,
#            "timeout": S}
#       GET each target (Galaxy's /api/version) until it answers 200 with JSON carrying
#       version_major, or the deadline passes (deadline 0: one try each).
#   journal: {"units": [{"id", "unit", "message"}], "deadline": S, "interval": S}
#       wait until the journal of each unit's current invocation contains its message.
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def probe(target: dict, timeout: float) -> tuple[bool, str]:
    """One health check: (healthy, what was seen)."""
    try:
        if target.get("socket"):
            conn = UnixHTTPConnection(target["socket"], timeout)
            where = "unix:" + target["socket"]
            path = target.get("path") or "/api/version"
        else:
            url = target["url"]
            scheme, _sep, rest = url.partition("://")
            hostport, _sep, path = rest.partition("/")
            path = "/" + path
            host, _sep, port = hostport.rpartition(":")
            if not host:
                host, port = hostport, "80"
            conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = conn_cls(host.strip("[]"), int(port), timeout=timeout)
            where = url
        conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": "galaxyops-restart"})
        resp = conn.getresponse()
        body = resp.read(4096)
        conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if resp.status != 200:
        return False, f"HTTP {resp.status} from {where}: {body[:200].decode('utf-8', 'replace')}"
    try:
        data = json.loads(body)
    except ValueError:
        return False, f"HTTP 200 from {where} but not JSON: {body[:200].decode('utf-8', 'replace')}"
    if not isinstance(data, dict) or "version_major" not in data:
        return False, f"HTTP 200 from {where} but no version_major in {body[:200].decode('utf-8', 'replace')}"
    return True, f"version_major {data['version_major']}" + (f" from {data['server']}" if data.get("server") else "")


def poll(items: dict, check, deadline_s: float, interval: float) -> dict:
    """Check every item until each passed once or the deadline comes; {id: {ok, seen, after_s}}."""
    deadline = time.monotonic() + deadline_s
    start = time.monotonic()
    pending = dict(items)
    result = {}
    while True:
        for item_id, item in list(pending.items()):
            ok, seen = check(item)
            result[item_id] = {"ok": ok, "seen": seen, "after_s": round(time.monotonic() - start, 2)}
            if ok:
                del pending[item_id]
        if not pending or time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    return result


def health(req: dict) -> dict:
    timeout = float(req.get("timeout", 5))
    return poll({t["id"]: t for t in req["targets"]}, lambda target: probe(target, timeout),
                float(req.get("deadline", 0)), float(req.get("interval", 1)))


def _run(argv: list[str]) -> str:
    return subprocess.run(argv, check=False, capture_output=True, text=True).stdout


def logged(unit: dict) -> tuple[bool, str]:
    """Whether the unit's current run (its systemd invocation) logged the expected message."""
    props = dict(line.partition("=")[::2] for line in _run(
        ["systemctl", "show", "--property=InvocationID,ActiveState,SubState", "--", unit["unit"]]).splitlines())
    invocation = props.get("InvocationID", "")
    lines = _run(["journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_INVOCATION_ID={invocation}"]).splitlines() \
        if invocation else []
    ok = any(unit["message"] in line for line in lines)
    state = f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}"
    last = lines[-1][:200] if lines else "(none)"
    return ok, f"{state}; " + (f"logged \"{unit['message']}\"" if ok else f"last log line: {last}")


def journal(req: dict) -> dict:
    return poll({u["id"]: u for u in req["units"]}, logged,
                float(req.get("deadline", 300)), float(req.get("interval", 1)))


def main() -> int:
    req = json.loads(sys.argv[1])
    mode = req["mode"]
    modes = {"health": health, "journal": journal}
    if mode not in modes:
        print(json.dumps({"error": f"unknown mode {mode}"}))
        return 2
    out = modes[mode](req)
    ok = all(r["ok"] for r in out.values())
    print(json.dumps(out, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
