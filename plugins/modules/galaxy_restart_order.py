# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the galaxyops.fleet.galaxy_restart_order action (the code is plugins/action/galaxy_restart_order.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_restart_order
short_description: The order of a rolling restart of a Galaxy fleet, from the cluster plan and limits
version_added: 0.1.0
description:
  - Selects the processes of the cluster plan that the limits let through (hosts, services, units or unit files;
    a process must pass every limit) and orders them as role C(galaxyops.fleet.galaxy_restart) restarts them.
  - "Gunicorns: web hosts in batches of O(web_batch); step k of a batch takes the k-th gunicorn of each of its
    hosts. Handlers: in waves holding at most O(handler_batch) processes of any pool (dynamic handlers: their
    pools; static handlers: their tags). celery, celery-beat, tusd, gx-it-proxy, reports: one at a time."
  - Reports, without failing, the problems the role refuses to run with (RV(problems)), each with its message.
  - Runs on the controller only and never connects to a host.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  plan:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  hosts:
    description: Restart only processes on these inventory hosts (empty, every host).
    type: list
    elements: str
    default: []
  services:
    description:
      - Restart only these services (empty, every service). Service types of the plan (V(gunicorn), V(celery),
        V(celery-beat), V(tusd), V(gx-it-proxy), V(reports)), V(handlers) for every handler, or a handler key.
    type: list
    elements: str
    default: []
  units:
    description:
      - Restart only these units, as C(UNIT) (on any host) or C(HOST/UNIT) (empty, every unit unless
        O(units_exact)). A unit file name (C(galaxy-gunicorn@.service)) stands for all its instances.
    type: list
    elements: str
    default: []
  units_exact:
    description: O(units) is exactly what to restart; an empty list selects nothing.
    type: bool
    default: false
  web_batch:
    description: Web hosts restarted at the same time (each one gunicorn at a time).
    type: int
    default: 1
  max_unavailable:
    description:
      - "Gunicorns of one upstream restarted at the same time, a count (V(2)) or a percentage of each upstream's
        members (V(25%), rounded down, at least 1). The web steps then take, per upstream, that many members spread
        over its hosts (the first gunicorn of each host, then the second, ...), in ceil(members / max_unavailable) steps."
      - Empty, web hosts in batches of O(web_batch) (the older setting, kept).
      - A value that would take every member of an upstream out at once is a RV(problems) C(downtime) unless
        O(allow_downtime).
    type: str
    default: ""
  lanes:
    description:
      - V(parallel), the handler lanes and the service lanes (RV(lanes)) run beside the web steps; V(serial), after them.
    type: str
    choices: [parallel, serial]
    default: parallel
  handler_batch:
    description: Handler processes of one pool restarted at the same time.
    type: int
    default: 1
  start_stopped:
    description: Selected gunicorns that do not answer in O(health) are started first instead of refusing to run.
    type: bool
    default: false
  allow_downtime:
    description: Allow restarting an upstream's only gunicorn, or every gunicorn of an upstream in one step.
    type: bool
    default: false
  drain_timeout:
    description: Seconds the role waits for the requests in flight to a drained gunicorn (checked not negative).
    type: float
    default: 60
  ready_timeout:
    description: Seconds a gunicorn may take to answer after its restart when the plan gives it no C(restart_timeout).
    type: float
    default: 300
  poll_interval:
    description: Seconds between two checks while waiting (checked positive).
    type: float
    default: 0.5
  request_timeout:
    description: Seconds one health request may take.
    type: float
    default: 5
  handler_ready_message:
    description: Journal line that tells a handler is ready; C({name}) is its server name.
    type: str
    default: "Galaxy server instance '{name}' is running"
  celery_ready_message:
    description: Journal text that tells a celery worker is ready.
    type: str
    default: " ready."
  health:
    description:
      - The preflight health checks, per proxy host (C(proxy -> checks) of M(galaxyops.fleet.galaxy_health) over
        RV(preflight)). Gunicorns that did not answer from a proxy are started first or refuse the restart.
      - Without it, every selected gunicorn rolls.
    type: dict
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Computes the order and never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Compute the order of the rolling restart of web2
  galaxyops.fleet.galaxy_restart_order:
    plan: "{{ fleet_plan }}"
    hosts: [web2]
  register: order

- name: Show it
  ansible.builtin.debug:
    msg: "{{ order.lines }}"
"""

RETURN = r"""
selected:
  description: C(HOST/UNIT) of every selected process.
  returned: always
  type: list
  elements: str
preflight:
  description: Health check targets of every gunicorn of the plan, for M(galaxyops.fleet.galaxy_health).
  returned: always
  type: list
  elements: dict
  sample: [{id: web1/galaxy-gunicorn@0.service, url: "http://web1:8080/api/version"}]
problems:
  description: C(limits), C(downtime), C(unhealthy) - the message of each problem, or null.
  returned: always
  type: dict
unhealthy:
  description: Gunicorns that did not answer in O(health).
  returned: always
  type: list
  elements: str
to_start:
  description: Selected gunicorns that did not answer, started first (members, with C(id), C(host), C(unit)).
  returned: always
  type: list
  elements: dict
start_check:
  description: The health request (C(targets), C(deadline)) for RV(to_start).
  returned: always
  type: dict
steps:
  description: Gunicorn steps in order, each with C(members), C(ids), C(next_ids), C(drain_first), C(check).
  returned: always
  type: list
  elements: dict
waves:
  description: Handler waves in order, each with C(processes), C(ids) and C(checks) (per host, the journal checks).
  returned: always
  type: list
  elements: dict
services:
  description: Other services in order, each with C(process), C(state), C(journal) and C(port) (or null).
  returned: always
  type: list
  elements: dict
ids:
  description: C(HOST/UNIT) of everything to restart, in order.
  returned: always
  type: list
  elements: str
lines:
  description: The order, one line per step.
  returned: always
  type: list
  elements: str
  sample: ["gunicorn: web1/galaxy-gunicorn@0.service", "handlers: handlers1/galaxy-handler@0.service"]
local_warning:
  description: The warning when handlers to restart may run jobs in Galaxy's local runner, or null.
  returned: always
  type: str
lanes:
  description:
    - What a handler or service host restarts by itself with M(galaxyops.fleet.galaxy_restart_lane), each with
      C(id), C(host), C(kind) (V(handlers) or V(services)), C(steps) (C(ids) and C(units), restarted together),
      C(stop_file) and C(ids). Handlers of pools that have handlers on several hosts are in RV(foreground_waves) instead.
  returned: always
  type: list
  elements: dict
foreground_waves:
  description: The handler waves that stay in step across hosts, as RV(waves), run after the web steps.
  returned: always
  type: list
  elements: dict
ready:
  description:
    - What the fleet serving means, whatever the limits; the site playbook waits for it before it returns.
    - C(web), the health request (C(targets), C(deadline)) of every gunicorn of the plan; C(handlers), per
      host (C(host), C(units)) the journal checks of every job handler of the plan; C(ids), all of them.
  returned: always
  type: dict
"""
