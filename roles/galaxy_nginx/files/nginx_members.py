# Managed by galaxyops.fleet (role galaxy_nginx, entry point `members`). Run on a proxy host as
# `python3 -c SOURCE REQUEST_JSON`; standard library only. Takes upstream members out of nginx or
# puts them back in one go and prints one JSON object:
#   1. reads the record of drained members (the state file) and the live configuration file;
#   2. computes the new set of drained members (recorded - undrain + drain, members of the plan only);
#   3. sets or clears `down` on each member's `server` line (the line ends with "# HOST/UNIT", as the
#      role's template writes it), so the result equals what the template renders for that set;
#   4. tests the candidate with nginx-check (a full copy of the configuration, `nginx -t`): a
#      candidate nginx refuses replaces nothing and exits 1 with nginx's message;
#   5. writes the record, then the configuration (each by an atomic rename), reloads nginx and waits
#      until the master runs new workers;
#   6. optionally waits (bounded) until the workers of the old configuration have exited and no
#      established connection from this host to a newly drained member remains (its requests in
#      flight are done).
# Request keys: conf_file, state_file, state_head (text before the record's data), check_command,
# main_conf, pid_file, members ({HOST/UNIT: address}), drain, undrain, wait (seconds, 0: no wait),
# interval, check (compute only).
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

SERVER_LINE = re.compile(r"^(?P<head>\s*server\s+\S.*?)(?P<down> down)?;(?P<tail>\s+#\s+(?P<id>\S+)\s*)$")


class Refused(Exception):
    """The request cannot be applied; nothing was changed."""


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def parse_record(text: str | None) -> list[str]:
    """Members of a record: `down: []`, or `down:` and one `- ID` per line (plain, "json" or 'single')."""
    out = []
    for line in (text or "").splitlines():
        item = line.strip()
        if not item.startswith("- "):
            continue
        value = item[2:].strip()
        if value.startswith('"'):
            value = json.loads(value)
        elif value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        out.append(value)
    return out


def render_record(head: str, down: list[str]) -> str:
    """The record as the role's template writes it (members-down.yml.j2)."""
    if not down:
        return head + "down: []\n"
    return head + "down:\n" + "".join(f"  - {json.dumps(m)}\n" for m in down)


def toggle(conf: str, down: set[str], known: set[str]) -> tuple[str, set[str]]:
    """conf with `down` set exactly on the members in `down`; also the member ids it lists."""
    lines = conf.splitlines(keepends=True)
    seen = set()
    for i, line in enumerate(lines):
        body = line.rstrip("\n")
        match = SERVER_LINE.match(body)
        if not match or match["id"] not in known:
            continue
        seen.add(match["id"])
        flag = " down" if match["id"] in down else ""
        lines[i] = f"{match['head']}{flag};{match['tail']}" + line[len(body):]
    return "".join(lines), seen


def write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def nginx_test(req: dict, candidate: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix="galaxyops-nginx-members.", suffix=".conf")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(candidate)
        run = subprocess.run([req["check_command"], tmp, req["conf_file"], req["main_conf"]],
                             capture_output=True, text=True, check=False)
    except OSError as exc:
        raise Refused(f"cannot run {req['check_command']}: {exc} (run the galaxy_nginx role first)") from exc
    finally:
        os.unlink(tmp)
    if run.returncode != 0:
        raise Refused(f"nginx refuses the new configuration, nothing changed: {(run.stderr or run.stdout).strip()}")


def children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # "PID (comm) STATE PPID ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.add(int(entry))
    return out


