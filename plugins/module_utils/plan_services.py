"""What each Galaxy service runs: argv, environment and unit settings, as Gravity 1.2.4 gives them.

``ServicePlanner`` builds the ``Process`` records of one Galaxy instance's services on one host
from that host's validated Gravity settings: gunicorn, celery and celery-beat, tusd,
gx-it-proxy, reports, and the static and dynamic job handlers. Commands are Gravity's command
templates (``service_command_style: direct``), split into argv; environments are Gravity's
defaults, the service's ``environment`` and its ``{variable}`` expansion. Units are named
afterwards (plan_naming.py), per ``ServiceGroup``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.galaxy_names import (
    SERVER_NAME_FROM_ENVIRONMENT,
    environment_server_name,
)
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import StaticHandler
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import Process
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_naming import InstanceNames
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_network import (
    endpoint, instance_binds, join_host_port, local_health_url)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_sources import Source

# galaxy settings that Gravity hands to service templates as app_config
OPTIONAL_APP_KEYS = (
    "interactivetools_map",
    "interactivetoolsproxy_map",
    "interactivetools_base_path",
    "interactivetools_prefix",
    "galaxy_url_prefix",
)
GALAXY_ENV = {"PYTHONPATH": "lib", "GALAXY_CONFIG_FILE": "{galaxy_conf}"}
STATIC_HANDLER_SETTINGS = {"start_timeout": 20, "stop_timeout": 65}

_split_cache: dict[str, list[str]] = {}


def split_command(command: str) -> list[str]:
    """shlex.split, remembered (many processes share a command line). ValueError: unbalanced quotes."""
    argv = _split_cache.get(command)
    if argv is None:
        argv = shlex.split(command)
        _split_cache[command] = argv
    return list(argv)


def systemd_quote(arg: str) -> str:
    """Quote one argv element for an ExecStart= line."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_start(argv: list[str]) -> str:
    return " ".join(systemd_quote(a) for a in argv)


def gigabytes(value: float | None) -> float | int | None:
    """A memory setting as the plan gives it: None when unset, whole numbers as int."""
    if not value:
        return None
    return int(value) if float(value).is_integer() else value


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: "25.1.0rc1" is (25, 1, 0)."""
    parts = []
    for piece in str(version).split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def no_control_socket(gunicorn_version: str | None) -> bool:
    """Whether gunicorn runs with --no-control-socket: from gunicorn 25.1.0, when its version is known."""
    return bool(gunicorn_version) and version_tuple(gunicorn_version) >= (25, 1, 0)


def app_config(galaxy: dict) -> dict[str, Any]:
    """The galaxy settings the services' commands and environments use."""
    config: dict[str, Any] = {
        "galaxy_infrastructure_url": str(galaxy.get("galaxy_infrastructure_url") or "").rstrip("/"),
        "interactivetools_enable": galaxy.get("interactivetools_enable"),
    }
    for key in OPTIONAL_APP_KEYS:
        if key in galaxy:
            config[key] = galaxy[key]
    return config


@dataclass
class Context:
    """What every process of one set of Gravity settings shares."""

    galaxy_root: str
    virtualenv: str | None
    virtualenv_bin: str        # quoted VENV/bin/, or "" without a virtualenv
    gravity_data_dir: str
    user: str
    group: str | None
    umask: str
    memory_limit: float | None
    memory_high: float | None
    log_namespace: str | None


@dataclass
class ServiceGroup:
    """The processes of one Gravity service, named together (a list may share a template unit)."""

    service_name: str
    processes: list[Process] = field(default_factory=list)
    as_list: bool = False


@dataclass
class SectionItem:
    """One process's settings in a section that may be a list (gunicorn, tusd)."""

    index: int | None   # its place in the list (or among gunicorn.instances), None for a single one
    settings: dict
    key_path: str


