"""Names: systemd units, template units, targets and handler server names, as Gravity gives them.

Gravity 1.2.4 (``process_manager: systemd``) names a unit ``galaxy[-INSTANCE]-SERVICE.service``;
a service with several processes (a gunicorn or tusd list, a dynamic handler key with process
numbers) gets one template unit ``...-SERVICE@.service`` whose instances are ``@0``, ``@1``, ...
unless service instances are off (``use_service_instances: false`` or ``service_command_style:
direct``): then each process of the list has its own unit, named by its own service name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\-]+$")
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
HOST_VAR_RE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class InstanceNames:
    """What one Galaxy instance's names start with."""

    instance_name: str
    unit_prefix: str      # galaxy or galaxy-INSTANCE
    target: str           # galaxy[-INSTANCE].target
    upstream_name: str    # the proxy's upstream: galaxy or galaxy_INSTANCE

    def description(self, service_name: str, template: bool = False) -> str:
        """A unit's Description= (a template's says which process it is)."""
        inst = f" {self.instance_name}" if self.unit_prefix != "galaxy" else ""
        return f"Galaxy{inst} {service_name}" + (" (process %i)" if template else "")


def instance_names(instance_name: str, in_names: bool) -> InstanceNames:
    """The names of an instance; ``in_names``: whether unit names carry the instance name
    (several instances, or one not named ``_default_``)."""
    suffix = f"-{instance_name}" if in_names else ""
    upstream = "galaxy" + (f"_{re.sub(r'[^A-Za-z0-9_]', '_', instance_name)}" if in_names else "")
    return InstanceNames(instance_name, f"galaxy{suffix}", f"galaxy{suffix}.target", upstream)


def valid_name(name: str) -> bool:
    """Whether an instance or handler server name may be part of unit names and command lines."""
    return bool(SERVER_NAME_RE.match(name))


@dataclass(frozen=True)
class UnitName:
    """The unit one process runs in."""

    unit: str                  # NAME.service or NAME@N.service
    unit_file: str             # NAME.service or NAME@.service
    service_name: str          # what NAME ends with
    index: int | None          # N for a template instance
    problem: str | None = None  # why systemd would not accept the name


def uses_service_instances(settings: dict) -> bool:
    """Whether a list of processes shares one template unit (Gravity's default)."""
    return bool(settings["use_service_instances"] and settings["service_command_style"] == "gravity")


def _unit_name(unit_prefix: str, service_name: str, index: int | None) -> UnitName:
    stem = f"{unit_prefix}-{service_name}"
    problem = None
    if not UNIT_NAME_RE.match(f"{stem}.service"):
        problem = f"{stem + '.service'!r} is not a valid systemd unit name"
    if index is None:
        return UnitName(f"{stem}.service", f"{stem}.service", service_name, None, problem)
    return UnitName(f"{stem}@{index}.service", f"{stem}@.service", service_name, index, problem)


def unit_names(unit_prefix: str, service_name: str, server_names: list[str], as_list: bool,
               service_instances: bool) -> list[UnitName]:
    """The units of the enabled processes of one Gravity service, in order.

    ``server_names`` are the processes' own service names (gunicorn0, handler_1, ...);
    ``as_list``: Gravity sees the service as a list. With service instances a list of several
    processes shares the template ``PREFIX-SERVICE@.service`` and a list of one gets
    ``PREFIX-SERVICE.service``; without them every process of a list has its own unit.
    """
    if as_list and not service_instances:
        return [_unit_name(unit_prefix, name, None) for name in server_names]
    template = as_list and len(server_names) > 1
    return [_unit_name(unit_prefix, service_name, number if template else None)
            for number in range(len(server_names))]


def host_variable(host: str) -> str:
    """An inventory host name as the ``{host}`` of a handler name template."""
    return HOST_VAR_RE.sub("_", host)


def dynamic_name_template(key: str, processes: int, template: str | None, shared: bool) -> str | None:
    """The name template of a gravity.handlers key, or None when its one process is named by the key
    itself (a key ending in a digit, one process, no template, on one host only). A key on
    several hosts gets the host in its default template so that names stay unique."""
    if template is None:
        if not shared and processes == 1 and key[-1].isdigit():
            return None
        template = "{name}_{host}_{process}" if shared else "{name}_{process}"
    return template.strip()
