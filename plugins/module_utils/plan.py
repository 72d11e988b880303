"""The cluster plan: Galaxy's Gravity and job configuration plus the inventory, in one document.

``build_plan`` places every Galaxy process (gunicorn, celery, celery-beat, tusd, gx-it-proxy,
reports, static and dynamic job handlers) on the inventory's hosts, with the systemd unit names
Gravity 1.2.4 gives them with ``process_manager: systemd`` (template units ``NAME@.service`` for a
service with several processes, in its default command style) and the argv and environment it
runs with ``service_command_style: direct`` on a single host, and checks the rules a cluster adds (unique
handler names, one celery-beat, reachable gunicorns, no port clashes, ...). Every problem is
collected and raised together as a ``PlanError``. See docs/plan.md for the output contract.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils import gravity_config as gc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, PlanError, Problem
from ansible_collections.galaxyops.fleet.plugins.module_utils.galaxy_names import (
    SERVER_NAME_FROM_ENVIRONMENT,
    environment_server_name,
)
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import (
    DYNAMIC_ASSIGN_METHODS,
    JobConfig,
    load_job_config,
)
from ansible_collections.galaxyops.fleet.plugins.module_utils.yaml_loader import read_yaml

PLAN_VERSION = 1
DEFAULT_GROUPS = {
    "web": "galaxy_web",
    "handlers": "galaxy_handlers",
    "celery": "galaxy_celery",
    "proxy": "galaxy_proxy",
    "tusd": "galaxy_tusd",
    "gx_it_proxy": "galaxy_gx_it_proxy",
    "reports": "galaxy_reports",
}
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
FALLBACK_TO_WEB = ("tusd", "gx_it_proxy", "reports")
OPTIONAL_APP_KEYS = (
    "interactivetools_map",
    "interactivetoolsproxy_map",
    "interactivetools_base_path",
    "interactivetools_prefix",
    "galaxy_url_prefix",
)
INVENTORY = "inventory"
WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]", "", "*"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"}
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\-]+$")
SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
HOST_VAR_RE = re.compile(r"[^A-Za-z0-9_-]")
GUNICORN_DEFAULT_PORT = 8000

_split_cache: dict[str, list[str]] = {}


def _split(command: str) -> list[str]:
    argv = _split_cache.get(command)
    if argv is None:
        argv = shlex.split(command)
        _split_cache[command] = argv
    return list(argv)


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in str(version).split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def _gb(value: float | None) -> float | int | None:
    if not value:
        return None
    return int(value) if float(value).is_integer() else value


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


def parse_bind(bind: str) -> tuple[str, str | None, int | None]:
    """('unix', path, None), ('fd', fd, None) or ('tcp', host, port) for a gunicorn bind."""
    if bind.startswith("unix:"):
        return "unix", bind[5:], None
    if bind.startswith("fd://"):
        return "fd", bind[5:], None
    if bind.startswith("["):
        host, _sep, rest = bind[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    elif ":" in bind:
        host, port = bind, ""  # a bare IPv6 address
    else:
        host, port = bind, ""
    if not port:
        return "tcp", host, GUNICORN_DEFAULT_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid port {port!r} in bind {bind!r}")
    return "tcp", host, int(port)


def _join_host_port(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def systemd_quote(arg: str) -> str:
    """Quote one argv element for an ExecStart= line."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _exec_start(argv: list[str]) -> str:
    return " ".join(systemd_quote(a) for a in argv)


class _Source:
    """One Galaxy instance's raw configuration as loaded from the controller."""

    def __init__(self, gravity: Any, gravity_file: str, path: str, galaxy: dict, galaxy_file: str,
                 config_dir: str | None, host_galaxy_config: str):
        self.gravity = gravity
        self.gravity_file = gravity_file
        self.path = path
        self.galaxy = galaxy
        self.galaxy_file = galaxy_file
        self.config_dir = config_dir
        self.host_galaxy_config = host_galaxy_config


def _read_yaml(path: str, out: Collector, what: str, key: str = "") -> Any:
    return read_yaml(path, out, what, key)


def _host_path(host_config_path: str, named: str) -> str:
    if os.path.isabs(named):
        return named
    return os.path.join(os.path.dirname(host_config_path), named)


def _load_named_galaxy(gravity_file: str, named: str, key: str, config_dir: str | None,
                       out: Collector) -> tuple[dict, str, str | None]:
    if os.path.isabs(named):
        path = named
    elif config_dir is not None:
        path = os.path.join(config_dir, named)
    else:
        out.error(gravity_file, key, f"relative path {named!r} needs config_dir when the configuration is inline")
        return {}, named, None
    if not os.path.exists(path):
        out.error(gravity_file, key, f"{path} does not exist: this Gravity file names it as its Galaxy configuration")
        return {}, path, os.path.dirname(path)
    data = _read_yaml(path, out, "the Galaxy configuration", "")
    if data is None:
        return {}, path, os.path.dirname(path)
    if not isinstance(data, dict) or "galaxy" not in data:
        out.error(path, "galaxy", "missing: the file named by galaxy_config_file has no galaxy section")
        return {}, path, os.path.dirname(path)
    galaxy = data.get("galaxy") or {}
    if not isinstance(galaxy, dict):
        out.error(path, "galaxy", "must be a mapping")
        galaxy = {}
    return galaxy, path, os.path.dirname(path)


