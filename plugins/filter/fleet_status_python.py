# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.fleet_status_python (the status playbook)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_status_python
short_description: The Python to run galaxyops.fleet.galaxy_status with on a host
version_added: 0.1.0
description:
  - On a host where the plan runs job handlers, the O(override) when given, else the virtualenv Python of their Galaxy
    instance (its psycopg and PyYAML read Galaxy's database).
  - On any other host, null (the host's usual interpreter).
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  host:
    description: The host.
    type: str
    required: true
  override:
    description: The Python to use on hosts with job handlers instead of the virtualenv's.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Choose the Python of galaxy_status
  ansible.builtin.set_fact:
    status_python: "{{ fleet_plan | galaxyops.fleet.fleet_status_python(inventory_hostname) or 'auto_silent' }}"
"""

RETURN = r"""
_value:
  description: A path to a Python, or null.
  type: str
"""


def _fleet_status_python(plan, host, override=""):
    """The Python to run galaxy_status with on a host: on a host with job handlers, the override, else the virtualenv of an instance whose
    job handlers run there (its psycopg reads Galaxy's database), else the host's usual interpreter (None)."""
    units = ((plan.get("hosts") or {}).get(host) or {}).get("units") or {}
    for unit in units.values():
        if unit.get("service_type") == "standalone":
            venv = ((plan.get("instances") or {}).get(unit.get("instance_name")) or {}).get("virtualenv")
            if override or venv:
                return override or venv.rstrip("/") + "/bin/python"
    return None


class FilterModule:
    """galaxyops.fleet.fleet_status_python"""

    def filters(self):
        return {"fleet_status_python": _fleet_status_python}
