"""The galaxyproject.galaxy role's variables, read as that role would read them, for the cluster plan.

An inventory written for the galaxyproject.galaxy role (``galaxy_config`` with its ``gravity`` and
``galaxy`` sections, ``galaxy_config_files``, ``galaxy_config_templates``, ``galaxy_job_config``,
``galaxy_layout``/``galaxy_root``/``galaxy_server_dir``, ``galaxy_venv_dir``, ``galaxy_user``...)
is planned without a translated copy: ``map_galaxy_role`` gives the one Galaxy configuration the
plan reads (the first Galaxy host's), each other host's Gravity differences as its per-host
override, the options (where galaxy.yml is on the hosts) and where the job configuration comes
from (a file the role installs, resolved on the controller by the caller). The role's defaults
apply where the role has them (docs/galaxyproject-galaxy.md lists each). Every problem names the
variable and the host.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, Problem

# what problems with the role's variables name as their file
INVENTORY = "inventory"
# the role's variables the plan reads from each host
ROLE_VARS = ("galaxy_config", "galaxy_config_files", "galaxy_config_templates", "galaxy_job_config",
             "galaxy_job_config_file", "galaxy_layout", "galaxy_root", "galaxy_server_dir", "galaxy_venv_dir",
             "galaxy_config_dir", "galaxy_config_file", "galaxy_mutable_data_dir", "galaxy_user")
# the collection's own inputs that the role's variables would otherwise give
FLEET_SOURCES = ("fleet_galaxy_config_file", "fleet_galaxy_config", "fleet_gravity_config_file")
MODES = ("auto", "use", "ignore")
# The role's directory layouts (vars/layout-*.yml): server, venv, config and mutable data folders,
# "{root}" the role's galaxy_root, "{server}" its galaxy_server_dir. Its default layout is legacy.
LAYOUTS: dict[str, dict[str, str]] = {
    "root-dir": {"server": "{root}/server", "venv": "{root}/venv", "config": "{root}/config", "data": "{root}/var"},
    "legacy": {"venv": "{server}/.venv", "config": "{server}", "data": "{server}/database"},
    "legacy-improved": {"venv": "{server}/.venv", "config": "{server}/config", "data": "{server}/database"},
    "opt": {"server": "/opt/galaxy", "venv": "/var/opt/galaxy/venv", "config": "/etc/opt/galaxy",
            "data": "/var/opt/galaxy/data"},
    "custom": {},
}
DEFAULT_LAYOUT = "legacy"
LAYOUT_VARS = {"server": "galaxy_server_dir", "venv": "galaxy_venv_dir", "config": "galaxy_config_dir",
               "data": "galaxy_mutable_data_dir"}
# where Galaxy looks for its job configuration beside galaxy.yml when none is named
DEFAULT_JOB_CONFIG_NAMES = ("job_conf.yml", "job_conf.xml")
# the collection's path variables and the role's variable giving the same thing
PATH_OPTIONS = {"galaxy_root": ("fleet_galaxy_root", "galaxy_server_dir"),
                "virtualenv": ("fleet_virtualenv", "galaxy_venv_dir"),
                "galaxy_user": ("fleet_galaxy_user", "galaxy_user")}
GRAVITY_KEY = {"galaxy_root": "galaxy_root", "virtualenv": "virtualenv", "galaxy_user": "galaxy_user"}


@dataclass
class FileRef:
    """A file the role installs on the hosts, as its galaxy_config_files/templates entry names it."""

    src: str          # on the controller, as written (relative to the playbook's folder)
    dest: str         # on the hosts
    template: bool    # from galaxy_config_templates (rendered with the host's variables)
    variable: str     # "galaxy_config_files.2"
    host: str


@dataclass
class HostView:
    """One host's role variables, the role's defaults applied."""

    host: str
    gravity: dict
    galaxy: dict
    config_file: str           # galaxy.yml on the hosts
    job: FileRef | dict | None  # a file to read, the job configuration itself, or none


@dataclass
class RoleMapping:
    """What the plan reads, computed from the role's variables."""

    galaxy_config: dict                      # {gravity, galaxy} of the first Galaxy host
    galaxy_config_path: str                  # galaxy.yml on the hosts
    job_file: FileRef | None                 # the job configuration file to read on the controller
    overrides: dict[str, dict] = field(default_factory=dict)  # host -> fleet_gravity to use
    base_host: str = ""
    own_paths: dict[str, set[str]] = field(default_factory=dict)  # host -> key paths its own fleet_gravity sets

    def renamed(self, problem: Problem) -> Problem:
        """A plan problem with a host's override named after where it came from: the host's
        galaxy_config.gravity, unless the host's own fleet_gravity set that key."""
        prefix = "fleet_gravity"
        if problem.host not in self.overrides or not problem.key_path.startswith(prefix):
            return problem
        rest = problem.key_path[len(prefix):]
        path = rest.lstrip(".")
        if any(path == p or path.startswith(p + ".") for p in self.own_paths.get(problem.host, ())):
            return problem
        return Problem(problem.file, "galaxy_config.gravity" + rest, problem.message, problem.host)


