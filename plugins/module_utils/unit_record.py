# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record of the Galaxy units the galaxy_systemd role installed on a host (typed, no I/O).

Per Galaxy instance: its units, its files, its job handlers' server names and tags (as the
earlier version wrote them), and for each process unit what it was started as (service type,
server name, pools, binds, argv), written when the unit is installed so that nothing is ever read
back from an ``ExecStart=`` line. ``process_from_argv`` reads a unit file's command line once, for
units of a record an earlier version wrote without that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

RECORD_VERSION = 2
HANDLER_TYPE = "standalone"  # the plan's service_type of job handlers (galaxy-main)
WEB_TYPES = ("gunicorn", "reports")  # processes behind a proxy


@dataclass(frozen=True)
class Process:
    """What the record keeps of one installed process unit."""

    unit: str
    service_type: str | None = None
    server_name: str | None = None
    pools: tuple[str, ...] = ()
    binds: tuple[str, ...] = ()
    argv: tuple[str, ...] = ()

    @property
    def is_handler(self) -> bool:
        return self.service_type == HANDLER_TYPE and bool(self.server_name)

    @property
    def is_web(self) -> bool:
        return self.service_type in WEB_TYPES and bool(self.binds)

    def as_dict(self) -> dict[str, Any]:
        return {"service_type": self.service_type, "server_name": self.server_name, "pools": list(self.pools),
                "binds": list(self.binds), "argv": list(self.argv)}

    @classmethod
    def from_dict(cls, unit: str, data: Mapping[str, Any]) -> Process:
        return cls(unit=unit, service_type=data.get("service_type"), server_name=data.get("server_name"),
                   pools=tuple(data.get("pools") or ()), binds=tuple(data.get("binds") or ()),
                   argv=tuple(data.get("argv") or ()))


def _option_values(argv: list[str], names: tuple[str, ...]) -> list[str]:
    values = []
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                values.append(argv[i + 1])
            elif arg.startswith(name + "="):
                values.append(arg[len(name) + 1:])
    return values


def command_pools(argv: list[str]) -> tuple[str, ...]:
    """The ``--attach-to-pool`` values of a command: the pools a handler runs in, as Galaxy reads them."""
    return tuple(_option_values(argv, ("--attach-to-pool",)))


def process_from_argv(unit: str, argv: list[str]) -> Process:
    """A process of a record written by an earlier version, from the command line of its unit file.

    As that version decided: a ``galaxy-main`` with ``--server-name`` is a job handler, a command with
    ``--bind``/``-b`` a web process (gunicorn: Galaxy's or the reports').
    """
    names = _option_values(argv, ("--server-name",))
    binds = tuple(b.strip("'\"") for b in _option_values(argv, ("--bind", "-b")))
    if names and any("galaxy-main" in a for a in argv):
        service_type: str | None = HANDLER_TYPE
    else:
        service_type = "gunicorn" if binds else None
    return Process(unit=unit, service_type=service_type, server_name=names[0] if names else None,
                   pools=command_pools(argv), binds=binds, argv=tuple(argv))


@dataclass
class InstanceRecord:
    """The units and files installed for one Galaxy instance on the host."""

    units: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    handlers: dict[str, dict[str, Any]] = field(default_factory=dict)  # unit -> {server_name, tags}
    processes: dict[str, Process] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"units": list(self.units), "files": list(self.files)}
        if self.handlers:
            out["handlers"] = self.handlers
        out["processes"] = {u: p.as_dict() for u, p in self.processes.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceRecord:
        return cls(units=list(data.get("units") or []), files=list(data.get("files") or []),
                   handlers=dict(data.get("handlers") or {}),
                   processes={u: Process.from_dict(u, p) for u, p in (data.get("processes") or {}).items()})


@dataclass
class Record:
    """The record file: per Galaxy instance, what the role installed on this host."""

    instances: dict[str, InstanceRecord] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, "instances": {n: i.as_dict() for n, i in self.instances.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Record:
        instances = (data or {}).get("instances") or {}
        return cls(instances={n: InstanceRecord.from_dict(i or {}) for n, i in instances.items()})
