"""The plan's records: one dataclass per thing the plan lists, each with ``to_dict()``.

``to_dict()`` gives exactly the mapping docs/plan.md describes (keys in that order); what a
record carries only while the plan is built (where a process's settings come from, its parsed
bind, which unit file it shares) are fields that ``to_dict()`` leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

PLAN_VERSION = 1


def _pick(record: Any, keys: tuple[str, ...]) -> dict:
    """The mapping of ``keys`` to the record's values, in that order."""
    return {key: getattr(record, key) for key in keys}


class Endpoint(NamedTuple):
    """What a bind listens on: ("unix", path, None) or ("tcp", normalised host, port)."""

    kind: str
    where: str
    port: int | None = None


@dataclass
class Process:
    """One Galaxy process: what runs (argv, environment) and its unit settings."""

    server_name: str
    argv: list[str]
    exec_start: str
    environment: dict[str, str]
    working_directory: str
    user: str | None
    group: str | None
    umask: str | None
    start_timeout: int
    stop_timeout: int
    restart_timeout: int | None
    memory_limit: float | int | None
    memory_high: float | int | None
    log_namespace: str | None
    reload: str | None
    bind: str | None
    health_url: Any = None
    index: int | None = None       # the instance of a template unit, else None
    unit: str | None = None        # set when the process's service is named
    # -- while the plan is built, not in it
    service_type: str = ""         # gunicorn, celery, celery-beat, tusd, gx-it-proxy, reports, standalone
    origin: str = ""               # the file problems with this process name
    key_path: str = ""             # and the key path in it
    endpoint: Endpoint | None = None
    position: int = 0              # the gunicorn's upstream index
    unit_file: str = ""            # NAME.service or NAME@.service
    unit_service: str = ""         # the service name the unit is named by
    service_name: str = ""         # the process's own service name (gunicorn0, handler_1, ...)
    unit_group: object = None      # processes named together may share a unit file; nothing else may

    KEYS = ("index", "unit", "server_name", "argv", "exec_start", "environment", "working_directory", "user",
            "group", "umask", "start_timeout", "stop_timeout", "restart_timeout", "memory_limit", "memory_high",
            "log_namespace", "reload", "bind", "health_url")

    def to_dict(self) -> dict:
        return _pick(self, self.KEYS)


@dataclass
class Unit:
    """One unit file on one host: a plain unit (one process) or a template (its instances)."""

    instance_name: str
    service_type: str
    service_name: str
    description: str
    template: bool
    target: str
    instances: list[Process] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(_pick(self, ("instance_name", "service_type", "service_name", "description", "template",
                                 "target")), instances=[p.to_dict() for p in self.instances])


@dataclass
class HostPlan:
    address: str
    groups: list[str]
    targets: list[str] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"address": self.address, "groups": self.groups, "targets": self.targets,
                "units": {name: unit.to_dict() for name, unit in self.units.items()}}


@dataclass
class UpstreamMember:
    """One gunicorn in the instance's upstream, as the proxy reaches it."""

    host: str
    unit: str | None
    index: int
    server_name: str
    bind: str | None
    address: str | None = None
    health_url: Any = None

    def to_dict(self) -> dict:
        return _pick(self, ("host", "unit", "index", "server_name", "bind", "address", "health_url"))


@dataclass
class ServiceEndpoint:
    """Where a tusd or gx-it-proxy listens."""

    host: str
    unit: str | None
    bind: str | None
    address: str | None = None

    def to_dict(self) -> dict:
        return _pick(self, ("host", "unit", "bind", "address"))


@dataclass
class ReportsEndpoint(ServiceEndpoint):
    """Where reports listens, and under which URL prefix."""

    url_prefix: str | None = None

    def to_dict(self) -> dict:
        return dict(super().to_dict(), url_prefix=self.url_prefix)


@dataclass
class RosterEntry:
    """One job handler (static or dynamic), by the server name it runs as."""

    host: str
    unit: str | None
    index: int
    key: str | None               # the gravity.handlers key of a dynamic handler
    pools: list[str]
    tags: list[str]
    static: bool

    def to_dict(self) -> dict:
        return dict(_pick(self, ("host", "unit", "index", "key")), pools=list(self.pools), tags=self.tags,
                    static=self.static)


@dataclass
class InstancePlan:
    """One Galaxy instance across the cluster."""

    instance_name: str
    galaxy_config_file: str
    galaxy_root: str
    virtualenv: str
    user: str
    group: str | None
    gravity_data_dir: str
    target: str
    unit_prefix: str
    url_prefix: str
    upstream_name: str
    members: list[UpstreamMember]
    handlers: dict[str, RosterEntry]
    assign: list[str]
    default_handler: str | None
    job_config: str | None
    local_job_environments: list[str]
    celery_beat_host: str | None
    services: dict[str, list[ServiceEndpoint]]

    def to_dict(self) -> dict:
        result = _pick(self, ("instance_name", "galaxy_config_file", "galaxy_root", "virtualenv", "user", "group",
                              "gravity_data_dir", "target", "unit_prefix", "url_prefix"))
        result["upstream"] = {"name": self.upstream_name, "members": [m.to_dict() for m in self.members]}
        result["handlers"] = {name: entry.to_dict() for name, entry in self.handlers.items()}
        result.update(_pick(self, ("assign", "default_handler", "job_config", "local_job_environments",
                                   "celery_beat_host")))
        result["services"] = {name: [e.to_dict() for e in entries] for name, entries in self.services.items()}
        return result


@dataclass
class Plan:
    groups: dict[str, str]
    instances: dict[str, InstancePlan]
    hosts: dict[str, HostPlan]
    warnings: list[str]
    version: int = PLAN_VERSION

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "groups": dict(self.groups),
            "instances": {name: inst.to_dict() for name, inst in self.instances.items()},
            "hosts": {name: host.to_dict() for name, host in self.hosts.items()},
            "warnings": list(self.warnings),
        }