def load_sources(galaxy_config_file: str | None, galaxy_config: Any, options: dict, out: Collector) -> list[_Source]:
    """Read galaxy.yml (or a Gravity file) the way Gravity does; one _Source per Galaxy instance."""
    main_file = galaxy_config_file or options.get("gravity_config_file")
    config_dir = options.get("config_dir")
    if galaxy_config is not None:
        label = main_file or "galaxy_config"
        top = galaxy_config
    elif main_file:
        label = main_file
        top = _read_yaml(main_file, out, "the Galaxy/Gravity configuration")
        if top is None and out.problems:
            return []
    else:
        out.error("(options)", "galaxy_config_file", "one of galaxy_config_file, galaxy_config or "
                  "gravity_config_file is required")
        return []
    if config_dir is None and main_file:
        config_dir = os.path.dirname(os.path.abspath(main_file))
    if not isinstance(top, dict):
        out.error(label, "", "does not look like a Galaxy or Gravity configuration (not a mapping)")
        return []
    host_config = options["galaxy_config_path"]
    gravity = top.get("gravity") or {}
    if isinstance(gravity, list):
        if "galaxy" in top:
            out.error(label, "gravity", "a list of Gravity configurations next to a galaxy section is ambiguous: "
                      "set galaxy_config_file in each and remove the galaxy section")
            return []
        sources = []
        for index, entry in enumerate(gravity):
            path = f"gravity.{index}"
            if not isinstance(entry, dict):
                out.error(label, path, "must be a mapping")
                continue
            named = entry.get("galaxy_config_file")
            if not isinstance(named, str) or not named:
                out.error(label, f"{path}.galaxy_config_file",
                          "is required when several Gravity configurations are listed")
                continue
            galaxy, galaxy_file, galaxy_dir = _load_named_galaxy(label, named, f"{path}.galaxy_config_file",
                                                                 config_dir, out)
            sources.append(_Source(entry, label, path, galaxy, galaxy_file, galaxy_dir,
                                   _host_path(host_config, named)))
        return sources
    galaxy: Any = None
    galaxy_file = label
    galaxy_dir = config_dir
    host_galaxy_config = host_config
    if "gravity" in top and "galaxy" not in top:
        named = gravity.get("galaxy_config_file") if isinstance(gravity, dict) else None
        if isinstance(named, str) and named:
            galaxy, galaxy_file, galaxy_dir = _load_named_galaxy(label, named, "gravity.galaxy_config_file",
                                                                 config_dir, out)
            host_galaxy_config = _host_path(host_config, named)
        else:
            out.warn(f"{label}: a Gravity configuration without a galaxy section: Galaxy defaults are used")
    elif "gravity" not in top and "galaxy" in top:
        out.warn(f"{label}: no gravity section: Gravity defaults are used")
    elif "gravity" not in top and "galaxy" not in top:
        out.error(label, "", "does not look like a Galaxy or Gravity configuration (no galaxy or gravity section)")
        return []
    if galaxy is None:
        galaxy = top.get("galaxy") or {}
    if not isinstance(galaxy, dict):
        out.error(galaxy_file, "galaxy", "must be a mapping")
        galaxy = {}
    return [_Source(gravity, label, "gravity", galaxy, galaxy_file, galaxy_dir, host_galaxy_config)]


class _Inventory:
    def __init__(self, inventory: dict, group_names: dict[str, str], out: Collector):
        inventory = inventory or {}
        self.groups: dict[str, list[str]] = {k: list(v or []) for k, v in (inventory.get("groups") or {}).items()}
        self.hostvars: dict[str, dict] = inventory.get("hostvars") or {}
        order: list[str] = []
        seen: set[str] = set()
        for name in self.groups.get("all", []):
            if name not in seen:
                seen.add(name)
                order.append(name)
        for group, members in self.groups.items():
            for name in members:
                if name not in seen:
                    seen.add(name)
                    order.append(name)
        for name in self.hostvars:
            if name not in seen:
                seen.add(name)
                order.append(name)
        self.order = order
        self.group_names = group_names
        self.role_hosts: dict[str, list[str]] = {}
        for role, group in group_names.items():
            members = self.groups.get(group, [])
            unique = list(dict.fromkeys(members))
            self.role_hosts[role] = unique
        for role in FALLBACK_TO_WEB:
            if not self.role_hosts.get(role):
                self.role_hosts[role] = list(self.role_hosts.get("web", []))
        self.role_sets = {role: set(hosts) for role, hosts in self.role_hosts.items()}

    def var(self, host: str, name: str, default: Any = None) -> Any:
        return (self.hostvars.get(host) or {}).get(name, default)

    def address(self, host: str) -> str:
        hv = self.hostvars.get(host) or {}
        return str(hv.get("fleet_address") or hv.get("ansible_host") or host)


class _Settings:
    """Validated settings for one instance, shared by every host with the same overrides."""

    def __init__(self, settings: dict | None, problems: list[Problem]):
        self.settings = settings
        self.problems = problems


def _retarget(problem: Problem, base_path: str, host: str) -> Problem:
    key = problem.key_path
    if key == base_path or key.startswith(base_path + "."):
        key = "fleet_gravity" + key[len(base_path):]
    return Problem(INVENTORY, key, problem.message, host)


class PlanBuilder:
    def __init__(self, galaxy_config_file: str | None, galaxy_config: Any, inventory: dict, options: dict | None):
        self.out = Collector()
        self.options = dict(DEFAULT_OPTIONS)
        for key, value in (options or {}).items():
            if value is not None or key not in DEFAULT_OPTIONS:
                self.options[key] = value
        groups = dict(DEFAULT_GROUPS)
        groups.update({k: v for k, v in (self.options.get("groups") or {}).items() if v})
        self.groups = groups
        self.inv = _Inventory(inventory, groups, self.out)
        self.sources = load_sources(galaxy_config_file, galaxy_config, self.options, self.out)
        self.default_path = self.options["default_path"]
        self.installed = bool(self.options["galaxy_installed"])
        version = self.options.get("gunicorn_version")
        self.no_control_socket = bool(version) and _version_tuple(version) >= (25, 1, 0)

    # ---------------------------------------------------------------- settings per host
    def _host_override(self, host: str, source: _Source) -> Any:
        override = self.inv.var(host, "fleet_gravity")
        per_instance = self.inv.var(host, "fleet_gravity_instances")
        if per_instance and isinstance(per_instance, dict) and isinstance(source.gravity, dict):
            name = source.gravity.get("instance_name", gc.DEFAULT_INSTANCE_NAME)
            extra = per_instance.get(name)
            if extra:
                override = deep_merge(override or {}, extra)
        return override

    def settings_for(self, host: str | None, source: _Source, base: _Settings, cache: dict) -> dict | None:
        override = self._host_override(host, source) if host else None
        if not override:
            return base.settings
        if not isinstance(override, dict):
            self.out.error(INVENTORY, "fleet_gravity", "must be a mapping of Gravity settings", host)
            return None
        for fixed in ("instance_name", "galaxy_config_file"):
            if fixed in override:
                self.out.error(INVENTORY, f"fleet_gravity.{fixed}", "cannot be changed per host", host)
        key = json.dumps(override, sort_keys=True, default=str)
        entry = cache.get(key)
        if entry is None:
            collector = Collector()
            merged = deep_merge(source.gravity if isinstance(source.gravity, dict) else {}, override)
            settings = gc.validate_gravity(merged, source.gravity_file, source.path, collector)
            base_keys = {(p.key_path, p.message) for p in base.problems}
            own = [p for p in collector.problems if (p.key_path, p.message) not in base_keys]
            entry = _Settings(settings, own)
            cache[key] = entry
        for problem in entry.problems:
            self.out.add(_retarget(problem, source.path, host))
        return entry.settings if not entry.problems else None

    # ---------------------------------------------------------------- build
    def build(self) -> dict:
        out = self.out
        if not self.sources:
            out.raise_if_any()
        instances_out: dict[str, dict] = {}
        hosts_out: dict[str, dict] = {}
        for host in self.inv.order:
            groups = [g for g in dict.fromkeys(self.groups.values()) if host in self.inv.groups.get(g, [])]
            hosts_out[host] = {"address": self.inv.address(host), "groups": groups, "targets": [], "units": {}}
        names_seen: set[str] = set()
        bases = []
        for source in self.sources:
            collector = Collector()
            settings = gc.validate_gravity(source.gravity, source.gravity_file, source.path, collector)
            for problem in collector.problems:
                out.add(problem)
            for warning in collector.warnings:
                out.warn(warning)
            bases.append(_Settings(settings, collector.problems))
        use_instance_name = len(self.sources) > 1 or any(
            b.settings and b.settings["instance_name"] != gc.DEFAULT_INSTANCE_NAME for b in bases)
        for source, base in zip(self.sources, bases):
            if base.settings is None:
                continue
            name = base.settings["instance_name"]
            if name in names_seen:
                out.error(source.gravity_file, f"{source.path}.instance_name",
                          f"duplicate instance name {name!r}: instance names must be unique")
                continue
            names_seen.add(name)
            if not re.match(r"^[A-Za-z0-9_.\-]+$", name):
                out.error(source.gravity_file, f"{source.path}.instance_name",
                          f"{name!r} cannot be part of a systemd unit name")
                continue
            job_conf = load_job_config(source.galaxy, source.config_dir, source.galaxy_file, out)
            instance = _InstanceBuilder(self, source, base, job_conf, use_instance_name)
            instances_out[name] = instance.build(hosts_out)
        self._check_binds(hosts_out)
        out.raise_if_any()
        return {
            "version": PLAN_VERSION,
            "groups": dict(self.groups),
            "instances": instances_out,
            "hosts": hosts_out,
            "warnings": list(out.warnings),
        }

    def _check_binds(self, hosts_out: dict) -> None:
        for host, host_plan in hosts_out.items():
            taken: list[tuple[tuple, str, str, str, str]] = []
            for unit in host_plan["units"].values():
                for proc in unit["instances"]:
                    endpoint = proc.get("_endpoint")
                    if endpoint is None:
                        continue
                    for other, other_unit, other_bind, _file, _key in taken:
                        if _clash(endpoint, other):
                            self.out.error(proc["_file"], proc["_key"],
                                           f"{proc['unit']} binds {proc['bind']}, which {other_unit} already binds "
                                           f"({other_bind})", host)
                            break
                    taken.append((endpoint, proc["unit"], proc["bind"], proc["_file"], proc["_key"]))
            for unit in host_plan["units"].values():
                for proc in unit["instances"]:
                    for private in ("_endpoint", "_file", "_key"):
                        proc.pop(private, None)


