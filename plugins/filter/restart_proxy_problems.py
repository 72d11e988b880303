# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.restart_proxy_problems (role galaxy_restart's preflight)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: restart_proxy_problems
short_description: Why the proxies of a rolling restart cannot all take part, or an empty string
version_added: 0.1.0
description:
  - For each proxy host of the play (O(_input), C(ansible_play_hosts_all)), reads its preflight results from
    O(hostvars) (the health check registered as O(health_var), the nginx test as O(nginx_test_var)) and whether it
    is still in the play (O(active), C(ansible_play_hosts)).
  - Returns the refusal naming every proxy that is unreachable, failed in the preflight, or whose nginx
    configuration does not pass its test (with what was seen); an empty string when every proxy can take part.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: Every proxy host of the play.
    type: list
    elements: str
    required: true
  hostvars:
    description: Ansible's C(hostvars).
    type: dict
    required: true
  active:
    description: The hosts still in the play.
    type: list
    elements: str
    required: true
  health_var:
    description: The variable the health check was registered as.
    type: str
    default: __galaxy_restart_preflight
  nginx_test_var:
    description: The variable the nginx test was registered as.
    type: str
    default: __galaxy_restart_nginx_test
"""

EXAMPLES = r"""
- name: Refuse unless every proxy can take part
  ansible.builtin.fail:
    msg: "{{ ansible_play_hosts_all | galaxyops.fleet.restart_proxy_problems(hostvars, ansible_play_hosts) }}"
  when: ansible_play_hosts_all | galaxyops.fleet.restart_proxy_problems(hostvars, ansible_play_hosts) | length > 0
"""

RETURN = r"""
_value:
  description: The refusal (one line naming each proxy and what was seen), or an empty string.
  type: str
"""

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.proxy_preflight import ProxyResult, proxy_problems


def _registered(hostvars, host, name):
    """A host's registered result, or None when the host never got that far."""
    try:
        value = hostvars[host].get(name)
    except KeyError:
        return None
    return dict(value) if value is not None else None


def _restart_proxy_problems(hosts, hostvars, active, health_var="__galaxy_restart_preflight",
                            nginx_test_var="__galaxy_restart_nginx_test"):
    alive = set(active)
    return proxy_problems([ProxyResult(host=h, active=h in alive, health=_registered(hostvars, h, health_var),
                                       nginx_test=_registered(hostvars, h, nginx_test_var)) for h in hosts]) or ""


class FilterModule:
    """galaxyops.fleet's rolling restart filters."""

    def filters(self):
        return {"restart_proxy_problems": _restart_proxy_problems}
