"""The cluster plan: Galaxy's Gravity and job configuration plus the inventory, in one document.

``build_plan`` places every Galaxy process (gunicorn, celery, celery-beat, tusd, gx-it-proxy,
reports, static and dynamic job handlers) on the inventory's hosts, with the systemd unit names
Gravity 1.2.4 gives them with ``process_manager: systemd`` (template units ``NAME@.service`` for a
service with several processes, in its default command style) and the argv and environment it
runs with ``service_command_style: direct`` on a single host, and checks the rules a cluster adds
(unique handler names, one celery-beat, reachable gunicorns, no port clashes, ...). Every problem
is collected and raised together as a ``PlanError``. See docs/plan.md for the output contract.

This module ties the steps together; each lives in its own module, read in this order:
plan_sources (the configuration files), plan_inventory (groups, addresses, per-host settings),
plan_placement (which host runs beat and each handler), plan_services (each process's argv,
environment and settings), plan_naming (unit names), plan_network (binds, addresses, clashes),
plan_checks (cluster rules) and plan_model (the records and their ``to_dict()``).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils import gravity_config as gc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, PlanError, Problem
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import JobConfig, load_job_config
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_checks import (
    check_assignment, check_roles, check_tools, roster_clash)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_inventory import (
    DEFAULT_GROUPS, HostSettings, Inventory, Settings, deep_merge)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import (
    HostPlan, InstancePlan, Plan, Process, ReportsEndpoint, RosterEntry, ServiceEndpoint, Unit, UpstreamMember)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_naming import (
    InstanceNames, instance_names, unit_names, uses_service_instances, valid_name)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_network import (
    bind_clashes, parse_bind, service_address, upstream_reach)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_placement import (
    DynamicHandler, expand_dynamic, place_beat, place_static_handlers)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_services import ServiceGroup, ServicePlanner
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_sources import Source, load_sources

# systemd's default PATH on Debian 12 (what `systemctl show-environment` reports there).
SYSTEMD_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_OPTIONS: dict[str, Any] = {
    "gravity_config_file": None,
    "config_dir": None,
    "galaxy_config_path": "/srv/galaxy/config/galaxy.yml",
    "groups": {},
    "galaxy_root": "/srv/galaxy/server",
    "virtualenv": "/srv/galaxy/venv",
    "galaxy_user": "galaxy",
    "galaxy_installed": False,
    "gunicorn_version": None,
    "default_path": SYSTEMD_DEFAULT_PATH,
    "allow_unassigned_dynamic_handlers": False,
}


class PlanBuilder:
    """The plan of every Galaxy instance on every host of the inventory."""

    def __init__(self, galaxy_config_file: str | None, galaxy_config: Any, inventory: dict, options: dict | None):
        self.out = Collector()
        self.options = dict(DEFAULT_OPTIONS)
        for key, value in (options or {}).items():
            if value is not None or key not in DEFAULT_OPTIONS:
                self.options[key] = value
        groups = dict(DEFAULT_GROUPS)
        groups.update({k: v for k, v in (self.options.get("groups") or {}).items() if v})
        self.groups = groups
        self.inv = Inventory(inventory, groups)
        self.sources = load_sources(galaxy_config_file, galaxy_config, self.options, self.out)

    def build(self) -> dict:
        """The plan as docs/plan.md describes it."""
        return self.model().to_dict()

    def model(self) -> Plan:
        """The plan's records. Raises PlanError listing every problem."""
        out = self.out
        if not self.sources:
            out.raise_if_any()
        hosts = {host: HostPlan(self.inv.address(host), self.inv.host_groups(host)) for host in self.inv.order}
        bases = []
        for source in self.sources:
            collector = Collector()
            settings = gc.validate_gravity(source.gravity, source.gravity_file, source.path, collector)
            for problem in collector.problems:
                out.add(problem)
            for warning in collector.warnings:
                out.warn(warning)
            bases.append(Settings(settings, collector.problems))
        in_names = len(self.sources) > 1 or any(
            b.settings and b.settings["instance_name"] != gc.DEFAULT_INSTANCE_NAME for b in bases)
        instances: dict[str, InstancePlan] = {}
        names_seen: set[str] = set()
        for source, base in zip(self.sources, bases):
            if base.settings is None:
                continue
            name = base.settings["instance_name"]
            if name in names_seen:
                out.error(source.gravity_file, f"{source.path}.instance_name",
                          f"duplicate instance name {name!r}: instance names must be unique")
                continue
            names_seen.add(name)
            if not valid_name(name):
                out.error(source.gravity_file, f"{source.path}.instance_name",
                          f"{name!r} cannot be part of a systemd unit name")
                continue
            job_conf = load_job_config(source.galaxy, source.config_dir, source.galaxy_file, out)
            instances[name] = InstanceBuilder(self, source, base, job_conf, instance_names(name, in_names)).build(hosts)
        for host, host_plan in hosts.items():
            processes = [proc for unit in host_plan.units.values() for proc in unit.instances]
            for found in bind_clashes(processes):
                out.error(found.process.origin, found.process.key_path, found.message, host)
        out.raise_if_any()
        return Plan(dict(self.groups), instances, hosts, out.warnings)


