# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.fleet_status (the status playbook)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_status
short_description: Merge every host's galaxy_status answer against the cluster plan into the fleet's status
version_added: 0.1.0
description:
  - One row per planned process (host, unit, service, server name, state, main PID, uptime, memory and its limit,
    health), a row per running Galaxy unit the plan lacks, the problems (the status playbook fails on them), the
    warnings, the Galaxy versions seen and the table as lines for the play output.
  - A host without an answer (unreachable, failed, not in the play) has each of its planned processes as a problem.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: raw
    required: true
  hosts:
    description: The hosts whose answers to read (C(ansible_play_hosts_all)).
    type: list
    elements: str
    required: true
  var:
    description: The registered variable of M(galaxyops.fleet.galaxy_status) on each host.
    type: str
    default: __status_host
"""

EXAMPLES = r"""
- name: Merge the answers
  ansible.builtin.set_fact:
    fleet_status: "{{ fleet_plan | galaxyops.fleet.fleet_status(hostvars, ansible_play_hosts_all) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: C(ok), C(rows), C(problems), C(warnings), C(versions), C(health) (HOST/UNIT -> ok, warning, failed), C(lines).
  type: dict
"""

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.fleet_status import merge


def _fleet_status(plan, hostvars, hosts, var="__status_host"):
    results = {}
    for host in hosts:
        try:
            results[host] = hostvars[host][var]
        except KeyError:
            continue
    return merge(plan, results).as_dict()


class FilterModule:
    """galaxyops.fleet.fleet_status"""

    def filters(self):
        return {"fleet_status": _fleet_status}