def _normal_host(host: str) -> str:
    host = host.strip("[]").lower()
    if host in ("localhost", "ip6-localhost"):
        return "127.0.0.1"
    return host


def _endpoint(bind: str) -> tuple | None:
    kind, where, port = parse_bind(bind)
    if kind == "unix":
        return ("unix", os.path.normpath(where))
    if kind == "fd":
        return None
    return ("tcp", _normal_host(where), port)


def _clash(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "unix":
        return a[1] == b[1]
    if a[2] != b[2]:
        return False
    wild = {h.strip("[]") for h in WILDCARD_HOSTS}
    return a[1] in wild or b[1] in wild or a[1] == b[1]


class _InstanceBuilder:
    def __init__(self, parent: PlanBuilder, source: _Source, base: _Settings, job_conf: JobConfig,
                 use_instance_name: bool):
        self.p = parent
        self.out = parent.out
        self.inv = parent.inv
        self.source = source
        self.base = base
        self.job_conf = job_conf
        self.cache: dict = {}
        settings = base.settings
        self.name = settings["instance_name"]
        suffix = f"-{self.name}" if use_instance_name else ""
        self.unit_prefix = f"galaxy{suffix}"
        self.target = f"galaxy{suffix}.target"
        self.upstream_name = "galaxy" + (f"_{re.sub(r'[^A-Za-z0-9_]', '_', self.name)}" if use_instance_name else "")
        galaxy = source.galaxy
        self.galaxy_conf = source.host_galaxy_config
        self.app_config: dict[str, Any] = {
            "galaxy_infrastructure_url": str(galaxy.get("galaxy_infrastructure_url") or "").rstrip("/"),
            "interactivetools_enable": galaxy.get("interactivetools_enable"),
        }
        for key in OPTIONAL_APP_KEYS:
            if key in galaxy:
                self.app_config[key] = galaxy[key]
        prefix = self.app_config.get("galaxy_url_prefix") or ""
        self.url_prefix = prefix.rstrip("/") if isinstance(prefix, str) else ""
        self._context_cache: dict[int, dict] = {}

    # ------------------------------------------------------------ per-settings context
    def context(self, settings: dict) -> dict:
        ctx = self._context_cache.get(id(settings))
        if ctx is not None:
            return ctx
        options = self.p.options
        galaxy = self.source.galaxy
        galaxy_root = settings["galaxy_root"] or galaxy.get("root") or options["galaxy_root"]
        virtualenv = settings["virtualenv"] or options["virtualenv"]
        venv_bin = shlex.quote(os.path.join(virtualenv, "bin") + os.path.sep) if virtualenv else ""
        data_dir = galaxy.get("data_dir") or ("data" if self.p.installed else "database")
        gravity_data_dir = os.path.join(str(data_dir), "gravity")
        if not os.path.isabs(gravity_data_dir):
            gravity_data_dir = os.path.abspath(os.path.join(galaxy_root, gravity_data_dir))
        ctx = {
            "galaxy_root": galaxy_root,
            "virtualenv": virtualenv,
            "virtualenv_bin": venv_bin,
            "gravity_data_dir": gravity_data_dir,
            "user": settings["galaxy_user"] or options["galaxy_user"],
            "group": settings["galaxy_group"],
            "umask": settings["umask"],
            "memory_limit": settings["memory_limit"],
            "memory_high": settings["memory_high"],
            "log_namespace": settings["log_namespace"],
        }
        self._context_cache[id(settings)] = ctx
        return ctx

    # ------------------------------------------------------------ processes
    def _environment(self, ctx: dict, default_env: dict, service_settings: dict, service_name: str,
                     description: str, file: str, key: str, host: str) -> dict:
        env = dict(default_env)
        if ctx["virtualenv"]:
            env["VIRTUAL_ENV"] = ctx["virtualenv"]
        env.update(service_settings.get("environment") or {})
        if ctx["virtualenv_bin"]:
            env["PATH"] = ":".join([ctx["virtualenv_bin"], env.get("PATH", self.p.default_path)])
        if any("{" in v or "}" in v for v in env.values()):
            variables = {
                "server_name": service_name,
                "galaxy_umask": service_settings.get("umask") or ctx["umask"],
                "galaxy_conf": self.galaxy_conf,
                "galaxy_root": ctx["galaxy_root"],
                "virtualenv_bin": ctx["virtualenv_bin"],
                "gravity_data_dir": shlex.quote(ctx["gravity_data_dir"]),
                "app_config": self.app_config,
                "settings": service_settings,
                "service_instance_count": 1,
                "instance_number": "%i",
                "systemd_description": description,
                "systemd_target": self.target,
            }
            for var, value in list(env.items()):
                try:
                    env[var] = value.format(**variables)
                except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                    self.out.error(file, f"{key}.environment.{var}",
                                   f"cannot expand {value!r}: {type(exc).__name__} {exc}; known variables: "
                                   + ", ".join(sorted(variables)), host)
        return env

    def _process(self, host: str, ctx: dict, service_type: str, service_name: str, argv: list[str],
                 env: dict, settings: dict, file: str, key: str, bind: str | None = None,
                 reload: str | None = None, restart_timeout: int | None = None, description: str = "") -> dict:
        proc = {
            "index": None,
            "unit": None,  # set by _name_units
            "server_name": environment_server_name(service_name, env, self.source.galaxy)
            if service_type in SERVER_NAME_FROM_ENVIRONMENT else service_name,
            "_service_name": service_name,
            "argv": argv,
            "exec_start": _exec_start(argv),
            "environment": env,
            "working_directory": ctx["galaxy_root"],
            "user": ctx["user"],
            "group": ctx["group"],
            "umask": settings.get("umask") or ctx["umask"],
            "start_timeout": settings["start_timeout"],
            "stop_timeout": settings["stop_timeout"],
            "restart_timeout": restart_timeout,
            "memory_limit": _gb(settings.get("memory_limit") or ctx["memory_limit"]),
            "memory_high": _gb(settings.get("memory_high") or ctx["memory_high"]),
            "log_namespace": ctx["log_namespace"],
            "reload": reload,
            "bind": bind,
            "health_url": None,
            "_file": file,
            "_key": key,
        }
        if bind is not None:
            try:
                proc["_endpoint"] = _endpoint(bind)
            except ValueError as exc:
                self.out.error(file, key, str(exc), host)
        return proc

    def _name_units(self, host: str, procs: list[dict], service_name: str, as_list: bool,
                    settings: dict) -> None:
        """Give the processes of one Gravity service their unit names, as Gravity's systemd mode does.

        ``procs`` are the enabled processes of the service in order (each with its own Gravity
        service name in ``server_name``: gunicorn0, handler_1, ...); ``as_list`` says Gravity sees
        the service as a list (a gunicorn or tusd list, a dynamic handler key that gets process
        numbers). With service instances (Gravity's default) a list of several processes shares the
        template ``PREFIX-SERVICE@.service`` (instances @0, @1, ...) and a list of one process gets
        ``PREFIX-SERVICE.service``; without them (``service_command_style: direct`` or
        ``use_service_instances: false``) every process of a list has its own unit, named by its
        own service name.
        """
        instances = settings["use_service_instances"] and settings["service_command_style"] == "gravity"
        group = object()  # processes of one service may share a unit file; nothing else may
        if as_list and not instances:
            for proc in procs:
                self._set_unit(host, proc, proc["_service_name"], None, group)
            return
        template = as_list and len(procs) > 1
        for number, proc in enumerate(procs):
            self._set_unit(host, proc, service_name, number if template else None, group)

    def _set_unit(self, host: str, proc: dict, service_name: str, index: int | None, group: object) -> None:
        stem = f"{self.unit_prefix}-{service_name}"
        if not UNIT_NAME_RE.match(f"{stem}.service"):
            self.out.error(proc["_file"], proc["_key"], f"{stem + '.service'!r} is not a valid systemd unit name",
                           host)
        proc["index"] = index
        proc["unit"] = f"{stem}.service" if index is None else f"{stem}@{index}.service"
        proc["_unit_file"] = f"{stem}.service" if index is None else f"{stem}@.service"
        proc["_unit_service"] = service_name
        proc["_group"] = group

    def _add_unit(self, host: str, host_plan: dict, service_type: str, proc: dict, groups: dict) -> None:
        unit_file = proc.pop("_unit_file")
        service_name = proc.pop("_unit_service")
        group = proc.pop("_group")
        proc.pop("_service_name", None)
        unit = host_plan["units"].get(unit_file)
        if unit is not None:
            if groups.get(unit_file) is not group or proc["index"] is None:
                self.out.error(proc["_file"], proc["_key"], f"unit {unit_file} is planned twice on this host", host)
                return
            unit["instances"].append(proc)
            return
        template = proc["index"] is not None
        groups[unit_file] = group
        host_plan["units"][unit_file] = {
            "instance_name": self.name,
            "service_type": service_type,
            "service_name": service_name,
            "description": self._desc(service_name) + (" (process %i)" if template else ""),
            "template": template,
            "target": self.target,
            "instances": [proc],
        }

    def _desc(self, service_name: str) -> str:
        inst = f" {self.name}" if self.unit_prefix != "galaxy" else ""
        return f"Galaxy{inst} {service_name}"

    # gunicorn ------------------------------------------------------------------
    def _gunicorn_list(self, settings: dict, file: str, path: str, host: str) -> list[tuple[int | None, dict, str]]:
        """[(list index or None, settings, key path)] of the gunicorns configured."""
        section = settings["gunicorn"]
        if section is None:
            return []
        if isinstance(section, list):
            return [(i, s, f"{path}.gunicorn.{i}") for i, s in enumerate(section)]
        count = section.get("instances")
        item = {k: v for k, v in section.items() if k != "instances"}
        if not count:
            return [(None, item, f"{path}.gunicorn")]
        try:
            kind, where, port = parse_bind(item["bind"])
        except ValueError as exc:
            self.out.error(file, f"{path}.gunicorn.bind", str(exc), host)
            return []
        result = []
        for i in range(count):
            copy_ = dict(item)
            if kind == "unix":
                stem, ext = os.path.splitext(where)
                copy_["bind"] = f"unix:{stem}-{i}{ext}" if ext == ".sock" else f"unix:{where}-{i}"
            elif kind == "tcp":
                copy_["bind"] = _join_host_port(where, port + i) if where else f":{port + i}"
                if port + i > 65535:
                    self.out.error(file, f"{path}.gunicorn.instances", f"port {port + i} is out of range", host)
            result.append((i, copy_, f"{path}.gunicorn"))
        return result

    def _gunicorn(self, host: str, ctx: dict, settings: dict, file: str, path: str) -> list[tuple[str, dict]]:
        procs = []
        vb = ctx["virtualenv_bin"]
        for index, gs, key in self._gunicorn_list(settings, file, path, host):
            if not gs["enable"]:
                continue
            name = "gunicorn" if index is None else f"gunicorn{index}"
            preload = "--preload" if gs["preload"] else ""
            command = (f"{vb}gunicorn 'galaxy.webapps.galaxy.fast_factory:factory()' --timeout {gs['timeout']}"
                       f" --pythonpath lib -k galaxy.webapps.galaxy.workers.Worker -b {gs['bind']}"
                       f" --workers={gs['workers']} --config python:galaxy.web_stack.gunicorn_config"
                       f" {preload} {gs['extra_args']}")
            if self.p.no_control_socket:
                command += " --no-control-socket"
            argv = self._argv(command, file, f"{key}.extra_args", host)
            desc = self._desc(name)
            env = self._environment(ctx, {"PYTHONPATH": "lib", "GALAXY_CONFIG_FILE": "{galaxy_conf}"}, gs, name,
                                    desc, file, key, host)
            proc = self._process(host, ctx, "gunicorn", name, argv, env, gs, file, f"{key}.bind", bind=gs["bind"],
                                 reload=None if gs["preload"] else "hup", restart_timeout=gs["restart_timeout"])
            proc["health_url"] = self._local_health(gs["bind"])
            proc["_position"] = 0 if index is None else index
            procs.append((name, proc))
        as_list = isinstance(settings["gunicorn"], list) or bool((settings["gunicorn"] or {}).get("instances"))
        self._name_units(host, [proc for _name, proc in procs], "gunicorn", as_list, settings)
        for _name, proc in procs:
            if proc["index"] is not None:
                proc["_position"] = proc["index"]
        return procs

    def _argv(self, command: str, file: str, key: str, host: str) -> list[str]:
        try:
            return _split(command)
        except ValueError as exc:
            self.out.error(file, key, f"cannot split the command line: {exc}", host)
            return []

    def _local_health(self, bind: str) -> Any:
        try:
            kind, where, port = parse_bind(bind)
        except ValueError:
            return None
        path = f"{self.url_prefix}/api/version"
        if kind == "unix":
            return {"socket": where, "path": path}
        if kind == "fd":
            return None
        stripped = where.strip("[]")
        if stripped in ("", "0.0.0.0", "*"):
            where = "127.0.0.1"
        elif stripped == "::":
            where = "::1"
        return f"http://{_join_host_port(where.strip('[]'), port)}{path}"

    # celery ------------------------------------------------------------------
    def _celery(self, host: str, ctx: dict, settings: dict, file: str, path: str, beat: bool) -> list:
        cs = settings["celery"]
        if cs is None:
            return []
        vb = ctx["virtualenv_bin"]
        env_default = {"PYTHONPATH": "lib", "GALAXY_CONFIG_FILE": "{galaxy_conf}"}
        procs = []
        if cs["enable"]:
            command = (f"{vb}celery --app galaxy.celery worker --concurrency {cs['concurrency']}"
                       f" --loglevel {cs['loglevel']} --pool {cs['pool']} --queues {cs['queues']} {cs['extra_args']}")
            argv = self._argv(command, file, f"{path}.celery.extra_args", host)
            env = self._environment(ctx, env_default, cs, "celery", self._desc("celery"), file, f"{path}.celery", host)
            procs.append(("celery", self._process(host, ctx, "celery", "celery", argv, env, cs, file,
                                                  f"{path}.celery")))
        if beat and cs["enable_beat"]:
            command = (f"{vb}celery --app galaxy.celery beat --loglevel {cs['loglevel']}"
                       f" --schedule {shlex.quote(ctx['gravity_data_dir'])}/celerybeat-schedule")
            argv = self._argv(command, file, f"{path}.celery", host)
            env = self._environment(ctx, env_default, cs, "celery-beat", self._desc("celery-beat"), file,
                                    f"{path}.celery", host)
            procs.append(("celery-beat", self._process(host, ctx, "celery-beat", "celery-beat", argv, env, cs,
                                                       file, f"{path}.celery.enable_beat")))
        return procs

    # tusd ----------------------------------------------------------------------
    def _tusd(self, host: str, ctx: dict, settings: dict, file: str, path: str) -> list:
        section = settings["tusd"]
        if section is None:
            return []
        items = [(i, s, f"{path}.tusd.{i}") for i, s in enumerate(section)] if isinstance(section, list) \
            else [(None, section, f"{path}.tusd")]
        procs = []
        for index, ts, key in items:
            if not ts["enable"]:
                continue
            name = "tusd" if index is None else f"tusd{index}"
            hooks_http = ts["hooks_http"]
            if hooks_http.startswith("/"):
                infra = self.app_config["galaxy_infrastructure_url"]
                if not infra:
                    self.out.error(self.source.galaxy_file, "galaxy.galaxy_infrastructure_url",
                                   f"must be set to run tusd (its hooks_http {hooks_http!r} is relative)", host)
                hooks_http = f"{infra}{hooks_http}"
            command = (f"{ts['tusd_path']} -host={ts['host']} -port={ts['port']} -upload-dir={ts['upload_dir']}"
                       f" -hooks-http={hooks_http} -hooks-http-forward-headers=X-Api-Key,Cookie {ts['extra_args']}"
                       f" -hooks-enabled-events {ts['hooks_enabled_events']}")
            argv = self._argv(command, file, f"{key}.extra_args", host)
            env = self._environment(ctx, {}, ts, name, self._desc(name), file, key, host)
            bind = _join_host_port(ts["host"], ts["port"])
            procs.append((name, self._process(host, ctx, "tusd", name, argv, env, ts, file, f"{key}.port",
                                              bind=bind)))
        self._name_units(host, [proc for _name, proc in procs], "tusd", isinstance(section, list), settings)
        return procs

    # gx-it-proxy -----------------------------------------------------------------
    def _gx_it_proxy(self, host: str, ctx: dict, settings: dict, file: str, path: str) -> list:
        gs = settings["gx_it_proxy"]
        if gs is None or not gs["enable"]:
            return []
        key = f"{path}.gx_it_proxy"
        if not self.app_config.get("interactivetools_enable"):
            self.out.error(self.source.galaxy_file, "galaxy.interactivetools_enable",
                           "must be true to run gx-it-proxy (gravity.gx_it_proxy.enable is true)", host)
        sessions = self.app_config.get("interactivetoolsproxy_map") or self.app_config.get("interactivetools_map") \
            or gs["sessions"]
        base_path = self.app_config.get("interactivetools_base_path", "/") or "/"
        base_path = "/" + f"/{str(base_path).strip('/')}/".lstrip("/")
        it_prefix = self.app_config.get("interactivetools_prefix", "interactivetool")
        path_prefix = f"{base_path}{it_prefix}/ep"
        vb = ctx["virtualenv_bin"]
        verbose = "--verbose" if gs["verbose"] else ""
        forward_ip = f"--forwardIP {gs['forward_ip']}" if gs["forward_ip"] else ""
        forward_port = f"--forwardPort {gs['forward_port']}" if gs["forward_port"] else ""
        reverse = "--reverseProxy" if gs["reverse_proxy"] else ""
        command = (f"{vb}npx @galaxyproject/gx-it-proxy@{gs['version']} --ip {gs['ip']} --port {gs['port']}"
                   f" --sessions {sessions} {verbose} {forward_ip} {forward_port} {reverse}"
                   f" --proxyPathPrefix {path_prefix}")
        argv = self._argv(command, file, key, host)
        service_settings = dict(gs, sessions=sessions, proxy_path_prefix=path_prefix)
        env = self._environment(ctx, {"npm_config_yes": "true"}, service_settings, "gx-it-proxy",
                                self._desc("gx-it-proxy"), file, key, host)
        bind = _join_host_port(gs["ip"], gs["port"])
        return [("gx-it-proxy", self._process(host, ctx, "gx-it-proxy", "gx-it-proxy", argv, env, gs, file,
                                              f"{key}.port", bind=bind))]

    # reports -------------------------------------------------------------------
    def _reports(self, host: str, ctx: dict, settings: dict, file: str, path: str) -> list:
        rs = settings["reports"]
        if rs is None or not rs["enable"]:
            return []
        key = f"{path}.reports"
        config_file = rs["config_file"]
        if not os.path.isabs(config_file):
            if self.source.config_dir and not os.path.exists(os.path.join(self.source.config_dir, config_file)):
                self.out.error(file, f"{key}.config_file", f"{config_file} does not exist beside galaxy.yml "
                               f"({self.source.config_dir}); reports needs its configuration file", host)
            config_file = os.path.join(os.path.dirname(self.galaxy_conf), config_file)
        service_settings = dict(rs, config_file=config_file)
        vb = ctx["virtualenv_bin"]
        url_prefix = f"--env SCRIPT_NAME={rs['url_prefix']}" if rs["url_prefix"] else ""
        command = (f"{vb}gunicorn 'galaxy.webapps.reports.fast_factory:factory()' --timeout {rs['timeout']}"
                   f" --pythonpath lib -k uvicorn.workers.UvicornWorker -b {rs['bind']} --workers={rs['workers']}"
                   f" --config python:galaxy.web_stack.gunicorn_config {url_prefix} {rs['extra_args']}")
        argv = self._argv(command, file, f"{key}.extra_args", host)
        env = self._environment(ctx, {"PYTHONPATH": "lib", "GALAXY_REPORTS_CONFIG": "{settings[config_file]}"},
                                service_settings, "reports", self._desc("reports"), file, key, host)
        return [("reports", self._process(host, ctx, "reports", "reports", argv, env, rs, file, f"{key}.bind",
                                          bind=rs["bind"], reload="hup"))]

    # handlers ------------------------------------------------------------------
    def _handler_command(self, ctx: dict, server_name: str, pools: list[str] | None) -> list[str]:
        vb = ctx["virtualenv_bin"]
        if self.p.installed:
            prefix = f"{vb}galaxy-main -c {self.galaxy_conf}"
        else:
            prefix = f"{vb}python ./scripts/galaxy-main -c {self.galaxy_conf}"
        argv = _split(prefix)
        argv.append(f"--server-name={server_name}")
        for pool in pools or ():
            argv.append(f"--attach-to-pool={pool}")
        return argv

    def _handler_process(self, host: str, ctx: dict, server_name: str, settings: dict, pools: list[str] | None,
                         file: str, key: str) -> dict:
        desc = self._desc(server_name)
        service_settings = dict(settings, server_name=server_name)
        if pools:
            service_settings["server_pools"] = pools
        env = self._environment(ctx, {}, service_settings, server_name, desc, file, key, host)
        argv = self._handler_command(ctx, server_name, pools)
        return self._process(host, ctx, "standalone", server_name, argv, env, settings, file, key)

    # ------------------------------------------------------------ the instance
    def build(self, hosts_out: dict) -> dict:
        inv = self.inv
        src = self.source
        file = src.gravity_file
        path = src.path
        roles = inv.role_hosts
        relevant: list[str] = []
        seen: set[str] = set()
        for role in ("web", "handlers", "celery", "tusd", "gx_it_proxy", "reports"):
            for host in roles.get(role, []):
                if host not in seen:
                    seen.add(host)
                    relevant.append(host)
        host_settings: dict[str, dict] = {}
        for host in relevant:
            settings = self.p.settings_for(host, src, self.base, self.cache)
            if settings is not None:
                host_settings[host] = settings
        beat_host = self._place_beat(host_settings)
        static_places = self._place_static_handlers(host_settings)
        dynamic = self._expand_dynamic(host_settings, file, path)
        roster: dict[str, dict] = {}
        upstream: list[dict] = []
        services: dict[str, list] = {"tusd": [], "gx_it_proxy": [], "reports": []}
        role_sets = inv.role_sets
        proxies = roles.get("proxy", [])
        for host in inv.order:
            settings = host_settings.get(host)
            if settings is None:
                continue
            ctx = self.context(settings)
            host_plan = hosts_out[host]
            planned: list[tuple[str, str, dict]] = []
            if host in role_sets.get("web", ()):
                for name, proc in self._gunicorn(host, ctx, settings, file, path):
                    planned.append(("gunicorn", name, proc))
                    upstream.append(self._member(host, proc, proxies))
            if host in role_sets.get("celery", ()):
                for name, proc in self._celery(host, ctx, settings, file, path, beat=host == beat_host):
                    self._name_units(host, [proc], name, False, settings)
                    planned.append((name, name, proc))
            if host in role_sets.get("tusd", ()):
                for name, proc in self._tusd(host, ctx, settings, file, path):
                    planned.append(("tusd", name, proc))
                    services["tusd"].append(self._service_entry(host, proc))
            if host in role_sets.get("gx_it_proxy", ()):
                for name, proc in self._gx_it_proxy(host, ctx, settings, file, path):
                    self._name_units(host, [proc], name, False, settings)
                    planned.append(("gx-it-proxy", name, proc))
                    services["gx_it_proxy"].append(self._service_entry(host, proc))
            if host in role_sets.get("reports", ()):
                for name, proc in self._reports(host, ctx, settings, file, path):
                    self._name_units(host, [proc], name, False, settings)
                    planned.append(("reports", name, proc))
                    entry = self._service_entry(host, proc)
                    entry["url_prefix"] = settings["reports"]["url_prefix"]
                    services["reports"].append(entry)
            for handler in static_places.get(host, []):
                proc = self._handler_process(host, ctx, handler.id, {"start_timeout": 20, "stop_timeout": 65,
                                                                     "environment": handler.environment or {}},
                                             None, self.job_conf.label, f"static handler {handler.id}")
                self._name_units(host, [proc], handler.id, False, settings)
                if self._roster_add(roster, handler.id, host, proc, 0, None, list(handler.tags), True,
                                    self.job_conf.label, f"handlers.{handler.id}"):
                    planned.append(("standalone", handler.id, proc))
            by_key: dict[str, list] = {}
            for entry in dynamic.get(host, []):
                by_key.setdefault(entry[1], []).append(entry)
            for key, entries in by_key.items():
                procs = [self._handler_process(host, ctx, server_name, hs, pools, origin, key_path)
                         for server_name, _key, _index, hs, pools, key_path, origin, _list in entries]
                # the last field is False only for a key ending in a digit with one process and no
                # name_template: Gravity runs it as a plain service named by the key, not as a list
                self._name_units(host, procs, key, entries[0][7], settings)
                for proc, (server_name, _key, index, _hs, pools, key_path, origin, _list) in zip(procs, entries):
                    all_pools = list(pools or gc.DEFAULT_HANDLER_POOLS)
                    tags = [p.split(".", 1)[1] for p in all_pools if p.startswith("job-handlers.")]
                    if self._roster_add(roster, server_name, host, proc, index, key, tags, False, origin, key_path,
                                        pools=all_pools):
                        planned.append(("standalone", server_name, proc))
            unit_groups: dict[str, object] = {}
            for service_type, _name, proc in planned:
                proc.pop("_position", None)
                self._add_unit(host, host_plan, service_type, proc, unit_groups)
            if planned and self.target not in host_plan["targets"]:
                host_plan["targets"].append(self.target)
        self._check_assignment(dynamic)
        self._check_tools(roster)
        self._check_roles(host_settings)
        return {
            "instance_name": self.name,
            "galaxy_config_file": self.galaxy_conf,
            "galaxy_root": self.context(self.base.settings)["galaxy_root"],
            "virtualenv": self.context(self.base.settings)["virtualenv"],
            "user": self.context(self.base.settings)["user"],
            "group": self.context(self.base.settings)["group"],
            "gravity_data_dir": self.context(self.base.settings)["gravity_data_dir"],
            "target": self.target,
            "unit_prefix": self.unit_prefix,
            "url_prefix": self.url_prefix,
            "upstream": {"name": self.upstream_name, "members": upstream},
            "handlers": roster,
            "assign": list(self.job_conf.assign or []),
            "default_handler": self.job_conf.default,
            "job_config": self.job_conf.source,
            "local_job_environments": list(self.job_conf.local_environments),
            "celery_beat_host": beat_host,
            "services": services,
        }

    # ------------------------------------------------------------ cluster rules
    def _member(self, host: str, proc: dict, proxies: list[str]) -> dict:
        bind = proc["bind"]
        member = {"host": host, "unit": proc["unit"], "index": proc["_position"], "server_name": proc["server_name"],
                  "bind": bind, "address": None, "health_url": None}
        try:
            kind, where, port = parse_bind(bind)
        except ValueError:
            return member
        remote_proxies = [p for p in proxies if p != host]
        key = proc["_key"]
        if kind == "unix":
            member["address"] = f"unix:{where}"
            member["health_url"] = {"socket": where, "path": f"{self.url_prefix}/api/version"}
            if remote_proxies:
                self.out.error(proc["_file"], key, f"unix socket {bind} cannot be reached from proxy host(s) "
                               f"{', '.join(remote_proxies)}: a socket bind needs the proxy on the same host", host)
            return member
        if kind == "fd":
            self.out.error(proc["_file"], key, f"{bind}: file descriptor binds cannot be placed in an upstream", host)
            return member
        address = self.inv.address(host)
        if where.strip("[]") in {h.strip("[]") for h in WILDCARD_HOSTS} or where.strip("[]") == address.strip("[]"):
            target = address
        else:
            target = where
            if where.strip("[]").lower() in {h.strip("[]") for h in LOOPBACK_HOSTS} or where.startswith("127."):
                if remote_proxies:
                    self.out.error(proc["_file"], key, f"{bind} listens on the loopback interface only, so proxy "
                                   f"host(s) {', '.join(remote_proxies)} cannot reach it: bind 0.0.0.0 or the "
                                   "host's address", host)
        member["address"] = _join_host_port(target.strip("[]"), port)
        member["health_url"] = f"http://{member['address']}{self.url_prefix}/api/version"
        return member

    def _service_entry(self, host: str, proc: dict) -> dict:
        entry = {"host": host, "unit": proc["unit"], "bind": proc["bind"], "address": None}
        try:
            kind, where, port = parse_bind(proc["bind"])
        except ValueError:
            return entry
        if kind == "unix":
            entry["address"] = f"unix:{where}"
        elif kind == "tcp":
            address = self.inv.address(host)
            target = address if where.strip("[]") in {h.strip("[]") for h in WILDCARD_HOSTS} else where
            entry["address"] = _join_host_port(target.strip("[]"), port)
        return entry

    def _place_beat(self, host_settings: dict) -> str | None:
        celery_hosts = [h for h in self.inv.role_hosts.get("celery", []) if h in host_settings]
        candidates = [h for h in celery_hosts
                      if host_settings[h]["celery"] and host_settings[h]["celery"]["enable_beat"]]
        explicit = [h for h in self.inv.order if self.inv.var(h, "fleet_celery_beat")]
        for host in explicit:
            if host not in self.inv.role_sets.get("celery", set()):
                self.out.error(INVENTORY, "fleet_celery_beat", f"{host} is not in the celery group "
                               f"{self.p.groups['celery']}", host)
        explicit = [h for h in explicit if h in self.inv.role_sets.get("celery", set())]
        if len(explicit) > 1:
            self.out.error(INVENTORY, "fleet_celery_beat", "celery-beat must run on exactly one host, but it is "
                           f"set on {', '.join(explicit)}")
            return None
        if explicit:
            host = explicit[0]
            if host in host_settings and host not in candidates:
                self.out.error(INVENTORY, "fleet_celery_beat", "set on a host whose celery.enable_beat is false",
                               host)
                return None
            return host
        if candidates:
            return candidates[0]
        if self.base.settings["celery"] and self.base.settings["celery"]["enable_beat"] and not celery_hosts:
            self.out.warn(f"instance {self.name}: celery beat is enabled but the celery group "
                          f"{self.p.groups['celery']} has no hosts: no celery-beat runs")
        return None

    def _place_static_handlers(self, host_settings: dict) -> dict[str, list]:
        handlers = self.job_conf.handlers
        handler_hosts = [h for h in self.inv.role_hosts.get("handlers", []) if h in host_settings]
        placed: dict[str, list] = {}
        explicit: dict[str, str] = {}
        known = {h.id: h for h in handlers}
        for host in self.inv.order:
            wanted = self.inv.var(host, "fleet_static_handlers")
            if wanted is None:
                continue
            if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
                self.out.error(INVENTORY, "fleet_static_handlers", "must be a list of handler ids", host)
                continue
            if host not in self.inv.role_sets.get("handlers", set()):
                self.out.error(INVENTORY, "fleet_static_handlers", f"{host} is not in the handlers group "
                               f"{self.p.groups['handlers']}", host)
                continue
            for handler_id in wanted:
                if handler_id not in known:
                    if len(self.p.sources) == 1:
                        self.out.error(INVENTORY, f"fleet_static_handlers.{handler_id}", "no such static handler in "
                                       f"{self.job_conf.label}", host)
                    continue
                if handler_id in explicit and explicit[handler_id] != host:
                    self.out.error(INVENTORY, f"fleet_static_handlers.{handler_id}", "a static handler runs on "
                                   f"exactly one host, but it is also placed on {explicit[handler_id]}", host)
                    continue
                explicit[handler_id] = host
        if handlers and not handler_hosts:
            self.out.error(self.job_conf.label, "handlers", "the job configuration defines static handlers ("
                           + ", ".join(h.id for h in handlers) + f") but the handlers group "
                           f"{self.p.groups['handlers']} has no hosts")
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

    def _expand_dynamic(self, host_settings: dict, file: str, path: str) -> dict[str, list]:
        handler_hosts = [h for h in self.inv.role_hosts.get("handlers", []) if h in host_settings]
        key_hosts: dict[str, list[str]] = {}
        for host in handler_hosts:
            for key in host_settings[host]["handlers"]:
                key_hosts.setdefault(key, []).append(host)
        if not handler_hosts and self.base.settings["handlers"]:
            self.out.warn(f"instance {self.name}: gravity.handlers is set but the handlers group "
                          f"{self.p.groups['handlers']} has no hosts: no dynamic handler runs")
        result: dict[str, list] = {}
        for host in handler_hosts:
            host_var = HOST_VAR_RE.sub("_", host)
            override = self.p._host_override(host, self.source) or {}
            override_handlers = override.get("handlers") if isinstance(override, dict) else None
            for key, hs in host_settings[host]["handlers"].items():
                from_host = isinstance(override_handlers, dict) and key in override_handlers
                origin = INVENTORY if from_host else file
                key_path = f"fleet_gravity.handlers.{key}" if from_host else f"{path}.handlers.{key}"
                count = hs["processes"]
                template = hs["name_template"]
                shared = len(key_hosts[key]) > 1
                if template is None:
                    if not shared and count == 1 and key[-1].isdigit():
                        result.setdefault(host, []).append((key, key, 0, hs, hs["pools"], key_path, origin, False))
                        continue
                    template = "{name}_{host}_{process}" if shared else "{name}_{process}"
                template = template.strip()
                for index in range(count):
                    try:
                        name = template.format(name=key, process=index, instance_name=self.name, host=host_var)
                    except (KeyError, IndexError, ValueError, AttributeError) as exc:
                        self.out.error(origin, f"{key_path}.name_template", f"cannot expand: {exc}",
                                       host if from_host else None)
                        break
                    if not SERVER_NAME_RE.match(name):
                        self.out.error(origin, f"{key_path}.name_template", f"gives server name {name!r}: use only "
                                       "letters, digits, '_', '-' and '.'", host)
                        break
                    result.setdefault(host, []).append((name, key, index, hs, hs["pools"], key_path, origin, True))
        return result

    def _roster_add(self, roster: dict, server_name: str, host: str, proc: dict, index: int, key: str | None,
                    tags: list[str], static: bool, file: str, key_path: str, pools: list[str] | None = None) -> bool:
        existing = roster.get(server_name)
        if existing is not None:
            what = "static handler" if existing["static"] else f"dynamic handler key {existing['key']}"
            self.out.error(file, key_path if static else f"{key_path}.name_template",
                           f"handler server name {server_name!r} is not unique: the {what} on {existing['host']} "
                           "has it too", host)
            return False
        roster[server_name] = {
            "host": host,
            "unit": proc["unit"],
            "index": index,
            "key": key,
            "pools": list(pools) if pools is not None else [],
            "tags": tags,
            "static": static,
        }
        return True

    def _check_assignment(self, dynamic: dict) -> None:
        if not any(dynamic.values()):
            return
        assign = self.job_conf.assign or []
        if any(method in assign for method in DYNAMIC_ASSIGN_METHODS):
            return
        message = ("dynamic handlers are configured (gravity.handlers) but the job configuration does not assign "
                   "jobs with db-skip-locked or db-transaction-isolation, so they would never get a job")
        if self.p.options.get("allow_unassigned_dynamic_handlers"):
            self.out.warn(f"instance {self.name}: {message}")
            return
        label = self.job_conf.label if self.job_conf.source else self.source.galaxy_file
        key = "handling.assign" if self.job_conf.source else "galaxy.job_config"
        self.out.error(label, key, message + " (set allow_unassigned_dynamic_handlers to accept this)")

    def _check_tools(self, roster: dict) -> None:
        running: set[str] = set()
        for server_name, entry in roster.items():
            running.add(server_name)
            running.update(entry["tags"])
        checks = [(m.tool, m.handler, m.key_path) for m in self.job_conf.tools]
        if self.job_conf.default:
            checks.append((None, self.job_conf.default, self.job_conf.default_key_path))
        for tool, handler, key_path in checks:
            if handler in running:
                continue
            what = f"tool {tool}" if tool else "the default handler"
            self.out.error(self.job_conf.label, key_path, f"{what} is sent to handler {handler!r}, but no running "
                           "handler has that id or tag")

    def _check_roles(self, host_settings: dict) -> None:
        base = self.base.settings
        if not self.inv.role_hosts.get("web"):
            gunicorn = base["gunicorn"]
            enabled = gunicorn and (any(g["enable"] for g in gunicorn) if isinstance(gunicorn, list)
                                    else gunicorn["enable"])
            if enabled:
                self.out.warn(f"instance {self.name}: the web group {self.p.groups['web']} has no hosts: "
                              "no gunicorn runs")
        if base["celery"] and base["celery"]["enable"] and not self.inv.role_hosts.get("celery"):
            self.out.warn(f"instance {self.name}: the celery group {self.p.groups['celery']} has no hosts: "
                          "no celery worker runs")


def build_plan(galaxy_config_file: str | None = None, galaxy_config: Any = None, inventory: dict | None = None,
               options: dict | None = None) -> dict:
    """Compute the cluster plan (see docs/plan.md). Raises PlanError listing every problem."""
    builder = PlanBuilder(galaxy_config_file, galaxy_config, inventory or {}, options)
    return builder.build()


__all__ = ["build_plan", "PlanError", "Problem", "deep_merge", "parse_bind", "DEFAULT_GROUPS", "DEFAULT_OPTIONS"]
