# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records of a rolling restart, and every process of the cluster plan as one (controller only).

:class:`Limits` and :class:`Settings` are what the playbook asks; :class:`Member` (an upstream's gunicorn)
and :class:`Process` (handlers, celery, tusd, ...) are read from the plan by :func:`members` and
:func:`processes`; :class:`Step`, :class:`Wave`, :class:`ServiceStep` and :class:`Order` are what
``restart_order`` decides from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_lanes as rl


@dataclass(frozen=True)
class Limits:
    """What to restart; empty means no limit, and a process must pass every limit."""

    hosts: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    units_exact: bool = False


@dataclass(frozen=True)
class Settings:
    """The role's settings that shape the order and the checks."""

    web_batch: int = 1
    # a count or "N%" of each upstream's members; empty: web hosts in batches of web_batch
    max_unavailable: str = ""
    # parallel: handler and service lanes run beside the web steps; serial: after them
    lanes: str = "parallel"
    handler_batch: int = 1
    drain_timeout: float = 60
    ready_timeout: float = 300
    poll_interval: float = 0.5
    request_timeout: float = 5
    handler_ready_message: str = "Galaxy server instance '{name}' is running"
    celery_ready_message: str = " ready."
    allow_downtime: bool = False
    start_stopped: bool = False


@dataclass(frozen=True)
class Member:
    """One gunicorn: a member of its Galaxy instance's nginx upstream."""

    id: str
    host: str
    unit: str
    file: str
    instance: str
    upstream: str
    upstream_size: int
    restart_timeout: float
    health_url: Any
    server_name: str | None = None
    bind: str | None = None
    address: str | None = None
    service_type: str = "gunicorn"

    def target(self) -> dict[str, Any]:
        """The health check target of galaxyops.fleet.galaxy_health."""
        if isinstance(self.health_url, Mapping):
            return {"id": self.id, "socket": self.health_url.get("socket"), "path": self.health_url.get("path")}
        return {"id": self.id, "url": self.health_url}


@dataclass(frozen=True)
class Process:
    """Any other Galaxy process (handler, celery, celery-beat, tusd, gx-it-proxy, reports)."""

    id: str
    host: str
    unit: str
    file: str
    server_name: str | None
    service_type: str
    service_name: str
    instance: str
    reload: str | None
    bind: str | None
    pools: tuple[str, ...]


@dataclass(frozen=True)
class Problems:
    """Why the restart must not run (None: no such problem)."""

    limits: str | None = None
    downtime: str | None = None
    unhealthy: str | None = None


@dataclass(frozen=True)
class Step:
    """Gunicorns restarted together (one per web host of a batch)."""

    members: tuple[Member, ...]
    drain_first: bool
    next_ids: tuple[str, ...]
    ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(m.id for m in self.members))


@dataclass(frozen=True)
class Wave:
    """Handlers restarted together; ``checks``: per host, the journal checks of galaxy_health."""

    processes: tuple[Process, ...]
    checks: tuple[dict[str, Any], ...]
    ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(p.id for p in self.processes))


@dataclass(frozen=True)
class ServiceStep:
    """One other service: reloaded or restarted, then checked (celery's log, a TCP port)."""

    process: Process
    state: str
    journal: tuple[dict[str, Any], ...]
    port: dict[str, Any] | None