def reload_nginx(req: dict) -> list[int]:
    """Reload nginx; return the PIDs of the workers that ran the old configuration."""
    try:
        with open(req.get("pid_file") or "/run/nginx.pid", encoding="ascii") as fh:
            master = int(fh.read().strip())
    except (OSError, ValueError) as exc:
        raise Refused(f"nginx does not run ({exc}); start it with the galaxy_nginx role") from exc
    old = children(master)
    run = subprocess.run(["systemctl", "reload", "nginx"], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise Refused(f"systemctl reload nginx failed: {(run.stderr or run.stdout).strip()}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if children(master) - old:
            return sorted(old)
        time.sleep(0.02)
    raise Refused("nginx did not start workers with the new configuration within 10 s")


def tcp_peers() -> set[tuple[str, int]]:
    """Remote (address, port) of this host's established TCP connections."""
    peers = set()
    for name, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            with open(name, encoding="ascii") as fh:
                rows = fh.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] != "01":  # ESTABLISHED
                continue
            addr_hex, port_hex = fields[2].split(":")
            raw = bytes.fromhex(addr_hex)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
            addr = socket.inet_ntop(family, raw)
            peers.add((addr[7:] if addr.startswith("::ffff:") else addr, int(port_hex, 16)))
    return peers


def resolve(address: str) -> set[tuple[str, int]]:
    host, _sep, port = address.rpartition(":")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return set()
    return {(info[4][0], int(port)) for info in infos}


def nginx_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as fh:
            return fh.read().strip() == "nginx"
    except OSError:
        return False


def wait_drained(old_workers: list[int], addresses: list[str], wait: float, interval: float) -> dict:
    start = time.monotonic()
    wanted = set()
    for address in addresses:
        if not address.startswith("unix:"):
            wanted |= resolve(address)
    while True:
        workers = [pid for pid in old_workers if nginx_alive(pid)]
        conns = sorted(f"{a}:{p}" for a, p in tcp_peers() & wanted)
        if (not workers and not conns) or time.monotonic() - start >= wait:
            break
        time.sleep(interval)
    return {"drained": not workers and not conns, "old_workers_left": workers, "connections_left": conns,
            "after_s": round(time.monotonic() - start, 2)}


def apply(req: dict) -> dict:
    started = time.monotonic()
    members: dict[str, str] = req["members"]
    known = set(members)
    drain, undrain = set(req.get("drain", [])), set(req.get("undrain", []))
    unknown = sorted((drain | undrain) - known)
    if unknown or drain & undrain:
        raise Refused(f"members must be HOST/UNIT of the plan and not both drained and undrained: {unknown or sorted(drain & undrain)}")
    conf = read_text(req["conf_file"])
    if conf is None:
        raise Refused(f"{req['conf_file']} does not exist (run the galaxy_nginx role first)")
    record_text = read_text(req["state_file"])
    before = sorted(set(parse_record(record_text)) & known)
    down = sorted(((set(before) - undrain) | drain) & known)
    candidate, listed = toggle(conf, set(down), known)
    missing = sorted((drain | undrain) - listed)
    if missing:
        raise Refused(f"{req['conf_file']} has no upstream server for {', '.join(missing)}: "
                      "deploy this plan with the galaxy_nginx role first")
    record = render_record(req["state_head"], down)
    conf_changed = candidate != conf
    record_changed = (bool(down) or record_text is not None) and record != record_text
    out = {"changed": conf_changed or record_changed, "conf_changed": conf_changed, "record_changed": record_changed,
           "down_before": before, "down": down, "reloaded": False, "old_workers": [], "drain": None}
    if req.get("check"):
        return out
    if conf_changed:
        nginx_test(req, candidate)
    if record_changed:
        write_atomic(req["state_file"], record)
    if conf_changed:
        write_atomic(req["conf_file"], candidate)
        out["old_workers"] = reload_nginx(req)
        out["reloaded"] = True
    out["reload_s"] = round(time.monotonic() - started, 3)
    newly = sorted(drain - set(before))
    if out["reloaded"] and newly and float(req.get("wait", 0)) > 0:
        out["drain"] = wait_drained(out["old_workers"], [members[m] for m in newly], float(req["wait"]),
                                    float(req.get("interval", 0.05)))
    return out


def main() -> int:
    try:
        out = apply(json.loads(sys.argv[1]))
    except Refused as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
