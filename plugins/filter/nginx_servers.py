# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.nginx_servers (role galaxy_nginx's server blocks)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: nginx_servers
short_description: The nginx server block settings of each Galaxy instance of the plan
version_added: 0.1.0
description:
  - Per Galaxy instance with gunicorns (sorted by name), C(listen), C(server_name), C(extra) and C(static_dir) of its
    server block, from
    its entry of O(servers) over O(listen) and O(server_name).
  - Fails when a listen is not a list, O(servers) names an instance the plan does not have, there are several
    instances and one has no entry in O(servers), or two entries share listen values and server name.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  servers:
    description: Per instance name, C(listen), C(server_name), C(extra) (role galaxy_nginx's C(galaxy_nginx_servers)).
    type: dict
    default: {}
  listen:
    description: Default C(listen) values.
    type: list
    elements: str
    default: ['80']
  server_name:
    description: Default C(server_name).
    type: str
    default: _
  static_dir:
    description: Where every instance's static files are; empty for each instance's C(<galaxy_root>/static).
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: The server block of each instance
  ansible.builtin.set_fact:
    servers: "{{ fleet_plan | galaxyops.fleet.nginx_servers(servers={}, listen=['80'], server_name='_') }}"
"""

RETURN = r"""
_value:
  description: Per instance name, C(listen) (list), C(server_name), C(extra) and C(static_dir).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.nginx_servers import ServersError, nginx_servers


def _nginx_servers(plan, servers=None, listen=None, server_name="_", static_dir=""):
    try:
        return nginx_servers(plan, servers, ["80"] if listen is None else listen, server_name, static_dir)
    except ServersError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """galaxyops.fleet's nginx filters."""

    def filters(self):
        return {"nginx_servers": _nginx_servers}
