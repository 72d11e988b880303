# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the galaxyops.fleet.galaxy_restart_event action (the code is plugins/action/galaxy_restart_event.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_restart_event
short_description: Append points of a rolling restart to the fact galaxy_restart_events, for a timeline
version_added: 0.1.0
description:
  - Appends to the fact C(galaxy_restart_events) one event per process of O(processes) with kind O(kind) and the
    controller's epoch time now, and the events recorded by the M(galaxyops.fleet.galaxy_restart_lane) results of
    O(lanes) (with their hosts' times).
  - The fact is a host fact (as from a module); do not also set C(galaxy_restart_events) with
    M(ansible.builtin.set_fact), which would hide it.
  - Used by role C(galaxyops.fleet.galaxy_restart) at each point of a web step (drain, stop, start, ready, undrain)
    and when it collects the lanes. Runs on the controller only and never connects to a host.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  kind:
    description: What happened now to O(processes).
    type: str
    choices: [drain, stop, start, ready, undrain]
  processes:
    description: Processes, each with C(id) (C(HOST/UNIT)), C(host) and C(unit).
    type: list
    elements: dict
    default: []
  reset:
    description: Start the list anew (the role does at the start of a restart) before appending.
    type: bool
    default: false
  lanes:
    description: Results of M(galaxyops.fleet.galaxy_restart_lane) (from C(async_status)) whose C(events) to append.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only sets a fact.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Note that web1's first gunicorn answers
  galaxyops.fleet.galaxy_restart_event:
    kind: ready
    processes: [{id: web1/galaxy-gunicorn@0.service, host: web1, unit: galaxy-gunicorn@0.service}]
"""

RETURN = r"""
ansible_facts:
  description: C(galaxy_restart_events), every event so far (C(id), C(host), C(unit), C(kind), C(time) in epoch seconds).
  returned: always
  type: dict
  sample: {galaxy_restart_events: [{id: web1/galaxy-gunicorn@0.service, host: web1, unit: galaxy-gunicorn@0.service,
           kind: ready, time: 1796185722.948}]}
"""