@dataclass(frozen=True)
class Order:
    """Everything the role applies, in order."""

    selected: tuple[str, ...]
    preflight: tuple[dict[str, Any], ...]
    problems: Problems
    unhealthy: tuple[str, ...]
    to_start: tuple[Member, ...]
    steps: tuple[Step, ...]
    waves: tuple[Wave, ...]
    services: tuple[ServiceStep, ...]
    local_warning: str | None
    # what the handler and service hosts restart by themselves (galaxy_restart_lane), and the handler
    # waves that stay in step across hosts (pools with handlers on several hosts), run in the foreground
    lanes: tuple[rl.Lane, ...] = ()
    foreground_waves: tuple[Wave, ...] = ()
    # every planned gunicorn's health request and every planned handler's journal checks, whatever
    # the limits: what the site playbook waits for before it returns
    ready: dict[str, Any] = field(default_factory=dict)
    ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ids = [m.id for m in self.to_start] + [i for s in self.steps for i in s.ids]
        ids += [i for w in self.waves for i in w.ids] + [s.process.id for s in self.services]
        object.__setattr__(self, "ids", tuple(ids))

    def lines(self) -> list[str]:
        """The order as the play shows it."""
        out = [f"start first: {', '.join(m.id for m in self.to_start)}"] if self.to_start else []
        out += ["gunicorn: " + " + ".join(s.ids) for s in self.steps]
        out += ["handlers: " + " + ".join(w.ids) for w in self.waves]
        out += ["service: " + s.process.id for s in self.services]
        return out or ["nothing to restart"]

    def to_dict(self) -> dict[str, Any]:
        out = as_lists(asdict(self))
        out["lines"] = self.lines()
        out["start_check"] = health_request(self.to_start)
        for i, (step, raw) in enumerate(zip(self.steps, out["steps"])):
            raw["check"] = health_request(step.members)
            raw["next_members"] = out["steps"][i + 1]["members"] if i + 1 < len(self.steps) else []
        return out


def as_lists(value: Any) -> Any:
    """Tuples as lists, for a task result."""
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_lists(v) for v in value]
    return value


def health_request(group: Sequence[Member]) -> dict[str, Any]:
    """The galaxy_health targets of some gunicorns, and how long the slowest may take."""
    return {"targets": [m.target() for m in group], "deadline": max((m.restart_timeout for m in group), default=0)}


# ------------------------------------------------------------------ every process of the plan
def members(plan: Mapping[str, Any], ready_timeout: float) -> list[Member]:
    """Every gunicorn of the plan, per Galaxy instance (by name), in upstream order."""
    out = []
    for name, inst in sorted(plan.get("instances", {}).items()):
        upstream = inst.get("upstream") or {}
        listed = upstream.get("members") or []
        for m in listed:
            file, proc = m["unit"], None
            for unit_file, unit in plan["hosts"][m["host"]].get("units", {}).items():
                for p in unit["instances"]:
                    if p["unit"] == m["unit"]:
                        file, proc = unit_file, p
            timeout = proc.get("restart_timeout") if proc else None
            out.append(Member(
                id=f"{m['host']}/{m['unit']}", host=m["host"], unit=m["unit"], file=file, instance=name,
                upstream=upstream.get("name"), upstream_size=len(listed),
                restart_timeout=ready_timeout if timeout is None else timeout, health_url=m.get("health_url"),
                server_name=m.get("server_name"), bind=m.get("bind"), address=m.get("address"),
            ))
    return out


def _pools(instance: str, handler: Mapping[str, Any], server_name: str | None) -> tuple[str, ...]:
    """The pools a handler serves, per Galaxy instance: dynamic pools, else its static tags as one pool."""
    if handler.get("pools"):
        return tuple(f"{instance}:{pool}" for pool in handler["pools"])
    return (f"{instance}:static:" + (",".join(handler.get("tags") or []) or str(server_name)),)


def processes(plan: Mapping[str, Any]) -> list[Process]:
    """Every other process of the plan, host by host, unit files by name."""
    out = []
    for host, hplan in plan.get("hosts", {}).items():
        for file, unit in sorted((hplan.get("units") or {}).items()):
            if unit["service_type"] == "gunicorn":
                continue
            instance = unit["instance_name"]
            roster = plan["instances"].get(instance, {}).get("handlers") or {}
            for p in unit["instances"]:
                out.append(Process(
                    id=f"{host}/{p['unit']}", host=host, unit=p["unit"], file=file, server_name=p.get("server_name"),
                    service_type=unit["service_type"], service_name=unit["service_name"], instance=instance,
                    reload=p.get("reload"), bind=p.get("bind"),
                    pools=_pools(instance, roster.get(p.get("server_name"), {}), p.get("server_name")),
                ))
    return out
