# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin galaxyops.fleet.topology: compute the cluster plan on the controller."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import yaml

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, PlanError
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_galaxy_role import (
    INVENTORY, ROLE_VARS, FileRef, map_galaxy_role, role_in_use)
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_inventory import DEFAULT_GROUPS, Inventory
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_summary import summary_lines
from ansible_collections.galaxyops.fleet.plugins.modules.topology import DOCUMENTATION

HOST_VARS = ("fleet_gravity", "fleet_gravity_instances", "fleet_address", "ansible_host",
             "fleet_static_handlers", "fleet_celery_beat", "inventory_dir") + ROLE_VARS
ARGUMENT_SPEC = spec_from_doc(yaml.safe_load(DOCUMENTATION)["options"])
SOURCES = ("galaxy_config_file", "galaxy_config", "gravity_config_file")
# the options the role's variables also give, and the playbook variables that set them
FLEET_PATHS = {"galaxy_root": "fleet_galaxy_root", "virtualenv": "fleet_virtualenv",
               "galaxy_user": "fleet_galaxy_user", "galaxy_config_path": "fleet_galaxy_config_path"}


def _plain(value: Any) -> Any:
    """Plain Python containers (hostvars may hand out lazy or tagged ones)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fail(problems) -> AnsibleActionFail:
    lines = [str(p) for p in problems]
    return AnsibleActionFail(f"the cluster plan has {len(lines)} problem(s):\n" + "\n".join(lines),
                             result={"problems": [p.as_dict() for p in problems]})


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            mutually_exclusive=[("galaxy_config_file", "galaxy_config")],
        )
        groups = {name: list(members) for name, members in (task_vars.get("groups") or {}).items()}
        hostvars_in = task_vars.get("hostvars") or {}
        hostvars = {}
        for host in groups.get("all", []):
            try:
                host_vars = hostvars_in[host]
            except KeyError:
                continue
            hostvars[host] = {key: _plain(host_vars[key]) for key in HOST_VARS if key in host_vars}
        inventory = {"groups": groups, "hostvars": hostvars}
        options = {k: v for k, v in args.items() if k not in ("galaxy_config_file", "galaxy_config", "galaxy_role")}
        galaxy_config = _plain(args["galaxy_config"]) if args.get("galaxy_config") is not None else None
        owner = "galaxyops.fleet"
        mapping = None
        with tempfile.TemporaryDirectory(prefix="fleet-topology-") as scratch:
            out = Collector()
            names = dict(DEFAULT_GROUPS)
            names.update({k: v for k, v in (args.get("groups") or {}).items() if v})
            hosts = Inventory(inventory, names).process_hosts()
            if role_in_use(args["galaxy_role"], {f"fleet_{k}": args.get(k) for k in SOURCES}, hostvars, hosts, out):
                given = {var: self._task.args[opt] for opt, var in FLEET_PATHS.items() if opt in self._task.args}
                mapping = map_galaxy_role(hostvars, hosts, given, out)
                if mapping is not None:
                    galaxy_config = mapping.galaxy_config
                    if mapping.job_file is not None:
                        self._job_file(mapping.job_file, galaxy_config["galaxy"], hostvars, args, task_vars,
                                       scratch, out)
                    options["galaxy_config_path"] = mapping.galaxy_config_path
                    for host, host_vars in hostvars.items():
                        host_vars.pop("fleet_gravity", None)
                        if host in mapping.overrides:
                            host_vars["fleet_gravity"] = mapping.overrides[host]
                    owner = "galaxyproject.galaxy"
            elif not out.problems and not any(args.get(k) is not None for k in SOURCES):
                out.error("(options)", "galaxy_config_file", "one of galaxy_config_file, galaxy_config or "
                          "gravity_config_file is required (fleet_galaxy_config_file, ...), or galaxyproject.galaxy's "
                          "galaxy_config on the Galaxy hosts")
            if out.problems:
                raise _fail(out.problems)
            try:
                plan = build_plan(galaxy_config_file=args.get("galaxy_config_file"), galaxy_config=galaxy_config,
                                  inventory=inventory, options=options)
            except PlanError as exc:
                problems = exc.problems
                if owner == "galaxyproject.galaxy":
                    problems = [mapping.renamed(p) for p in problems]
                raise _fail(problems) from None
        result.update(changed=False, plan=plan, summary=summary_lines(plan), config_owner=owner)
        if plan["warnings"]:
            result["warnings"] = list(plan["warnings"])
        return result

    def _job_file(self, ref: FileRef, galaxy: dict, hostvars: dict, args: dict, task_vars: dict, scratch: str,
                  out: Collector) -> None:
        """Read the job configuration file the role installs (a template rendered with its host's variables)."""
        folders = [args.get("config_dir"), (hostvars.get(ref.host) or {}).get("inventory_dir"),
                   task_vars.get("playbook_dir")]
        kind = "templates" if ref.template else "files"
        candidates = [ref.src] if os.path.isabs(ref.src) else [
            os.path.join(folder, sub, ref.src) for folder in folders if folder for sub in ("", kind)]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None:
            out.error(INVENTORY, f"{ref.variable}.src", f"{ref.src} (the job configuration, installed to {ref.dest}) "
                      "is not found on the controller in fleet_config_dir, the inventory's folder or the playbook's "
                      "folder: set fleet_config_dir to the folder of the playbook that runs galaxyproject.galaxy",
                      ref.host)
            return
        path = found
        if ref.template:
            try:
                from ansible.template import trust_as_template  # pylint: disable=import-outside-toplevel
                with open(found, encoding="utf-8") as handle:
                    text = handle.read()
                templar = self._templar.copy_with_new_env(available_variables=hostvars_of(task_vars, ref.host))
                rendered = templar.template(trust_as_template(text))
            except Exception as exc:  # pylint: disable=broad-except
                out.error(INVENTORY, f"{ref.variable}.src", f"{found} cannot be rendered on the controller: {exc}",
                          ref.host)
                return
            name = os.path.basename(ref.dest)
            path = os.path.join(scratch, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(rendered))
        galaxy["job_config_file"] = path


def hostvars_of(task_vars: dict, host: str) -> Any:
    """The variables a template of ``host`` is rendered with."""
    try:
        found = task_vars["hostvars"][host]
    except (KeyError, TypeError):
        return task_vars
    # hostvars hand out a read-only view that templates on access; the templar wants its variables
    raw = getattr(found, "_vars", None)
    return raw if isinstance(raw, Mapping) else dict(found)
