# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin galaxyops.fleet.galaxy_restart_event: points of a rolling restart, appended to a fact."""

from __future__ import annotations

import time

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.galaxyops.fleet.plugins.action.topology import _plain
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules.galaxy_restart_event import DOCUMENTATION
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_lanes as rl

ARGUMENT_SPEC = spec_from_doc(yaml.safe_load(DOCUMENTATION)["options"])
FACT = "galaxy_restart_events"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        so_far = [] if args["reset"] else list(_plain(task_vars.get(FACT) or []))
        new = rl.events(args["kind"], _plain(args["processes"]), time.time()) if args["kind"] else []
        result.update(changed=False, ansible_facts={FACT: so_far + new + rl.lane_events(_plain(args["lanes"]))})
        return result
