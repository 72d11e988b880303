# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the steps of a restart from a host's journal (galaxyops.fleet.galaxy_restart_journal)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_restart_journal
short_description: Read when Galaxy processes were drained, stopped, started, ready and put back, from the journal
version_added: 0.1.0
description:
  - Reads the journal of this host since O(since) (C(journalctl -o json)) and returns one event per step, each with
    C(id) (C(HOST/UNIT)), C(host), C(unit), C(kind) and C(time) (seconds since the epoch).
  - For each of O(units), C(stop) and C(start) are systemd's C(Stopping UNIT...) and C(Starting UNIT...) messages,
    C(ready) the first line of the unit's processes after a start that contains one of O(ready_messages).
  - With O(members=true) (a proxy host), C(drain) and C(undrain) are the entries
    M(galaxyops.fleet.galaxy_nginx_members) writes once nginx runs the configuration that takes a member out of its
    upstream or puts it back.
  - Used by role C(galaxyops.fleet.galaxy_restart) (entry point C(timeline)) to draw the restart timeline.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  host:
    description: This host's inventory name (the C(HOST) of C(HOST/UNIT)).
    type: str
    required: true
  units:
    description: Units whose systemd and own messages to read.
    type: list
    elements: str
    default: []
  members:
    description: Also read the drain and undrain entries of galaxy_nginx_members (on a proxy host).
    type: bool
    default: false
  since:
    description: Seconds since the epoch; older entries are ignored.
    type: float
    required: true
  until:
    description: Seconds since the epoch; newer entries are ignored (none, up to now).
    type: float
  ready_messages:
    description: Texts of which one, in a line of a unit's processes, says the process is ready.
    type: list
    elements: str
    default: ["ready, listening", "Application startup complete", "' is running", " ready."]
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only reads the journal; runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: Changes nothing.
"""

EXAMPLES = r"""
- name: Read the restart's steps of web1's gunicorns since the rollout began
  galaxyops.fleet.galaxy_restart_journal:
    host: web1
    units: [galaxy-gunicorn@0.service, galaxy-gunicorn@1.service]
    since: 1764650000.5
  register: steps
"""

RETURN = r"""
events:
  description: The steps seen, in time order, each with C(id), C(host), C(unit), C(kind) (C(drain), C(stop),
    C(start), C(ready), C(undrain)), C(time) and C(message).
  returned: always
  type: list
  elements: dict
  sample: [{id: web1/galaxy-gunicorn@0.service, host: web1, unit: galaxy-gunicorn@0.service, kind: stop,
            time: 1764650003.21, message: "Stopping galaxy-gunicorn@0.service - Galaxy gunicorn 0..."}]
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_journal as rj

# Spelled out, not read from DOCUMENTATION: the hosts may have no PyYAML (the unit test checks both agree).
ARGUMENT_SPEC = {
    "host": {"type": "str", "required": True},
    "units": {"type": "list", "elements": "str", "default": []},
    "members": {"type": "bool", "default": False},
    "since": {"type": "float", "required": True},
    "until": {"type": "float"},
    "ready_messages": {"type": "list", "elements": "str", "default": list(rj.READY_MESSAGES)},
}


EARLIER_LINES = 300


def journal(module: AnsibleModule, matches: list[str], earlier: bool = False) -> list[dict]:
    """Entries since O(since) (until O(until)), or with EARLIER the last lines before O(since)."""
    p = module.params
    argv = ["journalctl", "--no-pager", "-o", "json"]
    if earlier:
        argv += [f"--until=@{p['since']:.6f}", "-n", str(EARLIER_LINES)]
    else:
        argv.append(f"--since=@{p['since']:.6f}")
        if p["until"] is not None:
            argv.append(f"--until=@{p['until']:.6f}")
    rc, out, err = module.run_command(argv + matches, check_rc=False)
    if rc != 0:
        module.fail_json(msg=f"journalctl failed on {p['host']}: {(err or out).strip()}")
    entries = []
    for line in out.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def run(module: AnsibleModule) -> dict:
    p = module.params
    events: list[rj.Event] = []
    for unit in p["units"]:
        entries = journal(module, ["-u", unit])
        # a unit that logs no ready line is ready when started: look before the window whether it logs one
        earlier = [] if any(rj.says_ready(e, unit, tuple(p["ready_messages"])) for e in entries) \
            else journal(module, ["-u", unit], earlier=True)
        events += rj.unit_events(entries, p["host"], unit, p["ready_messages"], earlier)
    if p["members"]:
        events += rj.member_events(journal(module, [f"SYSLOG_IDENTIFIER={rj.IDENTIFIER}"]), p["host"])
    return {"changed": False, "events": [e.as_dict() for e in sorted(events, key=lambda e: (e.time, e.id))]}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