class InstanceBuilder:
    """One Galaxy instance: its settings on each host, then each host's processes and units."""

    def __init__(self, parent: PlanBuilder, source: Source, base: Settings, job_conf: JobConfig,
                 names: InstanceNames):
        self.p = parent
        self.out = parent.out
        self.inv = parent.inv
        self.source = source
        self.base = base
        self.job_conf = job_conf
        self.names = names
        self.name = names.instance_name
        self.services = ServicePlanner(parent.out, names, source, parent.options)
        self.url_prefix = self.services.url_prefix
        self.roster: dict[str, RosterEntry] = {}
        self.members: list[UpstreamMember] = []
        self.endpoints: dict[str, list[ServiceEndpoint]] = {"tusd": [], "gx_it_proxy": [], "reports": []}

    def build(self, hosts: dict[str, HostPlan]) -> InstancePlan:
        inv = self.inv
        resolver = HostSettings(inv, self.source, self.base, self.out)
        host_settings: dict[str, dict] = {}
        for host in inv.process_hosts():
            settings = resolver.for_host(host)
            if settings is not None:
                host_settings[host] = settings
        base = self.base.settings
        beat_host = place_beat(inv, host_settings, base, self.name, self.out)
        static = place_static_handlers(inv, host_settings, self.job_conf, len(self.p.sources) == 1, self.out)
        dynamic = expand_dynamic(inv, host_settings, self.source, base, self.name, self.out)
        for host in inv.order:
            settings = host_settings.get(host)
            if settings is None:
                continue
            planned = self._host_processes(host, settings, beat_host, static.get(host, []), dynamic.get(host, []))
            self._add_units(host, hosts[host], planned)
        check_assignment(any(dynamic.values()), self.job_conf, self.name, self.source.galaxy_file,
                         bool(self.p.options.get("allow_unassigned_dynamic_handlers")), self.out)
        check_tools(self.roster, self.job_conf, self.out)
        check_roles(base, inv.role_hosts, inv.group_names, self.name, self.out)
        ctx = self.services.context(base)
        return InstancePlan(
            instance_name=self.name,
            galaxy_config_file=self.services.galaxy_conf,
            galaxy_root=ctx.galaxy_root,
            virtualenv=ctx.virtualenv,
            user=ctx.user,
            group=ctx.group,
            gravity_data_dir=ctx.gravity_data_dir,
            target=self.names.target,
            unit_prefix=self.names.unit_prefix,
            url_prefix=self.url_prefix,
            upstream_name=self.names.upstream_name,
            members=self.members,
            handlers=self.roster,
            assign=list(self.job_conf.assign or []),
            default_handler=self.job_conf.default,
            job_config=self.job_conf.source,
            local_job_environments=list(self.job_conf.local_environments),
            celery_beat_host=beat_host,
            services=self.endpoints,
        )

    # ------------------------------------------------------------ one host
    def _host_processes(self, host: str, settings: dict, beat_host: str | None, static: list,
                        dynamic: list[DynamicHandler]) -> list[Process]:
        """The instance's processes on one host, in Gravity's order, their units named."""
        services = self.services
        ctx = services.context(settings)
        file, path = self.source.gravity_file, self.source.path
        roles = self.inv.role_sets
        planned: list[Process] = []
        if host in roles.get("web", ()):
            for proc in self._named(host, settings, services.gunicorn(host, ctx, settings, file, path)):
                planned.append(proc)
                self.members.append(self._member(host, proc))
        if host in roles.get("celery", ()):
            for group in services.celery(host, ctx, settings, file, path, beat=host == beat_host):
                planned.extend(self._named(host, settings, group))
        address = self.inv.address(host)
        for role, make in (("tusd", services.tusd), ("gx_it_proxy", services.gx_it_proxy),
                           ("reports", services.reports)):
            if host not in roles.get(role, ()):
                continue
            for proc in self._named(host, settings, make(host, ctx, settings, file, path)):
                planned.append(proc)
                if role == "reports":
                    entry = ReportsEndpoint(host, proc.unit, proc.bind, url_prefix=settings["reports"]["url_prefix"])
                else:
                    entry = ServiceEndpoint(host, proc.unit, proc.bind)
                entry.address = service_address(proc.bind, address)
                self.endpoints[role].append(entry)
        for handler in static:
            proc = services.static_handler(host, ctx, handler, self.job_conf.label)
            self._named(host, settings, ServiceGroup(handler.id, [proc]))
            if self._join_roster(handler.id, RosterEntry(host, proc.unit, 0, None, [], list(handler.tags), True),
                                 self.job_conf.label, f"handlers.{handler.id}"):
                planned.append(proc)
        by_key: dict[str, list[DynamicHandler]] = {}
        for entry in dynamic:
            by_key.setdefault(entry.key, []).append(entry)
        for key, entries in by_key.items():
            procs = [services.handler(host, ctx, e.server_name, e.settings, e.pools, e.origin, e.key_path)
                     for e in entries]
            self._named(host, settings, ServiceGroup(key, procs, entries[0].as_list))
            for proc, entry in zip(procs, entries):
                pools = list(entry.pools or gc.DEFAULT_HANDLER_POOLS)
                tags = [p.split(".", 1)[1] for p in pools if p.startswith("job-handlers.")]
                if self._join_roster(entry.server_name, RosterEntry(host, proc.unit, entry.index, key, pools, tags,
                                                                    False), entry.origin,
                                     f"{entry.key_path}.name_template"):
                    planned.append(proc)
        return planned

    def _named(self, host: str, settings: dict, group: ServiceGroup | None) -> list[Process]:
        """Give a service's processes their units (see plan_naming.unit_names)."""
        if group is None:
            return []
        names = unit_names(self.names.unit_prefix, group.service_name, [p.service_name for p in group.processes],
                           group.as_list, uses_service_instances(settings))
        token = object()  # processes named together may share a unit file; nothing else may
        for proc, name in zip(group.processes, names):
            if name.problem:
                self.out.error(proc.origin, proc.key_path, name.problem, host)
            proc.index, proc.unit, proc.unit_file = name.index, name.unit, name.unit_file
            proc.unit_service, proc.unit_group = name.service_name, token
            if name.index is not None:
                proc.position = name.index
        return group.processes

    def _member(self, host: str, proc: Process) -> UpstreamMember:
        reach = upstream_reach(proc.bind, host, self.inv.address(host), self.inv.role_hosts.get("proxy", []),
                               self.url_prefix)
        if reach.problem:
            self.out.error(proc.origin, proc.key_path, reach.problem, host)
        return UpstreamMember(host, proc.unit, proc.position, proc.server_name, proc.bind, reach.address,
                              reach.health_url)

    def _join_roster(self, server_name: str, entry: RosterEntry, file: str, key_path: str) -> bool:
        problem = roster_clash(self.roster, server_name)
        if problem:
            self.out.error(file, key_path, problem, entry.host)
            return False
        self.roster[server_name] = entry
        return True

    def _add_units(self, host: str, host_plan: HostPlan, planned: list[Process]) -> None:
        """Put the host's processes in their unit files (a template's instances share one)."""
        tokens: dict[str, object] = {}
        for proc in planned:
            unit = host_plan.units.get(proc.unit_file)
            if unit is not None:
                if tokens.get(proc.unit_file) is not proc.unit_group or proc.index is None:
                    self.out.error(proc.origin, proc.key_path, f"unit {proc.unit_file} is planned twice on this host",
                                   host)
                    continue
                unit.instances.append(proc)
                continue
            template = proc.index is not None
            tokens[proc.unit_file] = proc.unit_group
            host_plan.units[proc.unit_file] = Unit(self.name, proc.service_type, proc.unit_service,
                                                   self.names.description(proc.unit_service, template), template,
                                                   self.names.target, [proc])
        if planned and self.names.target not in host_plan.targets:
            host_plan.targets.append(self.names.target)


def build_plan(galaxy_config_file: str | None = None, galaxy_config: Any = None, inventory: dict | None = None,
               options: dict | None = None) -> dict:
    """Compute the cluster plan (see docs/plan.md). Raises PlanError listing every problem."""
    builder = PlanBuilder(galaxy_config_file, galaxy_config, inventory or {}, options)
    return builder.build()


__all__ = ["build_plan", "PlanError", "Problem", "deep_merge", "parse_bind", "DEFAULT_GROUPS", "DEFAULT_OPTIONS"]