def _user_name(value: Any) -> Any:
    """galaxy_user is a name or a mapping with one (the role accepts both)."""
    if isinstance(value, dict):
        return value.get("name")
    return value


def _layout_paths(host: str, hv: dict, out: Collector) -> dict[str, str] | None:
    """server, venv, config and data folders of the role on one host (its layout and variables)."""
    layout = hv.get("galaxy_layout") or DEFAULT_LAYOUT
    if layout not in LAYOUTS:
        out.error(INVENTORY, "galaxy_layout", f"unknown layout {layout!r} of galaxyproject.galaxy; known: "
                  + ", ".join(sorted(LAYOUTS)), host)
        return None
    templates = LAYOUTS[layout]
    root = hv.get("galaxy_root")
    if "{root}" in "".join(templates.values()) and not root:
        out.error(INVENTORY, "galaxy_root", f"required by galaxy_layout {layout}", host)
        return None
    paths: dict[str, str] = {}
    for what in ("server", "venv", "config", "data"):
        explicit = hv.get(LAYOUT_VARS[what])
        if explicit:
            paths[what] = str(explicit)
            continue
        template = templates.get(what)
        if template is None or ("{server}" in template and "server" not in paths):
            out.error(INVENTORY, LAYOUT_VARS[what], f"required: galaxy_layout {layout} gives no default"
                      + (" (the role's default layout is legacy; set galaxy_layout: root-dir with galaxy_root)"
                         if layout == DEFAULT_LAYOUT and what == "server" else ""), host)
            return None
        paths[what] = template.format(root=root, server=paths.get("server", ""))
    return paths


def _installed_files(host: str, hv: dict, out: Collector) -> dict[str, FileRef]:
    """dest -> FileRef for every galaxy_config_files / galaxy_config_templates entry of a host."""
    files: dict[str, FileRef] = {}
    for var, template in (("galaxy_config_files", False), ("galaxy_config_templates", True)):
        entries = hv.get(var) or []
        if not isinstance(entries, list):
            out.error(INVENTORY, var, "must be a list of {src, dest}", host)
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not entry.get("src") or not entry.get("dest"):
                out.error(INVENTORY, f"{var}.{index}", "must be a mapping with src and dest", host)
                continue
            dest = posixpath.normpath(str(entry["dest"]))
            files[dest] = FileRef(str(entry["src"]), dest, template, f"{var}.{index}", host)
    return files


def _job_source(host: str, hv: dict, galaxy: dict, config_file: str, files: dict[str, FileRef],
                out: Collector) -> FileRef | dict | None:
    """Where the job configuration comes from, as Galaxy would find what the role installs."""
    named = galaxy.get("job_config_file")
    role_job = hv.get("galaxy_job_config")
    if role_job is not None and not isinstance(role_job, dict):
        out.error(INVENTORY, "galaxy_job_config", "must be a mapping (the job configuration)", host)
        role_job = None
    here = posixpath.dirname(config_file)
    if named:
        path = posixpath.normpath(posixpath.join(here, str(named)))
        if path in files:
            return files[path]
        if role_job is not None:
            return role_job
        out.error(INVENTORY, "galaxy_config.galaxy.job_config_file",
                  f"{path} is installed by neither galaxy_config_files nor galaxy_config_templates: "
                  "the plan cannot read the job configuration Galaxy will use", host)
        return None
    if isinstance(galaxy.get("job_config"), dict):
        inline = galaxy["job_config"]
        if role_job is not None and role_job != inline:
            out.error(INVENTORY, "galaxy_job_config", "differs from galaxy_config.galaxy.job_config, which "
                      "Galaxy uses: set job_config: \"{{ galaxy_job_config }}\" or remove one", host)
        return inline
    if role_job is not None:
        return role_job
    for name in DEFAULT_JOB_CONFIG_NAMES:
        path = posixpath.join(here, name)
        if path in files:
            return files[path]
    return None


