# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the galaxyops.fleet.galaxy_control_order action (the code is plugins/action/galaxy_control_order.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_control_order
short_description: What to start or stop in a Galaxy fleet, from the cluster plan, limits and unit states
version_added: 0.1.0
description:
  - Selects the processes of the cluster plan that the limits let through, as M(galaxyops.fleet.galaxy_restart_order)
    does (hosts, services, units or unit files; a process must pass every limit).
  - Without O(active), returns the selection and RV(probe), the units to ask C(systemctl is-active) about on each host.
  - "With O(active): for O(action=stop), the gunicorns to take out of nginx first (every selected one), the running
    processes to stop, the job handlers whose jobs to report, and the refusal when a stop would leave an upstream or
    a handler pool with no running process (unless O(allow_downtime)); for O(action=start), the processes that do
    not run, the health request of every selected gunicorn and the gunicorns to put back into nginx."
  - O(action=restart) only checks the limits (the rolling restart orders itself).
  - Reports, without failing, the problems the playbook refuses to run with (RV(problems)).
  - Runs on the controller only and never connects to a host.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  plan:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  action:
    description: What to do; without it, only the selection (RV(units_by_host), RV(selected)).
    type: str
  hosts:
    description: Only processes on these inventory hosts (empty, every host).
    type: list
    elements: str
    default: []
  services:
    description:
      - Only these services (empty, every service). Service types of the plan (V(gunicorn), V(celery),
        V(celery-beat), V(tusd), V(gx-it-proxy), V(reports)), V(handlers) for every handler, or a handler key.
    type: list
    elements: str
    default: []
  units:
    description:
      - Only these units, as C(UNIT) (on any host) or C(HOST/UNIT) (empty, every unit). A unit file name
        (C(galaxy-gunicorn@.service)) stands for all its instances.
    type: list
    elements: str
    default: []
  allow_downtime:
    description: Allow stopping the last running gunicorn of an upstream or the last running handler of a pool.
    type: bool
    default: false
  active:
    description:
      - Per host of RV(probe), the lines C(systemctl is-active) printed for its units, in the same order.
    type: dict
  held:
    description:
      - For each entry of RV(handler_jobs), in order, the RV(galaxyops.fleet.galaxy_handler_jobs#module:jobs) it
        found; RV(held_lines) says which jobs each handler holds.
    type: list
    elements: list
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Computes the decision and never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Decide how to stop web2's gunicorns
  galaxyops.fleet.galaxy_control_order:
    plan: "{{ fleet_plan }}"
    action: stop
    hosts: [web2]
    services: [gunicorn]
    active: {web1: [active, active], web2: [active, active, active]}
  register: control
"""

RETURN = r"""
action:
  description: O(action).
  returned: always
  type: str
selected:
  description: C(HOST/UNIT) of every selected process.
  returned: always
  type: list
  elements: str
units_by_host:
  description: The selected units per host.
  returned: always
  type: dict
  sample: {web1: [galaxy-gunicorn@0.service]}
probe:
  description: Every planned unit per host (C(host), C(units)), for C(systemctl is-active).
  returned: always
  type: list
  elements: dict
problems:
  description: C(limits), C(downtime), C(action) - the message of each problem, or null.
  returned: always
  type: dict
items:
  description: Per selected process C(id), C(host), C(unit), C(service_type), C(state) and what it C(does).
  returned: always
  type: list
  elements: dict
drain:
  description: Gunicorns to take out of nginx before anything stops (C(HOST/UNIT)).
  returned: always
  type: list
  elements: str
stop:
  description: Running processes to stop (C(id), C(host), C(unit)).
  returned: always
  type: list
  elements: dict
start:
  description: Processes that do not run, to start (C(id), C(host), C(unit)).
  returned: always
  type: list
  elements: dict
health:
  description: The galaxy_health request (C(targets), C(deadline)) of every selected gunicorn, for O(action=start).
  returned: always
  type: dict
undrain:
  description: Gunicorns to put back into nginx once they answer.
  returned: always
  type: list
  elements: str
limits:
  description: The limits as lists (C(hosts), C(services), C(units)), names trimmed, for the rolling restart.
  returned: always
  type: dict
ready:
  description: Per host (C(host), C(units)), the journal checks that tell the started handlers run.
  returned: always
  type: list
  elements: dict
handler_jobs:
  description:
    - For O(action=stop), per host and Galaxy instance, the selected handlers (C(handlers)), C(galaxy_config_file)
      and C(python), for M(galaxyops.fleet.galaxy_handler_jobs) O(galaxyops.fleet.galaxy_handler_jobs#module:state=held).
  returned: always
  type: list
  elements: dict
held_lines:
  description: Which jobs each handler to stop holds (from O(held)).
  returned: always
  type: list
  elements: str
changes:
  description: Whether anything starts or stops.
  returned: always
  type: bool
lines:
  description: One line per selected process, what happens to it.
  returned: always
  type: list
  elements: str
  sample: ["web2/galaxy-gunicorn@0.service: drain from nginx, then stop"]
"""
