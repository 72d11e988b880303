# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.plan_dot (the plan playbook's picture)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: plan_dot
short_description: The cluster plan drawn as a Graphviz (DOT) picture
version_added: 0.1.0
description:
  - Each host as a box of its processes (unit, server name, bind), each proxy's nginx pointing at the upstream of every
    Galaxy instance and the upstream at its gunicorns (with the address nginx uses), job handlers under the pools and
    static tags they serve.
  - C(dot -Tsvg) (Graphviz) turns it into SVG; the plan playbook does with C(-e plan_svg=PATH).
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  title:
    description: The picture's title.
    type: str
    default: Galaxy fleet
  health:
    description:
      - Per C(HOST/UNIT), V(ok), V(warning) or V(failed), as the filter C(galaxyops.fleet.fleet_status) gives them in
        C(health). Each process is then filled by its health instead of its service type.
      - Without it, the plan's picture as it is.
    type: dict
"""

EXAMPLES = r"""
- name: Write the plan as a DOT file
  ansible.builtin.copy:
    content: "{{ fleet_plan | galaxyops.fleet.plan_dot(title='usegalaxy.example') }}"
    dest: /tmp/fleet.dot
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The DOT text of one digraph.
  type: str
"""

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_graph import dot


def _plan_dot(plan, title="Galaxy fleet", health=None):
    return dot(plan, title, health)


class FilterModule:
    """galaxyops.fleet.plan_dot"""

    def filters(self):
        return {"plan_dot": _plan_dot}
