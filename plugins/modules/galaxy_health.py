# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until Galaxy gunicorns answer or units log that they are ready (galaxyops.fleet.galaxy_health)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_health
short_description: Wait until Galaxy gunicorns answer, or Galaxy units log that they are ready
version_added: 0.1.0
description:
  - With O(targets), asks each gunicorn for Galaxy's version (C(GET /api/version), over TCP or a unix socket)
    until it answers 200 with JSON carrying C(version_major).
  - With O(units), waits until the journal of each unit's current run (its systemd C(InvocationID)) contains
    its text (a handler's C(Galaxy server instance 'NAME' is running), a celery worker's C( ready.)).
  - Every check is repeated every O(interval) seconds until it passed once or O(deadline) seconds passed
    (O(deadline=0), one try each). Fails when a check did not pass, with what each check saw.
  - Used by role C(galaxyops.fleet.galaxy_restart) on the proxy hosts (health) and the Galaxy hosts (journal).
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  targets:
    description: Gunicorns to ask, each with C(id) and either C(url) or C(socket) (and C(path)).
    type: list
    elements: dict
    suboptions:
      id:
        description: How the target is named in the result (C(HOST/UNIT)).
        type: str
        required: true
      url:
        description: The URL to GET (C(http://web1:8080/api/version)).
        type: str
      socket:
        description: A unix socket to send the request to, instead of O(targets[].url).
        type: path
      path:
        description: The path to GET over O(targets[].socket).
        type: str
        default: /api/version
  units:
    description: Units whose journal to read, each with C(id), C(unit) and C(text).
    type: list
    elements: dict
    suboptions:
      id:
        description: How the unit is named in the result (C(HOST/UNIT)).
        type: str
        required: true
      unit:
        description: The systemd unit.
        type: str
        required: true
      text:
        description: Text a line of the unit's current run must contain.
        type: str
        required: true
  deadline:
    description: Seconds to keep checking; V(0) checks each once.
    type: float
    default: 0
  interval:
    description: Seconds between two rounds of checks.
    type: float
    default: 1
  timeout:
    description: Seconds one health request may take.
    type: float
    default: 5
  seen_from:
    description: Where the checks are made, for RV(failures) (C(web2/galaxy-gunicorn@0.service seen from proxy1)).
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only reads (HTTP requests, C(systemctl show), C(journalctl)); runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: Changes nothing.
notes:
  - Exactly one of O(targets) and O(units).
"""

EXAMPLES = r"""
- name: Wait up to 60 s until web1's gunicorn answers from this proxy
  galaxyops.fleet.galaxy_health:
    targets: [{id: web1/galaxy-gunicorn@0.service, url: "http://web1:8080/api/version"}]
    deadline: 60
    interval: 0.5
    seen_from: "{{ inventory_hostname }}"

- name: Wait until handler_0 logs that it runs
  galaxyops.fleet.galaxy_health:
    units: [{id: handlers1/galaxy-handler@0.service, unit: galaxy-handler@0.service,
             text: "Galaxy server instance 'handler_0' is running"}]
    deadline: 300
"""

RETURN = r"""
checks:
  description: Per C(id), the last check - C(ok), C(seen) (what was seen) and C(after_s) (seconds since the start).
  returned: always
  type: dict
  sample: {web1/galaxy-gunicorn@0.service: {ok: true, seen: version_major 26.1, after_s: 3.52}}
ok:
  description: Whether every check passed.
  returned: always
  type: bool
failures:
  description: One line per check that did not pass.
  returned: always
  type: list
  elements: str
  sample: ["web2/galaxy-gunicorn@0.service seen from proxy1: ConnectionRefusedError: [Errno 111] Connection refused (after 9.01 s)"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import health

# Spelled out, not read from DOCUMENTATION: proxy hosts may have no PyYAML (ansible-test's
# validate-modules checks that both agree).
ARGUMENT_SPEC = {
    "targets": {"type": "list", "elements": "dict", "options": {
        "id": {"type": "str", "required": True},
        "url": {"type": "str"},
        "socket": {"type": "path"},
        "path": {"type": "str", "default": "/api/version"},
    }},
    "units": {"type": "list", "elements": "dict", "options": {
        "id": {"type": "str", "required": True},
        "unit": {"type": "str", "required": True},
        "text": {"type": "str", "required": True},
    }},
    "deadline": {"type": "float", "default": 0},
    "interval": {"type": "float", "default": 1},
    "timeout": {"type": "float", "default": 5},
    "seen_from": {"type": "str"},
}


def run(module: AnsibleModule) -> dict:
    p = module.params

    def command(argv: list[str]) -> str:
        return module.run_command(argv, check_rc=False)[1]

    if p["targets"] is not None:
        items = {t["id"]: t for t in p["targets"]}
        checks = health.poll(items, lambda target: health.probe(target, p["timeout"]), p["deadline"], p["interval"])
    else:
        items = {u["id"]: u for u in p["units"]}
        checks = health.poll(items, lambda unit: health.logged(unit, command), p["deadline"], p["interval"])
    lines = health.failures(checks, p["seen_from"])
    return {
        "changed": False,
        "checks": {check_id: c.as_dict() for check_id, c in sorted(checks.items())},
        "ok": not lines,
        "failures": lines,
        "msg": "; ".join(lines) or f"{len(checks)} check(s) passed",
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("targets", "units")],
        required_one_of=[("targets", "units")],
        supports_check_mode=True,
    )
    result = run(module)
    if not result["ok"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
