# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of some Galaxy units on one host, as records (galaxyops.fleet.galaxy_journal)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_journal
short_description: Read the journal of some systemd units as records
version_added: 0.1.0
description:
  - Runs C(journalctl -o json) for O(units) and returns each entry as a record (time, unit, message, priority),
    oldest first, for the controller to merge across hosts (the C(galaxyops.fleet.logs) playbook).
  - With O(follow), keeps reading the entries that arrive for that many seconds, then returns them all.
  - Reads only; changes nothing.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  units:
    description: The units whose journal to read.
    type: list
    elements: str
    required: true
  since:
    description: Entries since this time, in C(journalctl --since) syntax (V(-1h), V(2026-12-02 04:00), V(today)).
    type: str
  grep:
    description: Only entries whose message matches this regular expression (C(journalctl --grep)).
    type: str
  lines:
    description: At most the last this many entries (before O(follow) adds new ones).
    type: int
    default: 100
  follow:
    description: Seconds to keep reading new entries after the last ones (0, do not follow).
    type: float
    default: 0
  poll_interval:
    description: Seconds between two reads while following.
    type: float
    default: 0.5
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the journal in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: It changes nothing.
"""

EXAMPLES = r"""
- name: Read the last 20 lines of two gunicorns, then follow for 10 s
  galaxyops.fleet.galaxy_journal:
    units: [galaxy-gunicorn@0.service, galaxy-gunicorn@1.service]
    lines: 20
    follow: 10
  register: journal
"""

RETURN = r"""
records:
  description: The entries, oldest first, with C(time_us) (microseconds since the epoch, UTC), C(unit), C(message),
    C(priority) (syslog level or null) and C(cursor).
  returned: always
  type: list
  elements: dict
  sample: [{time_us: 1764650000000000, unit: galaxy-gunicorn@0.service, message: Booting worker, priority: 6, cursor: "s=..."}]
"""

import time
from dataclasses import asdict

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import journal

# Spelled out, not read from DOCUMENTATION: Galaxy hosts may have no PyYAML (ansible-test's
# validate-modules checks that both agree).
ARGUMENT_SPEC = {
    "units": {"type": "list", "elements": "str", "required": True},
    "since": {"type": "str"},
    "grep": {"type": "str"},
    "lines": {"type": "int", "default": 100},
    "follow": {"type": "float", "default": 0},
    "poll_interval": {"type": "float", "default": 0.5},
}


def read(module: AnsibleModule, cmd: list[str]) -> list[str]:
    rc, out, err = module.run_command(cmd)
    # journalctl exits 1 when --grep matched nothing, with no output: that is not an error
    if rc != 0 and (out.strip() or (err.strip() and "No entries" not in err)):
        module.fail_json(msg=f"{' '.join(cmd)} failed (rc {rc}): {err.strip()}", rc=rc)
    return out.splitlines()


def collect(module: AnsibleModule, clock=time.time, sleep=time.sleep) -> list[journal.Record]:
    """The last entries, then (with follow) those that arrive until the time is up."""
    p = module.params
    exe = module.get_bin_path("journalctl", required=True)
    units = p["units"]
    started = clock()
    found = journal.records(read(module, journal.argv(units, p["since"], p["grep"], p["lines"], journalctl=exe)), units)
    deadline = started + max(p["follow"], 0)
    while clock() < deadline:
        sleep(min(max(p["poll_interval"], 0.05), max(deadline - clock(), 0)))
        if found:
            cmd = journal.argv(units, grep=p["grep"], after_cursor=found[-1].cursor, journalctl=exe)
        else:  # nothing yet: whatever arrived since the start
            cmd = journal.argv(units, since=f"@{int(started)}", grep=p["grep"], journalctl=exe)
        found += journal.records(read(module, cmd), units)
    return found


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(changed=False, records=[asdict(r) for r in collect(module)])


if __name__ == "__main__":
    main()
