# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything one host says about its Galaxy processes, in one call (galaxyops.fleet.galaxy_status)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_status
short_description: Gather the state of the Galaxy processes of one host, and what a proxy sees of every gunicorn
version_added: 0.1.0
description:
  - For every process the cluster plan gives the host (C(hosts.HOST.units)), reads systemd's view of its unit in one
    C(systemctl show) (state, main PID, uptime, memory now and its limit) and whether the unit differs from what the
    plan renders (systemd's C(ExecStart) against the plan's command, the record of the C(galaxyops.fleet.galaxy_systemd)
    role, a unit file changed on disk that systemd has not reloaded).
  - Lists the units of a Galaxy instance's prefix (C(galaxy-*)) that run although the plan does not have them.
  - For tusd, gx-it-proxy and reports, whether their port or socket accepts a connection.
  - For job handlers (with O(database)), their heartbeat in Galaxy's C(worker_process) table and the number of
    non-terminal jobs assigned to them (C(job.handler)), read with psycopg from the instance's C(database_connection).
  - On a proxy (O(proxy)), asks every gunicorn of the plan for C(/api/version) (in parallel, one try each) and reads
    each upstream member's state in nginx (serving, drained, missing) from the configuration and the record of
    C(galaxyops.fleet.galaxy_nginx_members).
  - Never fails on what it finds. The playbook C(galaxyops.fleet.status) merges every host's answer and decides.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  plan:
    description: The cluster plan from M(galaxyops.fleet.topology).
    type: dict
    required: true
  host:
    description: The host's name in the plan (its inventory name).
    type: str
    required: true
  proxy:
    description: The host is a proxy of the plan; probe every gunicorn and read the nginx upstream members.
    type: bool
    default: false
  database:
    description: Read the heartbeat and the jobs of this host's job handlers from Galaxy's database.
    type: bool
    default: true
  stale_after:
    description: Seconds after which a handler's heartbeat in C(worker_process) counts as stale.
    type: float
    default: 180
  timeout:
    description: Seconds one health request, connection or database connection may take.
    type: float
    default: 3
  unit_record:
    description: The record of the units the C(galaxyops.fleet.galaxy_systemd) role installed.
    type: path
    default: /var/lib/galaxyops-fleet/systemd-units.yml
  nginx_conf_file:
    description: The nginx configuration of the C(galaxyops.fleet.galaxy_nginx) role (on a proxy).
    type: path
    default: /etc/nginx/conf.d/galaxyops-fleet.conf
  nginx_state_file:
    description: The record of drained upstream members (on a proxy).
    type: path
    default: /var/lib/galaxyops-fleet/nginx-members-down.yml
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: Changes nothing.
notes:
  - The database part needs psycopg (3, or psycopg2) and PyYAML; run the module with the Galaxy virtualenv's Python on
    hosts with job handlers (the status playbook does). Without them, RV(errors) says so and the rest is gathered.
"""

EXAMPLES = r"""
- name: Gather every Galaxy process's state on this host
  galaxyops.fleet.galaxy_status:
    plan: "{{ fleet_plan }}"
    host: "{{ inventory_hostname }}"
    proxy: "{{ 'galaxy_proxy' in group_names }}"
  register: host_status
"""

RETURN = r"""
host:
  description: The host.
  returned: always
  type: str
processes:
  description:
    - Per planned process, C(unit), C(instance), C(service_type), C(service_name), C(server_name), C(bind),
      C(systemd) (C(load), C(active), C(sub), C(main_pid), C(uptime_s), C(memory), C(memory_max), C(restarts), ...),
      C(drift) (lines), C(accepts) (C(ok), C(seen); port services only) and C(heartbeat) (job handlers only).
  returned: always
  type: list
  elements: dict
unplanned:
  description: Running units of a Galaxy instance's prefix the plan lacks (C(unit), C(load), C(active), C(sub)).
  returned: always
  type: list
  elements: dict
probes:
  description: On a proxy, per upstream member C(HOST/UNIT), C(ok), C(seen) and C(version) of its C(/api/version).
  returned: always
  type: dict
members:
  description: On a proxy, per upstream member C(HOST/UNIT), C(serving), C(drained) or C(missing).
  returned: always
  type: dict
errors:
  description: What could not be read (database, files).
  returned: always
  type: list
  elements: str
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import galaxy_db as gdb
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils import health
from ansible_collections.galaxyops.fleet.plugins.module_utils import status_host as sh
from ansible_collections.galaxyops.fleet.plugins.module_utils.nginx_members import MembersError, plan_members
from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import HANDLER_TYPE, Record