class ServicePlanner:
    """The processes of one Galaxy instance's services."""

    def __init__(self, out: Collector, names: InstanceNames, source: Source, options: dict):
        self.out, self.names, self.source, self.options = out, names, source, options
        self.installed = bool(options["galaxy_installed"])
        self.no_control_socket = no_control_socket(options.get("gunicorn_version"))
        self.galaxy_conf = source.host_galaxy_config
        self.app_config = app_config(source.galaxy)
        prefix = self.app_config.get("galaxy_url_prefix") or ""
        self.url_prefix = prefix.rstrip("/") if isinstance(prefix, str) else ""
        self._contexts: dict[int, Context] = {}

    def context(self, settings: dict) -> Context:
        ctx = self._contexts.get(id(settings))
        if ctx is not None:
            return ctx
        options = self.options
        galaxy = self.source.galaxy
        galaxy_root = settings["galaxy_root"] or galaxy.get("root") or options["galaxy_root"]
        virtualenv = settings["virtualenv"] or options["virtualenv"]
        data_dir = galaxy.get("data_dir") or ("data" if self.installed else "database")
        gravity_data_dir = os.path.join(str(data_dir), "gravity")
        if not os.path.isabs(gravity_data_dir):
            gravity_data_dir = os.path.abspath(os.path.join(galaxy_root, gravity_data_dir))
        ctx = Context(
            galaxy_root=galaxy_root,
            virtualenv=virtualenv,
            virtualenv_bin=shlex.quote(os.path.join(virtualenv, "bin") + os.path.sep) if virtualenv else "",
            gravity_data_dir=gravity_data_dir,
            user=settings["galaxy_user"] or options["galaxy_user"],
            group=settings["galaxy_group"],
            umask=settings["umask"],
            memory_limit=settings["memory_limit"],
            memory_high=settings["memory_high"],
            log_namespace=settings["log_namespace"],
        )
        self._contexts[id(settings)] = ctx
        return ctx

    # ------------------------------------------------------------ shared by every service
    def _environment(self, ctx: Context, default_env: dict, service_settings: dict, service_name: str,
                     file: str, key: str, host: str) -> dict:
        env = dict(default_env)
        if ctx.virtualenv:
            env["VIRTUAL_ENV"] = ctx.virtualenv
        env.update(service_settings.get("environment") or {})
        if ctx.virtualenv_bin:
            env["PATH"] = ":".join([ctx.virtualenv_bin, env.get("PATH", self.options["default_path"])])
        if any("{" in v or "}" in v for v in env.values()):
            variables = {
                "server_name": service_name,
                "galaxy_umask": service_settings.get("umask") or ctx.umask,
                "galaxy_conf": self.galaxy_conf,
                "galaxy_root": ctx.galaxy_root,
                "virtualenv_bin": ctx.virtualenv_bin,
                "gravity_data_dir": shlex.quote(ctx.gravity_data_dir),
                "app_config": self.app_config,
                "settings": service_settings,
                "service_instance_count": 1,
                "instance_number": "%i",
                "systemd_description": self.names.description(service_name),
                "systemd_target": self.names.target,
            }
            for var, value in list(env.items()):
                try:
                    env[var] = value.format(**variables)
                except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                    self.out.error(file, f"{key}.environment.{var}",
                                   f"cannot expand {value!r}: {type(exc).__name__} {exc}; known variables: "
                                   + ", ".join(sorted(variables)), host)
        return env

    def _argv(self, command: str, file: str, key: str, host: str) -> list[str]:
        try:
            return split_command(command)
        except ValueError as exc:
            self.out.error(file, key, f"cannot split the command line: {exc}", host)
            return []

    def _process(self, host: str, ctx: Context, service_type: str, service_name: str, argv: list[str],
                 env: dict, settings: dict, file: str, key: str, bind: str | None = None,
                 reload: str | None = None, restart_timeout: int | None = None) -> Process:
        proc = Process(
            # what Galaxy runs as: the service name, unless the environment names the server
            server_name=environment_server_name(service_name, env, self.source.galaxy)
            if service_type in SERVER_NAME_FROM_ENVIRONMENT else service_name,
            service_name=service_name,
            argv=argv,
            exec_start=exec_start(argv),
            environment=env,
            working_directory=ctx.galaxy_root,
            user=ctx.user,
            group=ctx.group,
            umask=settings.get("umask") or ctx.umask,
            start_timeout=settings["start_timeout"],
            stop_timeout=settings["stop_timeout"],
            restart_timeout=restart_timeout,
            memory_limit=gigabytes(settings.get("memory_limit") or ctx.memory_limit),
            memory_high=gigabytes(settings.get("memory_high") or ctx.memory_high),
            log_namespace=ctx.log_namespace,
            reload=reload,
            bind=bind,
            service_type=service_type,
            origin=file,
            key_path=key,
        )
        if bind is not None:
            try:
                proc.endpoint = endpoint(bind)
            except ValueError as exc:
                self.out.error(file, key, str(exc), host)
        return proc

    # ------------------------------------------------------------ gunicorn
    def _gunicorn_items(self, settings: dict, file: str, path: str, host: str) -> list[SectionItem]:
        """The gunicorns configured: a list, one, or ``instances`` copies of one on consecutive ports."""
        section = settings["gunicorn"]
        if section is None:
            return []
        if isinstance(section, list):
            return [SectionItem(i, s, f"{path}.gunicorn.{i}") for i, s in enumerate(section)]
        count = section.get("instances")
        item = {k: v for k, v in section.items() if k != "instances"}
        if not count:
            return [SectionItem(None, item, f"{path}.gunicorn")]
        try:
            copies = instance_binds(item["bind"], count)
        except ValueError as exc:
            self.out.error(file, f"{path}.gunicorn.bind", str(exc), host)
            return []
        for port in copies.out_of_range:
            self.out.error(file, f"{path}.gunicorn.instances", f"port {port} is out of range", host)
        return [SectionItem(i, dict(item, bind=bind), f"{path}.gunicorn") for i, bind in enumerate(copies.binds)]

    def gunicorn(self, host: str, ctx: Context, settings: dict, file: str, path: str) -> ServiceGroup:
        group = ServiceGroup("gunicorn", as_list=isinstance(settings["gunicorn"], list)
                             or bool((settings["gunicorn"] or {}).get("instances")))
        vb = ctx.virtualenv_bin
        for item in self._gunicorn_items(settings, file, path, host):
            gs, key = item.settings, item.key_path
            if not gs["enable"]:
                continue
            name = "gunicorn" if item.index is None else f"gunicorn{item.index}"
            preload = "--preload" if gs["preload"] else ""
            command = (f"{vb}gunicorn 'galaxy.webapps.galaxy.fast_factory:factory()' --timeout {gs['timeout']}"
                       f" --pythonpath lib -k galaxy.webapps.galaxy.workers.Worker -b {gs['bind']}"
                       f" --workers={gs['workers']} --config python:galaxy.web_stack.gunicorn_config"
                       f" {preload} {gs['extra_args']}")
            if self.no_control_socket:
                command += " --no-control-socket"
            argv = self._argv(command, file, f"{key}.extra_args", host)
            env = self._environment(ctx, GALAXY_ENV, gs, name, file, key, host)
            proc = self._process(host, ctx, "gunicorn", name, argv, env, gs, file, f"{key}.bind", bind=gs["bind"],
                                 reload=None if gs["preload"] else "hup", restart_timeout=gs["restart_timeout"])
            proc.health_url = local_health_url(gs["bind"], self.url_prefix)
            proc.position = 0 if item.index is None else item.index
            group.processes.append(proc)
        return group

    # ------------------------------------------------------------ celery
    def celery(self, host: str, ctx: Context, settings: dict, file: str, path: str, beat: bool) -> list[ServiceGroup]:
        """The celery worker and, on the beat host, celery-beat: each its own service."""
        cs = settings["celery"]
        if cs is None:
            return []
        vb = ctx.virtualenv_bin
        groups = []
        if cs["enable"]:
            command = (f"{vb}celery --app galaxy.celery worker --concurrency {cs['concurrency']}"
                       f" --loglevel {cs['loglevel']} --pool {cs['pool']} --queues {cs['queues']} {cs['extra_args']}")
            argv = self._argv(command, file, f"{path}.celery.extra_args", host)
            env = self._environment(ctx, GALAXY_ENV, cs, "celery", file, f"{path}.celery", host)
            groups.append(ServiceGroup("celery", [self._process(host, ctx, "celery", "celery", argv, env, cs, file,
                                                                f"{path}.celery")]))
        if beat and cs["enable_beat"]:
            command = (f"{vb}celery --app galaxy.celery beat --loglevel {cs['loglevel']}"
                       f" --schedule {shlex.quote(ctx.gravity_data_dir)}/celerybeat-schedule")
            argv = self._argv(command, file, f"{path}.celery", host)
            env = self._environment(ctx, GALAXY_ENV, cs, "celery-beat", file, f"{path}.celery", host)
            groups.append(ServiceGroup("celery-beat", [self._process(host, ctx, "celery-beat", "celery-beat", argv,
                                                                     env, cs, file, f"{path}.celery.enable_beat")]))
        return groups

    # ------------------------------------------------------------ tusd
    def tusd(self, host: str, ctx: Context, settings: dict, file: str, path: str) -> ServiceGroup | None:
        section = settings["tusd"]
        if section is None:
            return None
        items = [SectionItem(i, s, f"{path}.tusd.{i}") for i, s in enumerate(section)] if isinstance(section, list) \
            else [SectionItem(None, section, f"{path}.tusd")]
        group = ServiceGroup("tusd", as_list=isinstance(section, list))
        for item in items:
            ts, key = item.settings, item.key_path
            if not ts["enable"]:
                continue
            name = "tusd" if item.index is None else f"tusd{item.index}"
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
            env = self._environment(ctx, {}, ts, name, file, key, host)
            group.processes.append(self._process(host, ctx, "tusd", name, argv, env, ts, file, f"{key}.port",
                                                 bind=join_host_port(ts["host"], ts["port"])))
        return group

    # ------------------------------------------------------------ gx-it-proxy
    def gx_it_proxy(self, host: str, ctx: Context, settings: dict, file: str, path: str) -> ServiceGroup | None:
        gs = settings["gx_it_proxy"]
        if gs is None or not gs["enable"]:
            return None
        key = f"{path}.gx_it_proxy"
        app = self.app_config
        if not app.get("interactivetools_enable"):
            self.out.error(self.source.galaxy_file, "galaxy.interactivetools_enable",
                           "must be true to run gx-it-proxy (gravity.gx_it_proxy.enable is true)", host)
        sessions = app.get("interactivetoolsproxy_map") or app.get("interactivetools_map") or gs["sessions"]
        base_path = app.get("interactivetools_base_path", "/") or "/"
        base_path = "/" + f"/{str(base_path).strip('/')}/".lstrip("/")
        path_prefix = f"{base_path}{app.get('interactivetools_prefix', 'interactivetool')}/ep"
        verbose = "--verbose" if gs["verbose"] else ""
        forward_ip = f"--forwardIP {gs['forward_ip']}" if gs["forward_ip"] else ""
        forward_port = f"--forwardPort {gs['forward_port']}" if gs["forward_port"] else ""
        reverse = "--reverseProxy" if gs["reverse_proxy"] else ""
        command = (f"{ctx.virtualenv_bin}npx @galaxyproject/gx-it-proxy@{gs['version']} --ip {gs['ip']}"
                   f" --port {gs['port']} --sessions {sessions} {verbose} {forward_ip} {forward_port} {reverse}"
                   f" --proxyPathPrefix {path_prefix}")
        argv = self._argv(command, file, key, host)
        service_settings = dict(gs, sessions=sessions, proxy_path_prefix=path_prefix)
        env = self._environment(ctx, {"npm_config_yes": "true"}, service_settings, "gx-it-proxy", file, key, host)
        return ServiceGroup("gx-it-proxy", [self._process(host, ctx, "gx-it-proxy", "gx-it-proxy", argv, env, gs,
                                                          file, f"{key}.port", bind=join_host_port(gs["ip"],
                                                                                                   gs["port"]))])

    # ------------------------------------------------------------ reports
    def reports(self, host: str, ctx: Context, settings: dict, file: str, path: str) -> ServiceGroup | None:
        rs = settings["reports"]
        if rs is None or not rs["enable"]:
            return None
        key = f"{path}.reports"
        config_file = rs["config_file"]
        config_dir = self.source.config_dir
        if not os.path.isabs(config_file):
            if config_dir and not os.path.exists(os.path.join(config_dir, config_file)):
                self.out.error(file, f"{key}.config_file", f"{config_file} does not exist beside galaxy.yml "
                               f"({config_dir}); reports needs its configuration file", host)
            config_file = os.path.join(os.path.dirname(self.galaxy_conf), config_file)
        service_settings = dict(rs, config_file=config_file)
        url_prefix = f"--env SCRIPT_NAME={rs['url_prefix']}" if rs["url_prefix"] else ""
        command = (f"{ctx.virtualenv_bin}gunicorn 'galaxy.webapps.reports.fast_factory:factory()'"
                   f" --timeout {rs['timeout']} --pythonpath lib -k uvicorn.workers.UvicornWorker -b {rs['bind']}"
                   f" --workers={rs['workers']} --config python:galaxy.web_stack.gunicorn_config {url_prefix}"
                   f" {rs['extra_args']}")
        argv = self._argv(command, file, f"{key}.extra_args", host)
        env = self._environment(ctx, {"PYTHONPATH": "lib", "GALAXY_REPORTS_CONFIG": "{settings[config_file]}"},
                                service_settings, "reports", file, key, host)
        return ServiceGroup("reports", [self._process(host, ctx, "reports", "reports", argv, env, rs, file,
                                                      f"{key}.bind", bind=rs["bind"], reload="hup")])

    # ------------------------------------------------------------ job handlers
    def handler(self, host: str, ctx: Context, server_name: str, settings: dict, pools: list[str] | None,
                file: str, key: str) -> Process:
        """One job handler process: ``galaxy-main --server-name=NAME [--attach-to-pool=POOL ...]``."""
        service_settings = dict(settings, server_name=server_name)
        if pools:
            service_settings["server_pools"] = pools
        env = self._environment(ctx, {}, service_settings, server_name, file, key, host)
        vb = ctx.virtualenv_bin
        if self.installed:
            prefix = f"{vb}galaxy-main -c {self.galaxy_conf}"
        else:
            prefix = f"{vb}python ./scripts/galaxy-main -c {self.galaxy_conf}"
        argv = split_command(prefix)
        argv.append(f"--server-name={server_name}")
        argv.extend(f"--attach-to-pool={pool}" for pool in pools or ())
        return self._process(host, ctx, "standalone", server_name, argv, env, settings, file, key)

    def static_handler(self, host: str, ctx: Context, handler: StaticHandler, file: str) -> Process:
        """A handler of the job configuration: Gravity's handler defaults, its own environment."""
        settings = dict(STATIC_HANDLER_SETTINGS, environment=handler.environment or {})
        return self.handler(host, ctx, handler.id, settings, None, file, f"static handler {handler.id}")
