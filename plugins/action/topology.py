# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin galaxyops.fleet.topology: compute the cluster plan on the controller."""

from __future__ import annotations

from typing import Any

import yaml

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import PlanError
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_summary import summary_lines
from ansible_collections.galaxyops.fleet.plugins.modules.topology import DOCUMENTATION

HOST_VARS = ("fleet_gravity", "fleet_gravity_instances", "fleet_address", "ansible_host",
             "fleet_static_handlers", "fleet_celery_beat")
ARGUMENT_SPEC = spec_from_doc(yaml.safe_load(DOCUMENTATION)["options"])


def _plain(value: Any) -> Any:
    """Plain Python containers (hostvars may hand out lazy or tagged ones)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


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
            required_one_of=[("galaxy_config_file", "galaxy_config", "gravity_config_file")],
        )
        groups = {name: list(members) for name, members in (task_vars.get("groups") or {}).items()}
        hostvars_in = task_vars.get("hostvars") or {}
        hostvars = {}
        for host in groups.get("all", []):
            try:
                host_vars = hostvars_in[host]
            except KeyError:
                continue
            picked = {}
            for key in HOST_VARS:
                if key in host_vars:
                    picked[key] = _plain(host_vars[key])
            hostvars[host] = picked
        options = {k: v for k, v in args.items() if k not in ("galaxy_config_file", "galaxy_config")}
        try:
            plan = build_plan(
                galaxy_config_file=args.get("galaxy_config_file"),
                galaxy_config=_plain(args["galaxy_config"]) if args.get("galaxy_config") is not None else None,
                inventory={"groups": groups, "hostvars": hostvars},
                options=options,
            )
        except PlanError as exc:
            lines = [str(p) for p in exc.problems]
            raise AnsibleActionFail(
                f"the cluster plan has {len(lines)} problem(s):\n" + "\n".join(lines),
                result={"problems": [p.as_dict() for p in exc.problems]},
            ) from None
        result.update(changed=False, plan=plan, summary=summary_lines(plan))
        if plan["warnings"]:
            result["warnings"] = list(plan["warnings"])
        return result
