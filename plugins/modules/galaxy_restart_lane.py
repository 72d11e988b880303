# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart a lane of Galaxy units on this host, step after step, each step's units together (galaxyops.fleet.galaxy_restart_lane)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_restart_lane
short_description: Restart a lane of Galaxy units on this host, the units of a step together, and record when
version_added: 0.1.0
description:
  - Runs the O(steps) in order. The units of a step restart together, in one C(systemctl restart) (units whose
    O(steps[].units[].state) is V(reloaded), in one C(systemctl reload)); then each is waited for - its journal
    text in its current run (O(steps[].units[].text), a handler's C(Galaxy server instance 'NAME' is running)),
    else its TCP port (O(steps[].units[].port)), else C(systemctl is-active). The next step starts once every unit of this one is ready.
  - The first failure ends the lane and the module fails naming the step, what was seen and what was not restarted.
    Before each step, an existing O(stop_file) ends the lane too (another part of the restart failed); the module
    removes it when it starts.
  - Records, per step, when the call began (C(stop)), returned (C(start)) and each unit was ready, and the same
    as a list of events (epoch times) for a timeline.
  - Made to run in the background (C(async), C(poll=0)) from role C(galaxyops.fleet.galaxy_restart), one lane per
    handler or service host, beside the web steps.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  lane:
    description: The lane's name in messages (C(handlers on handlers1)).
    type: str
    required: true
  host:
    description: The inventory name of this host, for RV(events).
    type: str
    required: true
  steps:
    description: The steps, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      ids:
        description: C(HOST/UNIT) of the step's units.
        type: list
        elements: str
        required: true
      units:
        description: The units restarted together.
        type: list
        elements: dict
        required: true
        suboptions:
          id:
            description: C(HOST/UNIT).
            type: str
            required: true
          unit:
            description: The systemd unit.
            type: str
            required: true
          state:
            description: Restart or reload it.
            type: str
            choices: [restarted, reloaded]
            default: restarted
          text:
            description: Text a journal line of its current run must contain once it is ready.
            type: str
          port:
            description: Without O(steps[].units[].text), a TCP port (C(host), C(port)) that must accept once it is ready.
            type: dict
  deadline:
    description: Seconds each step's units may take to be ready.
    type: float
    default: 300
  interval:
    description: Seconds between two rounds of checks.
    type: float
    default: 0.5
  stop_file:
    description: A file whose existence ends the lane before its next step.
    type: path
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Restarts nothing; reports the calls it would make.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The systemctl calls, one line each.
"""

EXAMPLES = r"""
- name: Restart handler_0 and handler_1 together, then handler_2, in the background
  galaxyops.fleet.galaxy_restart_lane:
    lane: handlers on handlers1
    host: handlers1
    steps:
      - ids: [handlers1/galaxy-handler@0.service, handlers1/galaxy-handler@1.service]
        units:
          - {id: handlers1/galaxy-handler@0.service, unit: galaxy-handler@0.service,
             text: "Galaxy server instance 'handler_0' is running"}
          - {id: handlers1/galaxy-handler@1.service, unit: galaxy-handler@1.service,
             text: "Galaxy server instance 'handler_1' is running"}
      - ids: [handlers1/galaxy-handler@2.service]
        units:
          - {id: handlers1/galaxy-handler@2.service, unit: galaxy-handler@2.service,
             text: "Galaxy server instance 'handler_2' is running"}
    stop_file: /run/galaxyops-fleet-restart-handlers.stop
  async: 3600
  poll: 0
  register: lane_job
"""

RETURN = r"""
lane:
  description: O(lane).
  returned: always
  type: str
ok:
  description: Whether every step's units restarted and were ready.
  returned: always
  type: bool
steps:
  description:
    - Per step run, C(ids), C(stop) (epoch time the systemctl call began), C(start) (when it returned),
      C(ready) (per id, when it was ready), C(ok) and C(failures).
  returned: always
  type: list
  elements: dict
events:
  description: Every point as C(id), C(host), C(unit), C(kind) (V(stop), V(start), V(ready)) and C(time) (epoch).
  returned: always
  type: list
  elements: dict
done:
  description: C(HOST/UNIT) restarted and ready.
  returned: always
  type: list
  elements: str
failed_step:
  description: The ids of the step that failed (empty when none).
  returned: always
  type: list
  elements: str
failed_what:
  description: What the failed step did not get past, V(restart) or V(not ready after restart) (empty when none).
  returned: always
  type: str
left:
  description: The ids not restarted (after the failed step, or every step after the stop file appeared).
  returned: always
  type: list
  elements: str
stopped:
  description: Whether the stop file ended the lane.
  returned: always
  type: bool
failures:
  description: What the failed step saw, one line per unit.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_lane

# Spelled out, not read from DOCUMENTATION: the hosts may have no PyYAML (ansible-test's
# validate-modules checks that both agree).
ARGUMENT_SPEC = {
    "lane": {"type": "str", "required": True},
    "host": {"type": "str", "required": True},
    "steps": {"type": "list", "elements": "dict", "required": True, "options": {
        "ids": {"type": "list", "elements": "str", "required": True},
        "units": {"type": "list", "elements": "dict", "required": True, "options": {
            "id": {"type": "str", "required": True},
            "unit": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["restarted", "reloaded"], "default": "restarted"},
            "text": {"type": "str"},
            "port": {"type": "dict"},
        }},
    }},
    "deadline": {"type": "float", "default": 300},
    "interval": {"type": "float", "default": 0.5},
    "stop_file": {"type": "path"},
}


def run(module: AnsibleModule) -> dict:
    p = module.params
    plan = restart_lane.plan_text(p["steps"])
    diff = {"before": "", "after": plan, "before_header": p["lane"], "after_header": p["lane"]}
    if module.check_mode:
        ids = [i for s in p["steps"] for i in s["ids"]]
        return {"changed": bool(ids), "lane": p["lane"], "ok": True, "steps": [], "events": [], "done": [],
                "failed_step": [], "left": ids, "stopped": False, "failures": [], "diff": diff,
                "msg": f"lane {p['lane']} would run: {plan.strip() or 'nothing'}"}
    system = restart_lane.System(run=lambda argv: module.run_command(argv, check_rc=False))
    record = restart_lane.run_lane(p["lane"], p["host"], p["steps"], p["deadline"], p["interval"], system,
                                   p["stop_file"])
    result = record.as_dict()
    result.update(changed=bool(record.steps), diff=diff, msg=record.msg)
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = run(module)
    if not result["ok"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
