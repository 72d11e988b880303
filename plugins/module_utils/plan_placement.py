"""Placement: which host runs celery-beat, each static job handler and each dynamic handler.

- celery-beat runs on exactly one host: the celery host with ``fleet_celery_beat: true``, else
  the first celery host whose settings enable beat.
- A static handler (the job configuration's) runs on exactly one host: the handler host that
  lists it in ``fleet_static_handlers``, else the handler hosts in turn.
- A dynamic handler key (``gravity.handlers``) runs its processes on every handler host whose
  settings have it; a key on several hosts gets the host in its server names.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import JobConfig, StaticHandler
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_inventory import INVENTORY, Inventory
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_naming import (
    dynamic_name_template, host_variable, valid_name)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_sources import Source


def place_beat(inv: Inventory, host_settings: dict[str, dict], base: dict, instance_name: str,
               out: Collector) -> str | None:
    """The host that runs celery-beat, or None."""
    celery_group = inv.group_names["celery"]
    celery_set = inv.role_sets.get("celery", set())
    celery_hosts = [h for h in inv.role_hosts.get("celery", []) if h in host_settings]
    candidates = [h for h in celery_hosts if host_settings[h]["celery"] and host_settings[h]["celery"]["enable_beat"]]
    explicit = [h for h in inv.order if inv.var(h, "fleet_celery_beat")]
    for host in explicit:
        if host not in celery_set:
            out.error(INVENTORY, "fleet_celery_beat", f"{host} is not in the celery group {celery_group}", host)
    explicit = [h for h in explicit if h in celery_set]
    if len(explicit) > 1:
        out.error(INVENTORY, "fleet_celery_beat", "celery-beat must run on exactly one host, but it is "
                  f"set on {', '.join(explicit)}")
        return None
    if explicit:
        host = explicit[0]
        if host in host_settings and host not in candidates:
            out.error(INVENTORY, "fleet_celery_beat", "set on a host whose celery.enable_beat is false", host)
            return None
        return host
    if candidates:
        return candidates[0]
    if base["celery"] and base["celery"]["enable_beat"] and not celery_hosts:
        out.warn(f"instance {instance_name}: celery beat is enabled but the celery group "
                 f"{celery_group} has no hosts: no celery-beat runs")
    return None


def _explicit_static(inv: Inventory, job_conf: JobConfig, single_source: bool, out: Collector) -> dict[str, str]:
    """handler id -> the host whose fleet_static_handlers names it."""
    handlers_group = inv.group_names["handlers"]
    known = {h.id for h in job_conf.handlers}
    explicit: dict[str, str] = {}
    for host in inv.order:
        wanted = inv.var(host, "fleet_static_handlers")
        if wanted is None:
            continue
        if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            out.error(INVENTORY, "fleet_static_handlers", "must be a list of handler ids", host)
            continue
        if host not in inv.role_sets.get("handlers", set()):
            out.error(INVENTORY, "fleet_static_handlers", f"{host} is not in the handlers group {handlers_group}",
                      host)
            continue
        for handler_id in wanted:
            if handler_id not in known:
                if single_source:  # with several instances, the id may be another instance's
                    out.error(INVENTORY, f"fleet_static_handlers.{handler_id}", "no such static handler in "
                              f"{job_conf.label}", host)
                continue
            if handler_id in explicit and explicit[handler_id] != host:
                out.error(INVENTORY, f"fleet_static_handlers.{handler_id}", "a static handler runs on "
                          f"exactly one host, but it is also placed on {explicit[handler_id]}", host)
                continue
            explicit[handler_id] = host
    return explicit


def place_static_handlers(inv: Inventory, host_settings: dict[str, dict], job_conf: JobConfig, single_source: bool,
                          out: Collector) -> dict[str, list[StaticHandler]]:
    """host -> the static handlers it runs, in the job configuration's order."""
    handlers = job_conf.handlers
    handler_hosts = [h for h in inv.role_hosts.get("handlers", []) if h in host_settings]
    explicit = _explicit_static(inv, job_conf, single_source, out)
    placed: dict[str, list[StaticHandler]] = {}
    if handlers and not handler_hosts:
        out.error(job_conf.label, "handlers", "the job configuration defines static handlers ("
                  + ", ".join(h.id for h in handlers) + f") but the handlers group "
                  f"{inv.group_names['handlers']} has no hosts")
        return placed
    spread = 0
    for handler in handlers:
        host = explicit.get(handler.id)
        if host is None:
            host = handler_hosts[spread % len(handler_hosts)]
            spread += 1
        if host in host_settings:
            placed.setdefault(host, []).append(handler)
    return placed


@dataclass
class DynamicHandler:
    """One process of a gravity.handlers key on one host."""

    server_name: str
    key: str                  # the gravity.handlers key
    index: int                # its process number
    settings: dict            # the key's validated settings
    pools: list[str] | None
    key_path: str             # where the key is configured (gravity.handlers.KEY or fleet_gravity.handlers.KEY)
    origin: str               # and in which file (or the inventory)
    as_list: bool             # False only for a key named as is (see plan_naming.dynamic_name_template)


def expand_dynamic(inv: Inventory, host_settings: dict[str, dict], source: Source, base: dict, instance_name: str,
                   out: Collector) -> dict[str, list[DynamicHandler]]:
    """host -> its dynamic handler processes, key by key."""
    handler_hosts = [h for h in inv.role_hosts.get("handlers", []) if h in host_settings]
    key_hosts: dict[str, list[str]] = {}
    for host in handler_hosts:
        for key in host_settings[host]["handlers"]:
            key_hosts.setdefault(key, []).append(host)
    if not handler_hosts and base["handlers"]:
        out.warn(f"instance {instance_name}: gravity.handlers is set but the handlers group "
                 f"{inv.group_names['handlers']} has no hosts: no dynamic handler runs")
    result: dict[str, list[DynamicHandler]] = {}
    for host in handler_hosts:
        host_var = host_variable(host)
        override = inv.gravity_override(host, source) or {}
        override_handlers = override.get("handlers") if isinstance(override, dict) else None
        for key, hs in host_settings[host]["handlers"].items():
            from_host = isinstance(override_handlers, dict) and key in override_handlers
            origin = INVENTORY if from_host else source.gravity_file
            key_path = f"fleet_gravity.handlers.{key}" if from_host else f"{source.path}.handlers.{key}"
            template = dynamic_name_template(key, hs["processes"], hs["name_template"], len(key_hosts[key]) > 1)
            if template is None:
                result.setdefault(host, []).append(DynamicHandler(key, key, 0, hs, hs["pools"], key_path, origin,
                                                                  False))
                continue
            for index in range(hs["processes"]):
                try:
                    name = template.format(name=key, process=index, instance_name=instance_name, host=host_var)
                except (KeyError, IndexError, ValueError, AttributeError) as exc:
                    out.error(origin, f"{key_path}.name_template", f"cannot expand: {exc}",
                              host if from_host else None)
                    break
                if not valid_name(name):
                    out.error(origin, f"{key_path}.name_template", f"gives server name {name!r}: use only "
                              "letters, digits, '_', '-' and '.'", host)
                    break
                result.setdefault(host, []).append(DynamicHandler(name, key, index, hs, hs["pools"], key_path,
                                                                  origin, True))
    return result
