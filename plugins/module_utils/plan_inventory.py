"""The inventory as the plan reads it: groups, each host's address and its Gravity overrides.

``Inventory`` orders the hosts (``all`` first, then every group, then the hostvars), maps each
role (web, handlers, celery, ...) to the hosts of its group, and gives a host's address.
``HostSettings`` resolves the Gravity settings one host runs with: the instance's settings with
the host's ``fleet_gravity`` (and ``fleet_gravity_instances``) merged in, validated once per
distinct override, with their problems named after the inventory.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils import gravity_config as gc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, Problem
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_sources import Source

DEFAULT_GROUPS = {
    "web": "galaxy_web",
    "handlers": "galaxy_handlers",
    "celery": "galaxy_celery",
    "proxy": "galaxy_proxy",
    "tusd": "galaxy_tusd",
    "gx_it_proxy": "galaxy_gx_it_proxy",
    "reports": "galaxy_reports",
}
# roles whose group may be empty: their processes then run on the web hosts
FALLBACK_TO_WEB = ("tusd", "gx_it_proxy", "reports")
# the roles whose hosts run Galaxy processes, in the order their hosts are visited
PROCESS_ROLES = ("web", "handlers", "celery", "tusd", "gx_it_proxy", "reports")
# what problems with host variables name as their file
INVENTORY = "inventory"


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` into a copy of ``base``: mappings merge, anything else (lists too)
    replaces, and a null in the override removes the key (so a default applies again)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class Inventory:
    """Groups and host variables, with each role's hosts in inventory order."""

    def __init__(self, inventory: dict, group_names: dict[str, str]):
        inventory = inventory or {}
        self.groups: dict[str, list[str]] = {k: list(v or []) for k, v in (inventory.get("groups") or {}).items()}
        self.hostvars: dict[str, dict] = inventory.get("hostvars") or {}
        names = [*self.groups.get("all", []), *(h for members in self.groups.values() for h in members),
                 *self.hostvars]
        self.order: list[str] = list(dict.fromkeys(names))
        self.group_names = group_names
        self.role_hosts: dict[str, list[str]] = {
            role: list(dict.fromkeys(self.groups.get(group, []))) for role, group in group_names.items()}
        for role in FALLBACK_TO_WEB:
            if not self.role_hosts.get(role):
                self.role_hosts[role] = list(self.role_hosts.get("web", []))
        self.role_sets = {role: set(hosts) for role, hosts in self.role_hosts.items()}

    def var(self, host: str, name: str, default: Any = None) -> Any:
        return (self.hostvars.get(host) or {}).get(name, default)

    def address(self, host: str) -> str:
        hv = self.hostvars.get(host) or {}
        return str(hv.get("fleet_address") or hv.get("ansible_host") or host)

    def host_groups(self, host: str) -> list[str]:
        """The plan's groups this host is in, in the order of the roles."""
        return [g for g in dict.fromkeys(self.group_names.values()) if host in self.groups.get(g, [])]

    def process_hosts(self) -> list[str]:
        """Every host of a role that runs Galaxy processes, each once."""
        return list(dict.fromkeys(h for role in PROCESS_ROLES for h in self.role_hosts.get(role, [])))

    def gravity_override(self, host: str, source: Source) -> Any:
        """The host's ``fleet_gravity``, with its ``fleet_gravity_instances`` entry for this instance."""
        override = self.var(host, "fleet_gravity")
        per_instance = self.var(host, "fleet_gravity_instances")
        if per_instance and isinstance(per_instance, dict) and isinstance(source.gravity, dict):
            name = source.gravity.get("instance_name", gc.DEFAULT_INSTANCE_NAME)
            extra = per_instance.get(name)
            if extra:
                override = deep_merge(override or {}, extra)
        return override


@dataclass
class Settings:
    """Validated settings for one instance, shared by every host with the same overrides."""

    settings: dict | None
    problems: list[Problem]


def _retarget(problem: Problem, base_path: str, host: str) -> Problem:
    key = problem.key_path
    if key == base_path or key.startswith(base_path + "."):
        key = "fleet_gravity" + key[len(base_path):]
    return Problem(INVENTORY, key, problem.message, host)


class HostSettings:
    """The Gravity settings each host runs one instance with."""

    def __init__(self, inv: Inventory, source: Source, base: Settings, out: Collector):
        self.inv = inv
        self.source = source
        self.base = base
        self.out = out
        self._cache: dict[str, Settings] = {}

    def for_host(self, host: str | None) -> dict | None:
        """The host's settings, or None when its override has problems (they are collected)."""
        source = self.source
        override = self.inv.gravity_override(host, source) if host else None
        if not override:
            return self.base.settings
        if not isinstance(override, dict):
            self.out.error(INVENTORY, "fleet_gravity", "must be a mapping of Gravity settings", host)
            return None
        for fixed in ("instance_name", "galaxy_config_file"):
            if fixed in override:
                self.out.error(INVENTORY, f"fleet_gravity.{fixed}", "cannot be changed per host", host)
        key = json.dumps(override, sort_keys=True, default=str)
        entry = self._cache.get(key)
        if entry is None:
            collector = Collector()
            merged = deep_merge(source.gravity if isinstance(source.gravity, dict) else {}, override)
            settings = gc.validate_gravity(merged, source.gravity_file, source.path, collector)
            base_keys = {(p.key_path, p.message) for p in self.base.problems}
            own = [p for p in collector.problems if (p.key_path, p.message) not in base_keys]
            entry = Settings(settings, own)
            self._cache[key] = entry
        for problem in entry.problems:
            self.out.add(_retarget(problem, source.path, host))
        return entry.settings if not entry.problems else None
