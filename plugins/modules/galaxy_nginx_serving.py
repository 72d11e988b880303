# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether nginx serves a site already, so whether a new sandbox may restart it (galaxyops.fleet.galaxy_nginx_serving)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_nginx_serving
short_description: Tell whether nginx serves a site already, and so whether a new sandbox may restart it now
version_added: 0.1.0
description:
  - Reads whether O(service) is active, the enabled configuration files (O(include)) and the checksums dpkg
    recorded for the configuration its packages (O(packages)) ship. A file whose content is the shipped one
    (Debian's welcome page) serves nothing of the admin's; every other file serves a site.
  - Returns whether the C(galaxyops.fleet.galaxy_nginx) role may restart nginx now to apply a new sandbox
    (RV(restart)) under O(policy) V(auto) only when nginx is not running or serves nothing but what its
    package shipped (a first deploy), never when it serves a site (a take-over from an nginx written by hand,
    or a changed sandbox on a running fleet), since a restart refuses connections for a moment.
  - Reads only; changes nothing. Without dpkg (not Debian), no file counts as shipped.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  policy:
    description:
      - V(auto) restarts only an nginx that serves no site yet, V(always) restarts anyway, V(never) leaves
        the sandbox for nginx's next restart.
    type: str
    choices: [auto, always, never]
    default: auto
  service:
    description: The systemd unit of nginx.
    type: str
    default: nginx.service
  include:
    description: Glob patterns of the enabled configuration files.
    type: list
    elements: str
    default: [/etc/nginx/sites-enabled/*, /etc/nginx/conf.d/*.conf]
  packages:
    description: The packages whose shipped configuration files do not count as a site.
    type: list
    elements: str
    default: [nginx-common, nginx]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: It changes nothing.
"""

EXAMPLES = r"""
- name: Tell whether nginx serves a site already
  galaxyops.fleet.galaxy_nginx_serving:
    policy: auto
  register: serving

- name: Say why nginx keeps its old sandbox
  ansible.builtin.debug:
    msg: "{{ serving.reason }}"
  when: not serving.restart
"""

RETURN = r"""
active:
  description: Whether O(service) is active.
  returned: always
  type: bool
  sample: true
serving:
  description: The enabled configuration files that serve a site (all but those shipped as they are).
  returned: always
  type: list
  elements: str
  sample: [/etc/nginx/sites-enabled/default]
restart:
  description: Whether a new sandbox may restart nginx now.
  returned: always
  type: bool
  sample: false
reason:
  description: Why, in one sentence for the play's output.
  returned: always
  type: str
  sample: "nginx serves /etc/nginx/sites-enabled/default now and a restart would refuse connections for a moment: ..."
"""

import glob
import hashlib
import os
from dataclasses import asdict

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import nginx_serving

# Spelled out, not read from DOCUMENTATION: proxy hosts may have no PyYAML (the unit test and
# validate-modules check that both agree).
ARGUMENT_SPEC = {
    "policy": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
    "service": {"type": "str", "default": "nginx.service"},
    "include": {"type": "list", "elements": "str", "default": ["/etc/nginx/sites-enabled/*", "/etc/nginx/conf.d/*.conf"]},
    "packages": {"type": "list", "elements": "str", "default": ["nginx-common", "nginx"]},
}


def md5_of(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()  # dpkg's conffile checksum, not for security
    except OSError:
        return ""  # a dangling link serves nothing, but is not the shipped file either


def shipped(module: AnsibleModule) -> dict[str, str]:
    dpkg = module.get_bin_path("dpkg-query")
    if not dpkg:
        return {}
    sums: dict[str, str] = {}
    for package in module.params["packages"]:
        rc, out, _err = module.run_command([dpkg, "-W", "-f=${Conffiles}\n", package])
        if rc == 0:
            sums.update(nginx_serving.shipped_sums(out))
    return sums


def sites(module: AnsibleModule, sums: dict[str, str]) -> list[nginx_serving.Site]:
    paths = sorted({p for pattern in module.params["include"] for p in glob.glob(pattern)})
    return [nginx_serving.site(p, os.path.realpath(p), md5_of(p), sums) for p in paths if not os.path.isdir(p)]


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, _out, _err = module.run_command([systemctl, "is-active", "--quiet", module.params["service"]])
    found = nginx_serving.verdict(rc == 0, sites(module, shipped(module)), module.params["policy"])
    module.exit_json(changed=False, **asdict(found))


if __name__ == "__main__":
    main()