def _with_defaults(gravity: dict, paths: dict[str, str], user: Any) -> dict:
    """The Gravity section the role writes: its own default section when galaxy_config has none
    (galaxy_gravity_config_default), else the user's, with Galaxy's root, virtualenv and user
    from the role's variables where the section does not set them."""
    result = copy.deepcopy(gravity)
    if not gravity:
        result = {"log_dir": paths["data"] + "/log", "app_server": "gunicorn", "gunicorn": {"bind": "localhost:8080"}}
    result.setdefault("galaxy_root", paths["server"])
    result.setdefault("virtualenv", paths["venv"])
    if user:
        result.setdefault("galaxy_user", user)
    return result


def host_view(host: str, hv: dict, out: Collector) -> HostView | None:
    """One host's galaxy.yml, Gravity section and job configuration as the role would write them."""
    config = hv.get("galaxy_config")
    if not isinstance(config, dict):
        out.error(INVENTORY, "galaxy_config", "must be a mapping with the gravity and galaxy sections of galaxy.yml "
                  "(galaxyproject.galaxy) on every host that runs Galaxy processes", host)
        return None
    gravity = config.get("gravity") or {}
    galaxy = config.get("galaxy") or {}
    if not isinstance(gravity, dict):
        out.error(INVENTORY, "galaxy_config.gravity", "must be a mapping (galaxyproject.galaxy writes one "
                  "Galaxy instance; several need fleet_galaxy_config_file with a list)", host)
        return None
    if not isinstance(galaxy, dict):
        out.error(INVENTORY, "galaxy_config.galaxy", "must be a mapping", host)
        return None
    paths = _layout_paths(host, hv, out)
    if paths is None:
        return None
    config_file = str(hv.get("galaxy_config_file") or paths["config"] + "/galaxy.yml")
    galaxy = dict(galaxy)
    galaxy.setdefault("data_dir", paths["data"])  # galaxy_app_config_default
    files = _installed_files(host, hv, out)
    job = _job_source(host, hv, galaxy, config_file, files, out)
    return HostView(host, _with_defaults(gravity, paths, _user_name(hv.get("galaxy_user"))), galaxy,
                    config_file, job)


