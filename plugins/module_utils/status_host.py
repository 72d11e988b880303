# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one host says about its Galaxy processes (module galaxyops.fleet.galaxy_status); standard library only.

Pure functions over text the module reads (``systemctl show``, ``systemctl list-units``, the nginx
record and configuration, rows of Galaxy's ``worker_process`` and ``job`` tables) and the host's
part of the cluster plan, plus ``accepts``, which connects to a port or a socket once.

- planned processes: every process of ``plan.hosts[HOST].units``;
- systemd's view of each: state, main PID, uptime, memory now and its limit, and whether the unit
  differs from what the plan renders (systemd's loaded ``ExecStart`` against the plan's command, the
  collection's record of what it installed, a unit file changed on disk and not reloaded);
- units of a Galaxy instance's prefix that run but are not planned;
- on a proxy, each upstream member's state in nginx: serving, drained or missing;
- for job handlers, their ``worker_process`` heartbeat and how many non-terminal jobs they hold.
"""

from __future__ import annotations

import re
import socket
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ansible_collections.galaxyops.fleet.plugins.module_utils.nginx_members import SERVER_LINE, parse_record
from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import HANDLER_TYPE, Record

SHOW_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MainPID", "ActiveEnterTimestampMonotonic",
                   "MemoryCurrent", "MemoryMax", "NRestarts", "ExecStart", "NeedDaemonReload")
RUNNING = ("active", "reloading")
UNSET = ("", "[not set]", "infinity", "18446744073709551615")
_ARGV = re.compile(r"argv\[\]=(?P<argv>.*?) ;")
#: processes whose health is that their port or socket accepts (celery has neither: active is enough)
PORT_TYPES = ("tusd", "gx-it-proxy", "reports")


@dataclass(frozen=True)
class Planned:
    """One process the plan gives the host."""

    unit: str
    instance: str
    service_type: str
    service_name: str
    server_name: str | None
    bind: str | None
    argv: tuple[str, ...]
    exec_start: str | None = None


def planned(plan: Mapping[str, Any], host: str) -> list[Planned]:
    """Every process of ``plan.hosts[host].units``, in the plan's order."""
    out = []
    for unit in ((plan.get("hosts") or {}).get(host) or {}).get("units", {}).values():
        for proc in unit.get("instances") or []:
            out.append(Planned(unit=proc["unit"], instance=unit["instance_name"], service_type=unit["service_type"],
                               service_name=unit.get("service_name") or unit["service_type"],
                               server_name=proc.get("server_name"), bind=proc.get("bind"),
                               argv=tuple(proc.get("argv") or ()), exec_start=proc.get("exec_start")))
    return out


def planned_units(plan: Mapping[str, Any], host: str) -> set[str]:
    """Unit names the plan gives the host: its processes and its targets."""
    entry = (plan.get("hosts") or {}).get(host) or {}
    return {p.unit for p in planned(plan, host)} | set(entry.get("targets") or ())


def unit_prefixes(plan: Mapping[str, Any]) -> list[str]:
    """The unit name prefix of every Galaxy instance of the plan (``galaxy``)."""
    return sorted({str(inst.get("unit_prefix") or "galaxy") for inst in (plan.get("instances") or {}).values()})


@dataclass(frozen=True)
class UnitState:
    """systemd's view of one unit."""

    unit: str
    load: str = "not-found"
    active: str = "inactive"
    sub: str = "dead"
    main_pid: int = 0
    uptime_s: float | None = None
    memory: int | None = None
    memory_max: int | None = None
    restarts: int = 0
    exec_argv: tuple[str, ...] = ()
    need_reload: bool = False

    @property
    def running(self) -> bool:
        return self.active in RUNNING

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["exec_argv"] = list(self.exec_argv)
        return out


def _int(value: str | None) -> int | None:
    if value is None or value.strip() in UNSET:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def exec_words(value: str) -> tuple[str, ...]:
    """The words of the first command of a ``systemctl show -p ExecStart`` value (``{ path=... ; argv[]=... ; ...}``)."""
    found = _ARGV.search(value or "")
    return tuple(found["argv"].split()) if found else ()


def parse_show(text: str, now_monotonic_s: float) -> dict[str, UnitState]:
    """``systemctl show --property=... UNIT...`` (blocks separated by an empty line) by unit."""
    out: dict[str, UnitState] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props = dict(line.partition("=")[::2] for line in block.splitlines() if "=" in line)
        unit = props.get("Id")
        if not unit:
            continue
        active = props.get("ActiveState", "inactive")
        entered = _int(props.get("ActiveEnterTimestampMonotonic"))
        uptime = round(max(0.0, now_monotonic_s - entered / 1e6), 1) if entered and active in RUNNING else None
        out[unit] = UnitState(
            unit=unit, load=props.get("LoadState", "not-found"), active=active, sub=props.get("SubState", ""),
            main_pid=_int(props.get("MainPID")) or 0, uptime_s=uptime, memory=_int(props.get("MemoryCurrent")),
            memory_max=_int(props.get("MemoryMax")), restarts=_int(props.get("NRestarts")) or 0,
            exec_argv=exec_words(props.get("ExecStart", "")), need_reload=props.get("NeedDaemonReload") == "yes")
    return out


def list_units(text: str) -> dict[str, tuple[str, str, str]]:
    """``systemctl list-units --all --plain --no-legend`` lines: unit -> (load, active, sub)."""
    out = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and not line.startswith(" ") and "." in fields[0]:
            out[fields[0].lstrip("●*")] = (fields[1], fields[2], fields[3])
    return out


def unplanned(units: Mapping[str, tuple[str, str, str]], want: Iterable[str], prefixes: Iterable[str]) -> list[dict[str, str]]:
    """Units of an instance's prefix (``galaxy-*``, ``galaxy.target``) that run although the plan lacks them."""
    want = set(want)
    pre = tuple(prefixes)
    out = []
    for unit, (load, active, sub) in sorted(units.items()):
        name = unit.rsplit(".", 1)[0]
        ours = any(name == p or name.startswith(p + "-") for p in pre)
        if ours and unit not in want and active in RUNNING:
            out.append({"unit": unit, "load": load, "active": active, "sub": sub})
    return out


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip("'\"") for w in text.split())


def drift(proc: Planned, state: UnitState, record: Record | None) -> list[str]:
    """How the installed unit differs from what the plan renders (empty: it does not)."""
    out = []
    if state.load != "loaded":
        return [f"systemd has no unit {proc.unit} ({state.load})"]
    if state.need_reload:
        out.append("its unit file changed on disk and systemd has not reloaded it")
    want = _words(proc.exec_start) if proc.exec_start else tuple(w for a in proc.argv for w in a.split())
    if state.exec_argv and tuple(w.strip("'\"") for w in state.exec_argv) != want:
        out.append(f"systemd runs `{' '.join(state.exec_argv)}`, the plan `{' '.join(want)}`")
    if record is not None:
        inst = record.instances.get(proc.instance)
        rec = inst.processes.get(proc.unit) if inst else None
        if rec is None:
            out.append("the collection's record does not list it (not installed by the galaxy_systemd role)")
        elif rec.argv and tuple(rec.argv) != proc.argv:
            out.append("installed with another command than the plan's (run the site playbook)")
    return out


def member_states(member_ids: Iterable[str], record_text: str | None, conf_text: str | None) -> dict[str, str]:
    """Each upstream member's state in nginx on this proxy: serving, drained (down) or missing (no server line)."""
    lines: dict[str, bool] = {}
    for line in (conf_text or "").splitlines():
        match = SERVER_LINE.match(line)
        if match:
            lines[match["id"]] = bool(match["down"])
    recorded = set(parse_record(record_text))
    out = {}
    for member in member_ids:
        if member not in lines:
            out[member] = "missing"
        else:
            out[member] = "drained" if lines[member] or member in recorded else "serving"
    return out


def local_target(bind: str) -> tuple[str, Any] | None:
    """Where to connect to a bind on its own host: ``("unix", PATH)`` or ``("tcp", (HOST, PORT))``."""
    if not bind:
        return None
    if bind.startswith("unix:") or bind.startswith("/"):
        return "unix", bind[5:] if bind.startswith("unix:") else bind
    host, _sep, port = bind.rpartition(":")
    if not port.isdigit():
        return None
    host = host.strip("[]")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}.get(host, host)
    return "tcp", (host, int(port))


