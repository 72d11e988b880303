# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.plan_show (the plan playbook's -e plan_show=true)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: plan_show
short_description: The Galaxy instances of the cluster plan, their configuration files, hosts and processes
version_added: 0.1.0
description:
  - C(galaxyctl list) and C(galaxyctl show) for the fleet, as text lines; per Galaxy instance its configuration file,
    job configuration, root, virtualenv, user and target, then its processes host by host.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show the instances of the plan
  ansible.builtin.debug:
    msg: "{{ fleet_plan | galaxyops.fleet.plan_show }}"
"""

RETURN = r"""
_value:
  description: The lines.
  type: list
  elements: str
"""

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_summary import show_lines


class FilterModule:
    """galaxyops.fleet.plan_show"""

    def filters(self):
        return {"plan_show": show_lines}
