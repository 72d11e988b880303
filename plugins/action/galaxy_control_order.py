# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin galaxyops.fleet.galaxy_control_order: what the control playbook does, on the controller."""

from __future__ import annotations

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.galaxyops.fleet.plugins.action.topology import _plain
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules.galaxy_control_order import DOCUMENTATION
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import control as ctl
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_order as ro

ARGUMENT_SPEC = spec_from_doc(yaml.safe_load(DOCUMENTATION)["options"])


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        # "-e control_hosts='web1, web2'" arrives as one string, which the list type splits at the commas
        given = {k: tuple(n.strip() for n in args[k] if n.strip()) for k in ("hosts", "services", "units")}
        active = _plain(args["active"]) if args["active"] is not None else None
        held = _plain(args["held"]) if args["held"] is not None else None
        order = ctl.control(_plain(args["plan"]), args["action"], ro.Limits(**given), args["allow_downtime"],
                            active, held)
        result.update(changed=False, limits={k: list(v) for k, v in given.items()}, **order.to_dict())
        return result
