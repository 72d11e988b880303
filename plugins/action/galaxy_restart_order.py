# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin galaxyops.fleet.galaxy_restart_order: the order of a rolling restart, on the controller."""

from __future__ import annotations

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.galaxyops.fleet.plugins.action.topology import _plain
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules.galaxy_restart_order import DOCUMENTATION
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_order as ro

ARGUMENT_SPEC = spec_from_doc(yaml.safe_load(DOCUMENTATION)["options"])
LIMITS = ("hosts", "services", "units")
SETTINGS = ("web_batch", "max_unavailable", "lanes", "handler_batch", "drain_timeout", "ready_timeout", "poll_interval", "request_timeout",
            "handler_ready_message", "celery_ready_message", "allow_downtime", "start_stopped")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        limits = ro.Limits(units_exact=args["units_exact"], **{k: tuple(args[k]) for k in LIMITS})
        settings = ro.Settings(**{k: args[k] for k in SETTINGS})
        health = _plain(args["health"]) if args["health"] is not None else None
        order = ro.restart_order(_plain(args["plan"]), limits, settings, health)
        result.update(changed=False, **order.to_dict())
        return result