# Spelled out, not read from DOCUMENTATION: proxy hosts may have no PyYAML (a unit test checks both agree).
ARGUMENT_SPEC = {
    "plan": {"type": "dict", "required": True},
    "host": {"type": "str", "required": True},
    "proxy": {"type": "bool", "default": False},
    "database": {"type": "bool", "default": True},
    "stale_after": {"type": "float", "default": 180},
    "timeout": {"type": "float", "default": 3},
    "unit_record": {"type": "path", "default": "/var/lib/galaxyops-fleet/systemd-units.yml"},
    "nginx_conf_file": {"type": "path", "default": "/etc/nginx/conf.d/galaxyops-fleet.conf"},
    "nginx_state_file": {"type": "path", "default": "/var/lib/galaxyops-fleet/nginx-members-down.yml"},
}


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_record(path: str, errors: list[str]) -> Record | None:
    import json

    text = read(path)
    if text is None:
        return None
    body = "".join(line for line in text.splitlines(keepends=True) if not line.lstrip().startswith("#"))
    try:
        return Record.from_dict(json.loads(body))
    except ValueError:
        errors.append(f"{path}: not JSON (a record of an earlier version): the site playbook rewrites it")
        return None


def database_rows(plan: dict, procs: list[sh.Planned], timeout: float) -> tuple[list[dict], list[dict]]:
    """worker_process and job rows of this host's handlers, per Galaxy instance's database."""
    if gdb.DRIVER is None:
        raise ImportError("no module named psycopg or psycopg2")
    if gdb.yaml is None:
        raise ImportError("no module named yaml")
    beats, jobs = [], []
    for instance in sorted({p.instance for p in procs}):
        names = sh.handler_names(p for p in procs if p.instance == instance)
        url = gdb.connection_url(plan["instances"][instance]["galaxy_config_file"], None)
        database = gdb.Database(url, connect_timeout=max(1, int(timeout)))
        try:
            beats += database.rows(sh.HEARTBEAT_SQL, {"names": names})
            jobs += database.rows(sh.JOBS_SQL, {"names": names, "terminal": list(hj.TERMINAL_STATES)})
        finally:
            database.close()
    return beats, jobs


def probe_members(plan: dict, host: str, timeout: float) -> tuple[dict, list]:
    members = plan_members(plan, host)
    targets = {m.id: ({"socket": m.address[5:]} if m.address.startswith("unix:")
                      else {"url": f"http://{m.address}/api/version"}) for m in members}
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(targets)))) as pool:
        seen = dict(zip(targets, pool.map(lambda t: health.probe(t, timeout), targets.values())))
    return {i: {"ok": s.ok, "seen": s.seen, "version": s.version} for i, s in seen.items()}, members


def run(module: AnsibleModule) -> dict:
    p = module.params
    plan, host = p["plan"], p["host"]
    status = sh.HostStatus(host=host)
    procs = sh.planned(plan, host)
    prefixes = sh.unit_prefixes(plan)

    listed = module.run_command(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager"]
                                + [f"{pre}*" for pre in prefixes], check_rc=False)[1]
    units = sorted({pr.unit for pr in procs})
    states: dict[str, sh.UnitState] = {}
    if units:
        text = module.run_command(["systemctl", "show", "--property=" + ",".join(sh.SHOW_PROPERTIES), "--"] + units,
                                  check_rc=False)[1]
        states = sh.parse_show(text, time.monotonic())
    record = read_record(p["unit_record"], status.errors) if procs else None

    beats: dict[str, sh.Heartbeat] = {}
    names = sh.handler_names(procs)
    if names and p["database"]:
        try:
            beat_rows, job_rows = database_rows(plan, [pr for pr in procs if pr.service_type == HANDLER_TYPE],
                                                p["timeout"])
            beats = sh.heartbeats(names, beat_rows, job_rows, p["stale_after"])
        except ImportError as exc:
            status.errors.append(f"cannot read Galaxy's database: {exc} (run with the Galaxy virtualenv's Python)")
        except (OSError, hj.HandlerJobsError) as exc:
            status.errors.append(f"cannot read Galaxy's database: {exc}")
        except Exception as exc:  # database errors: report them, not a traceback
            if type(exc).__module__.split(".", maxsplit=1)[0] not in ("psycopg", "psycopg2", "yaml"):
                raise
            status.errors.append(f"cannot read Galaxy's database: {type(exc).__name__}: {exc}")

    for pr in procs:
        state = states.get(pr.unit, sh.UnitState(unit=pr.unit))
        entry = {"unit": pr.unit, "instance": pr.instance, "service_type": pr.service_type,
                 "service_name": pr.service_name, "server_name": pr.server_name, "bind": pr.bind,
                 "systemd": state.as_dict(), "drift": sh.drift(pr, state, record)}
        if pr.service_type in sh.PORT_TYPES:
            ok, seen = sh.accepts(pr.bind, p["timeout"])
            entry["accepts"] = {"ok": ok, "seen": seen}
        if pr.server_name in beats and pr.service_type == HANDLER_TYPE:
            entry["heartbeat"] = beats[pr.server_name].as_dict()
        status.processes.append(entry)
    status.unplanned = sh.unplanned(sh.list_units(listed), sh.planned_units(plan, host), prefixes)

    if p["proxy"]:
        try:
            status.probes, members = probe_members(plan, host, p["timeout"])
            status.members = sh.member_states([m.id for m in members], read(p["nginx_state_file"]),
                                              read(p["nginx_conf_file"]))
        except MembersError as exc:
            status.errors.append(str(exc))
    return {"changed": False, **status.as_dict()}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