def gravity_difference(base: dict, other: dict) -> dict:
    """The override that turns ``base`` into ``other`` under plan_inventory.deep_merge
    (mappings merge, a null removes a key, anything else replaces)."""
    diff: dict = {}
    for key in base:
        if key not in other:
            diff[key] = None
    for key, value in other.items():
        if key not in base:
            diff[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(base[key], dict):
            inner = gravity_difference(base[key], value)
            if inner:
                diff[key] = inner
        elif value != base[key]:
            diff[key] = copy.deepcopy(value)
    return diff


def _key_paths(tree: Any, prefix: str = "") -> set[str]:
    if not isinstance(tree, dict) or not tree:
        return {prefix} if prefix else set()
    paths: set[str] = set()
    for key, value in tree.items():
        paths |= _key_paths(value, f"{prefix}.{key}" if prefix else str(key))
    return paths


def _overlap(a: set[str], b: set[str]) -> list[str]:
    return sorted(p for p in a if any(p == q or p.startswith(q + ".") or q.startswith(p + ".") for q in b))


def role_in_use(mode: str, fleet_sources: dict[str, Any], hostvars: dict[str, dict], hosts: list[str],
                out: Collector) -> bool:
    """Whether the plan reads the role's variables; both sources given is refused (mode auto or use)."""
    if mode not in MODES:
        out.error(INVENTORY, "fleet_galaxy_role", f"must be one of {', '.join(MODES)}, got {mode!r}")
        return False
    if mode == "ignore":
        return False
    with_role = [h for h in hosts if (hostvars.get(h) or {}).get("galaxy_config") is not None]
    given = [name for name, value in fleet_sources.items() if value is not None]
    if given and with_role:
        out.error(INVENTORY, "galaxy_config", f"set (galaxyproject.galaxy) while {given[0]} is given too: the plan "
                  f"would read one and ignore the other. Remove {given[0]} to plan from the role's variables, or set "
                  "fleet_galaxy_role: ignore to plan from it", with_role[0])
        return False
    if mode == "use" and not with_role:
        out.error(INVENTORY, "galaxy_config", "fleet_galaxy_role is use, but no host that runs Galaxy processes has "
                  "galaxy_config" + (f" ({given[0]} is given instead)" if given else ""))
        return False
    return bool(with_role)


def _fleet_paths(views: list[HostView], fleet: dict[str, Any], out: Collector) -> None:
    """The collection's fleet_galaxy_root, fleet_virtualenv, fleet_galaxy_user and
    fleet_galaxy_config_path against the role's own values: the same, or refused."""
    for view in views:
        for option, (fleet_var, role_var) in PATH_OPTIONS.items():
            wanted = fleet.get(fleet_var)
            if wanted is None:
                continue
            key = GRAVITY_KEY[option]
            effective = view.gravity.get(key)
            if effective is None:
                view.gravity[key] = wanted
            elif effective != wanted:
                out.error(INVENTORY, fleet_var, f"is {wanted!r} but galaxyproject.galaxy gives {effective!r} "
                          f"(galaxy_config.gravity.{key}, else {role_var} or its layout default): remove one",
                          view.host)
        wanted = fleet.get("fleet_galaxy_config_path")
        if wanted is not None and wanted != view.config_file:
            out.error(INVENTORY, "fleet_galaxy_config_path", f"is {wanted!r} but galaxyproject.galaxy writes galaxy.yml "
                      f"to {view.config_file!r} (galaxy_config_file): remove fleet_galaxy_config_path", view.host)


def map_galaxy_role(hostvars: dict[str, dict], hosts: list[str], fleet: dict[str, Any], out: Collector) -> RoleMapping | None:
    """The plan's inputs from the role's variables on ``hosts`` (the hosts that run Galaxy processes,
    in inventory order). ``fleet`` holds the collection's variables that were set. None on problems."""
    views = [view for view in (host_view(h, hostvars.get(h) or {}, out) for h in hosts) if view is not None]
    if not views or len(views) != len(hosts):
        return None
    _fleet_paths(views, fleet, out)
    base = views[0]
    for view in views[1:]:
        for what, mine, theirs in (("galaxy_config_file", view.config_file, base.config_file),
                                   ("galaxy_config.galaxy", view.galaxy, base.galaxy)):
            if mine != theirs:
                out.error(INVENTORY, what, f"differs from host {base.host}'s: every Galaxy host runs the same galaxy.yml "
                          "in one cluster plan (only the gravity section may differ per host or group)", view.host)
        mine_job = view.job.src if isinstance(view.job, FileRef) else view.job
        base_job = base.job.src if isinstance(base.job, FileRef) else base.job
        if mine_job != base_job:
            out.error(INVENTORY, "galaxy_job_config", f"the job configuration differs from host {base.host}'s: every "
                      "Galaxy host reads the same one", view.host)
    overrides: dict[str, dict] = {}
    own_paths: dict[str, set[str]] = {}
    for view in views:
        difference = gravity_difference(base.gravity, view.gravity)
        own = (hostvars.get(view.host) or {}).get("fleet_gravity")
        if own and isinstance(own, dict):
            for path in _overlap(_key_paths(difference), _key_paths(own)):
                out.error(INVENTORY, f"fleet_gravity.{path}", "is set both here and in this host's "
                          f"galaxy_config.gravity (which differs from host {base.host}'s there): set it in one place",
                          view.host)
            difference = _merge(difference, own)
            own_paths[view.host] = _key_paths(own)
        elif own is not None:
            difference = own  # not a mapping: the plan refuses it, naming fleet_gravity
        if difference:
            overrides[view.host] = difference
    if out.problems:
        return None
    galaxy = dict(base.galaxy)
    job_file = None
    if isinstance(base.job, FileRef):
        job_file = base.job
        galaxy.pop("job_config", None)
    elif isinstance(base.job, dict):
        galaxy["job_config"] = base.job
        galaxy.pop("job_config_file", None)
    return RoleMapping({"gravity": base.gravity, "galaxy": galaxy}, base.config_file, job_file, overrides, base.host,
                       own_paths)


def _merge(base: dict, override: dict) -> dict:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