def accepts(bind: str | None, timeout: float) -> tuple[bool, str]:
    """Whether a port or socket accepts a connection now."""
    target = local_target(bind or "")
    if target is None:
        return False, f"no address to connect to in bind {bind!r}"
    kind, where = target
    try:
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(where)
        else:
            sock = socket.create_connection(where, timeout=timeout)
        sock.close()
    except OSError as exc:
        return False, f"{bind}: {type(exc).__name__}: {exc}"
    return True, f"{bind} accepts"


@dataclass(frozen=True)
class Heartbeat:
    """A handler's row of ``worker_process`` and its non-terminal jobs."""

    alive: bool
    seen: str
    age_s: float | None = None
    pid: int | None = None
    hostname: str | None = None
    jobs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


HEARTBEAT_SQL = (
    "SELECT server_name, hostname, pid, "
    "EXTRACT(EPOCH FROM ((now() AT TIME ZONE 'utc') - update_time))::float AS age_s "
    "FROM worker_process WHERE server_name = ANY(%(names)s)"
)
JOBS_SQL = (
    "SELECT handler, count(*) AS jobs FROM job WHERE handler = ANY(%(names)s) "
    "AND NOT (state = ANY(%(terminal)s)) GROUP BY handler"
)


def heartbeats(names: Iterable[str], rows: Iterable[Mapping[str, Any]], job_rows: Iterable[Mapping[str, Any]],
               stale_after_s: float) -> dict[str, Heartbeat]:
    """Per handler server name, whether Galaxy's database sees it alive (a heartbeat younger than ``stale_after_s``)."""
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        name = row["server_name"]
        if name not in latest or float(row["age_s"]) < float(latest[name]["age_s"]):
            latest[name] = row
    jobs = {r["handler"]: int(r["jobs"]) for r in job_rows}
    out = {}
    for name in names:
        row = latest.get(name)
        count = jobs.get(name, 0)
        if row is None:
            out[name] = Heartbeat(False, "no worker_process row (never ran against this database)", jobs=count)
            continue
        age = round(float(row["age_s"]), 1)
        alive = age <= stale_after_s
        seen = f"heartbeat {age:.0f} s ago" + ("" if alive else f" (stale after {stale_after_s:.0f} s)")
        out[name] = Heartbeat(alive, seen, age, row.get("pid"), row.get("hostname"), count)
    return out


@dataclass
class HostStatus:
    """Everything one host says, as the module returns it."""

    host: str
    processes: list[dict[str, Any]] = field(default_factory=list)
    unplanned: list[dict[str, str]] = field(default_factory=list)
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def handler_names(processes: Iterable[Planned]) -> list[str]:
    return [p.server_name for p in processes if p.service_type == HANDLER_TYPE and p.server_name]
