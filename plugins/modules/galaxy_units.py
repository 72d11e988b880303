# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy units of one host: what this run installs, restarts, drains and removes; their record (galaxyops.fleet.galaxy_units)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_units
short_description: Reconcile the Galaxy systemd units of a host with the cluster plan, and record them
version_added: 0.1.0
description:
  - With O(state=query), compares the host's part of the cluster plan with the record of the units the
    C(galaxyops.fleet.galaxy_systemd) role installed there before and with systemd's view of them
    (C(systemctl show)), and returns what the role does in this run. Changes nothing.
  - Stale units (recorded for a Galaxy instance of the plan, no longer planned on the host) are drained when
    they are job handlers whose server name the plan has nowhere any more (O(drain)), retire when they are
    web processes (gunicorn, reports) none of whose addresses a planned process of the host takes (O(retire)),
    and are stopped and removed at once otherwise.
  - With O(state=takeover), only sorts the unit files of O(unit_dir) the collection did not write (RV(takeover)),
    which the role checks on every host before any host is changed (a unit file the plan would overwrite that is
    neither the collection's, nor Gravity's, nor named in O(replace_units) stops the run). Changes nothing.
  - With O(state=recorded), writes the record (O(path)) once the planned units are installed and the units
    O(forget) are removed. Units of Galaxy instances that are not in the plan are never touched.
  - The record keeps, for each process unit, its service type, server name, pools, binds and command, so
    that nothing is read back from a unit's C(ExecStart=). A record written by an earlier version of the
    collection lacks them; the module then reads the C(ExecStart=) of the unit files of those stale units
    once, and records what it found.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  state:
    description:
      - C(query) returns the reconciliation.
      - C(takeover) returns only RV(takeover).
      - C(recorded) writes the record.
    type: str
    choices: [query, takeover, recorded]
    default: query
  path:
    description: The record file.
    type: path
    required: true
  record:
    description:
      - The record as it is now, parsed (the role reads it on the controller, which also parses the YAML
        of records written by earlier versions); empty when there is none.
    type: dict
    default: {}
  units:
    description: The host's unit files from the plan (C(hosts.HOST.units)).
    type: dict
    default: {}
  instances:
    description: The plan's Galaxy instances (C(instances)), for their names and handler rosters.
    type: dict
    default: {}
  unit_dir:
    description: Where unit files and drop-ins are.
    type: path
    default: /etc/systemd/system
  environment_dir:
    description: Where the environment files of the processes are.
    type: path
    default: /etc/galaxyops-fleet/environment
  drain:
    description: Drain stale job handlers (RV(draining)) instead of removing them at once.
    type: bool
    default: true
  retire:
    description: Let stale web processes serve until the proxies drop them (RV(retiring)) instead of removing them at once.
    type: bool
    default: false
  drain_pool:
    description: The job pool a draining handler runs in (its command in RV(draining)).
    type: str
    default: job-handlers.galaxyops-draining
  changed_unit_files:
    description: Unit files this run changed (every process of the file restarts).
    type: list
    elements: str
    default: []
  changed_units:
    description: Process units whose drop-in or environment file this run changed.
    type: list
    elements: str
    default: []
  restart_instances:
    description: Galaxy instances whose processes restart because their configuration files changed.
    type: list
    elements: str
    default: []
  replace_units:
    description:
      - Glob patterns of hand-written units (not the collection's, not Gravity's) the collection replaces, as
        C(galaxy-gunicorn@*) or C(galaxy-handler@*.service) (RV(takeover)). Units matching no pattern, neither written by
        the collection nor by Gravity 1.2.4 (a service running C(galaxyctl exec), a target wanting only such services),
        are never touched.
    type: list
    elements: str
    default: []
  forget:
    description: With O(state=recorded), the stale units removed (they leave the record).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: O(state=recorded) reports the record it would write.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The record file, before and after.
notes:
  - The record is JSON, which YAML readers (and earlier versions of the collection) read as well.
"""

EXAMPLES = r"""
- name: Work out what the host's Galaxy units need
  galaxyops.fleet.galaxy_units:
    path: /var/lib/galaxyops-fleet/systemd-units.yml
    record: "{{ old_record }}"
    units: "{{ fleet_plan.hosts[inventory_hostname].units }}"
    instances: "{{ fleet_plan.instances }}"
  register: reconciliation

- name: Record the installed units, without those just removed
  galaxyops.fleet.galaxy_units:
    state: recorded
    path: /var/lib/galaxyops-fleet/systemd-units.yml
    record: "{{ old_record }}"
    units: "{{ fleet_plan.hosts[inventory_hostname].units }}"
    instances: "{{ fleet_plan.instances }}"
    forget: "{{ reconciliation.remove.units }}"
"""

RETURN = r"""
start:
  description: Every planned unit (processes, then targets), to enable and start.
  returned: state=query
  type: list
  elements: str
create:
  description: Planned units the record does not have yet.
  returned: state=query
  type: list
  elements: str
not_loaded:
  description: Planned units systemd does not know yet.
  returned: state=query
  type: list
  elements: str
running:
  description: Planned units active (or activating, reloading) before this run.
  returned: state=query
  type: list
  elements: str
restart:
  description: Running processes whose unit file, drop-in, environment or configuration changed.
  returned: state=query
  type: list
  elements: str
  sample: [galaxy-gunicorn@0.service]
remove:
  description:
    - Stale units removed now; C(stop) the loaded ones among them, C(files) to remove, then the emptied drop-in C(dirs).
  returned: state=query
  type: dict
  sample: {units: [galaxy-celery.service], stop: [galaxy-celery.service], files: [/etc/systemd/system/galaxy-celery.service],
           dirs: [], entries: []}
retiring:
  description: Stale web processes that serve until the proxies drop them, as RV(remove); C(entries) with C(unit), C(instance), C(binds).
  returned: state=query
  type: dict
draining:
  description:
    - Stale job handlers to drain, as RV(remove) (with their runtime drop-ins); C(entries) with C(unit), C(instance),
      C(name), C(pools), C(tags), C(argv), the command they drain with (in O(drain_pool)), and C(dropin), the runtime
      drop-in that gives it.
  returned: state=query
  type: dict
drain_instances:
  description: Per Galaxy instance, its draining handlers as M(galaxyops.fleet.galaxy_handler_jobs) takes them.
  returned: state=query
  type: list
  elements: dict
  sample: [{instance: _default_, handlers: [{name: handler_2, pools: [job-handlers], tags: []}]}]
takeover:
  description:
    - Unit files of O(unit_dir) the collection did not write and did not record, sorted
      (plugins/module_utils/takeover.py). C(adopt) the Gravity or named unit files the plan writes over (their
      processes restart into the new file with the rolling restart); C(replace) those the plan does not have, to stop
      once the planned units serve (C(stop), the running ones and running instances of their templates), disable and
      mask; C(conflicts) unit files the plan would overwrite that are neither Gravity's nor named in O(replace_units);
      C(gravity) every unit file recognised as Gravity's; C(handlers) those of C(replace) that run job handlers;
      C(lines) what the take-over does, a sentence per kind
      (none once every unit is the collection's).
  returned: state=query or state=takeover
  type: dict
  sample: {adopt: [galaxy-celery.service, galaxy.target], replace: [galaxy-gunicorn.service],
           stop: [galaxy-gunicorn.service], conflicts: [], gravity: [galaxy-celery.service, galaxy-gunicorn.service, galaxy.target],
           lines: ["adopts galaxy-celery.service, galaxy.target: the collection writes its own unit file there, ..."]}
record:
  description: The record written (in check mode, that would be written).
  returned: state=recorded
  type: dict
"""

import json
import os
import shlex
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import reconcile as rc
from ansible_collections.galaxyops.fleet.plugins.module_utils import takeover as tk
from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import Process, Record, process_from_argv

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["query", "takeover", "recorded"], "default": "query"},
    "path": {"type": "path", "required": True},
    "record": {"type": "dict", "default": {}},
    "units": {"type": "dict", "default": {}},
    "instances": {"type": "dict", "default": {}},
    "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
    "environment_dir": {"type": "path", "default": "/etc/galaxyops-fleet/environment"},
    "replace_units": {"type": "list", "elements": "str", "default": []},
    "drain": {"type": "bool", "default": True},
    "retire": {"type": "bool", "default": False},
    "drain_pool": {"type": "str", "default": "job-handlers.galaxyops-draining"},
    "changed_unit_files": {"type": "list", "elements": "str", "default": []},
    "changed_units": {"type": "list", "elements": "str", "default": []},
    "restart_instances": {"type": "list", "elements": "str", "default": []},
    "forget": {"type": "list", "elements": "str", "default": []},
}

HEADER = (
    "# galaxyops-fleet: the systemd units and files the galaxy_systemd role installed on this host, per\n"
    "# Galaxy instance, and what each process was started as. Only what is listed here is ever stopped\n"
    "# and removed as stale. Written by galaxyops.fleet.galaxy_units.\n"
)


def parse_show(text: str) -> dict[str, rc.UnitStatus]:
    """``systemctl show --property=Id,LoadState,ActiveState`` of several units: one block per unit, by its Id."""
    out: dict[str, rc.UnitStatus] = {}
    for block in text.split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            out[props["Id"]] = rc.UnitStatus(load_state=props.get("LoadState", "not-found"),
                                             active_state=props.get("ActiveState", "inactive"))
    return out


def read_command(path: str) -> list[str] | None:
    """The argv of the last ``ExecStart=`` of a unit file or drop-in (legacy records only); None without one."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.rstrip("\n")[len("ExecStart="):] for line in handle if line.startswith("ExecStart=")]
    except OSError:
        return None
    lines = [line for line in lines if line.strip()]
    if not lines:
        return None
    try:
        words = shlex.split(lines[-1])
    except ValueError:
        return None
    return [w.replace("%%", "%").replace("$$", "$") for w in words]


def legacy_processes(plan: rc.HostPlan, record: Record, unit_dir: str) -> dict[str, Process]:
    """What the unit files of stale units say, for the units of a record without it."""
    out = {}
    for unit in rc.legacy_units(plan, record):
        path = os.path.join(unit_dir, unit + ".d", rc.DROPIN) if "@" in unit else os.path.join(unit_dir, unit)
        out[unit] = process_from_argv(unit, read_command(path) or [])
    return out


def unit_status(module: AnsibleModule, units: list[str]) -> dict[str, rc.UnitStatus]:
    if not units:
        return {}
    rc_, out, err = module.run_command(["systemctl", "show", "--property=Id,LoadState,ActiveState", "--"] + units)
    if rc_ != 0:
        module.fail_json(msg=f"systemctl show failed: {err.strip() or out.strip()}")
    status = parse_show(out)
    for unit in units:  # a name systemd reports under another Id (an alias): ask for it alone
        if unit not in status:
            one = module.run_command(["systemctl", "show", "--property=LoadState,ActiveState", "--", unit])[1]
            props = parse_show("Id=" + unit + "\n" + one)
            status[unit] = props.get(unit, rc.UnitStatus())
    return status


def foreign_files(unit_dir: str, patterns: list[str]) -> list[tk.UnitFile]:
    """The unit files of ``unit_dir`` that may be Gravity's (galaxy*) or match the admin's patterns."""
    try:
        names = sorted(os.listdir(unit_dir))
    except OSError:
        return []
    out = []
    for name in names:
        if not name.endswith((".service", ".target")) or not (name.startswith("galaxy") or tk.named(name, patterns)):
            continue
        path = os.path.join(unit_dir, name)
        if os.path.islink(path) and os.path.realpath(path) == "/dev/null":
            out.append(tk.UnitFile(name, "", masked=True))
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                out.append(tk.UnitFile(name, handle.read()))
        except (OSError, UnicodeDecodeError):
            continue
    return out


def active_units(module: AnsibleModule, files: list[tk.UnitFile]) -> dict[str, str]:
    """unit -> active state of the units of ``files``, template instances included (systemctl list-units)."""
    if not files:
        return {}
    globs = [f.name.replace("@.", "@*.") for f in files]
    code, out, _err = module.run_command(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--"] + globs)
    if code != 0:
        return {}
    states = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 3:
            states[words[0]] = words[2]
    return states


def record_text(record: Record) -> str:
    return HEADER + json.dumps(record.as_dict(), indent=2) + "\n"


def write_record(module: AnsibleModule, path: str, text: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".galaxy_units.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


def takeover_of(module: AnsibleModule, plan: rc.HostPlan, record: Record) -> dict:
    """The unit files of the host the collection did not write, sorted against the plan (module_utils/takeover)."""
    files = foreign_files(module.params["unit_dir"], module.params["replace_units"])
    recorded = [u for inst in record.instances.values() for u in inst.units] + [
        os.path.basename(f) for inst in record.instances.values() for f in inst.files]
    return tk.takeover(files, plan.unit_files + plan.targets, recorded, active_units(module, files),
                       module.params["replace_units"]).as_dict()


def run(module: AnsibleModule) -> dict:
    p = module.params
    plan = rc.host_plan(p["units"], p["instances"], rc.Paths(p["unit_dir"], p["environment_dir"]))
    record = Record.from_dict(p["record"])
    record = rc.with_legacy(record, legacy_processes(plan, record, p["unit_dir"]))

    if p["state"] == "takeover":
        return {"changed": False, "takeover": takeover_of(module, plan, record)}
    if p["state"] == "query":
        status = unit_status(module, plan.units + rc.stale_units(plan, record))
        changes = rc.Changes(unit_files=tuple(p["changed_unit_files"]), processes=tuple(p["changed_units"]),
                             instances=tuple(p["restart_instances"]))
        result = rc.reconcile(plan, record, status, drain=p["drain"], retire=p["retire"],
                              drain_pool=p["drain_pool"], changes=changes).as_dict()
        result["takeover"] = takeover_of(module, plan, record)
        result["changed"] = False
        return result

    new = rc.new_record(plan, record, p["forget"])
    text = record_text(new)
    path = p["path"]
    before = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    changed = text != before and bool(new.instances or before)
    if changed and not module.check_mode:
        write_record(module, path, text)
    return {"changed": changed, "record": new.as_dict(), "path": path,
            "diff": {"before": before, "after": text if changed else before, "before_header": path, "after_header": path}}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
