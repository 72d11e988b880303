# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs and workflow invocations of handlers no planned, live process has: list, hand back (galaxyops.fleet.galaxy_orphans)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_orphans
short_description: List and hand back Galaxy jobs and workflow invocations of handlers that are gone
version_added: 0.1.0
description:
  - Reads Galaxy's C(worker_process) heartbeats, C(job) and, when the database has it, C(workflow_invocation),
    and lists the rows not in a final state whose C(handler) no live process has.
  - A C(handler) value is live when a process of that server name wrote a heartbeat at most
    O(heartbeat_max_age) seconds ago (planned or not, so a draining handler is left alone), or when it is a tag
    a handler of O(roster) serves (C(_default_), C(X) of C(job-handlers.X) or C(workflow-schedulers.X), a static
    handler's tag). Any other value is an orphan's, either a name not in the plan (its host left the inventory,
    or it died before the collection removed it) or a planned name without a fresh heartbeat.
  - Rows of names not in the plan (and, with O(include_planned), of planned names without heartbeat) that were
    never started (jobs C(new), C(paused), C(queued) without a runner; invocations C(new)) are handed back to a
    tag a planned handler serves, so that a live handler grabs them. Started ones are listed, or ended with
    O(fail_started) (jobs C(error), invocations C(failed)).
  - Runs with the Python of Galaxy's virtualenv (psycopg) on a host that reaches Galaxy's database.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  state:
    description:
      - C(listed) reports the orphans and changes nothing.
      - C(released) hands back (and with O(fail_started) ends) the rows as reported; in check mode it reports
        the same and changes nothing.
    type: str
    choices: [listed, released]
    default: listed
  roster:
    description: The handlers of the plan for this instance (C(instances.NAME.handlers) of the cluster plan).
    type: dict
    required: true
  heartbeat_max_age:
    description: Seconds after which a C(worker_process) heartbeat no longer proves a process alive.
    type: float
    default: 120
  include_planned:
    description: Also act on the rows of planned handler names without a fresh heartbeat (their process is down).
    type: bool
    default: false
  fail_started:
    description: End the started rows of orphaned handlers (jobs C(error), invocations C(failed)) instead of listing them.
    type: bool
    default: false
  default_handler:
    description: The job configuration's default handler id or tag (the plan's C(default_handler)), the jobs' target.
    type: str
  handback_to:
    description: The tag (or handler id) to hand jobs back to; default O(default_handler), else C(_default_).
    type: str
  handback_invocations_to:
    description: The scheduler tag to hand invocations back to; default C(_default_) (the C(workflow-schedulers) pool).
    type: str
  galaxy_config_file:
    description: Galaxy's C(galaxy.yml) on the host, for C(galaxy.database_connection).
    type: path
  database_connection:
    description: The database URL, instead of reading O(galaxy_config_file).
    type: str
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the tables and reports exactly which rows would change.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The C(handler) (hand back) or C(state) (fail) of every row, before and after.
requirements:
  - psycopg (3) or psycopg2 in the interpreter's environment (Galaxy's virtualenv has it)
  - PyYAML (Galaxy's virtualenv has it)
notes:
  - Each row moves with an C(UPDATE) that only matches while it still has the handler and state that were read.
"""

EXAMPLES = r"""
- name: Hand back what handlers of removed hosts never started
  galaxyops.fleet.galaxy_orphans:
    state: released
    roster: "{{ fleet_plan.instances._default_.handlers }}"
    galaxy_config_file: /srv/galaxy/config/galaxy.yml
  vars:
    ansible_python_interpreter: /srv/galaxy/venv/bin/python
"""

RETURN = r"""
orphans:
  description: Every orphaned row, with C(kind) (job or invocation), C(reason), C(action) (hand back, fail, keep), C(to).
  returned: always
  type: list
  elements: dict
  sample: [{kind: job, id: 41, label: cat1, state: new, handler: handler_handlers2_0, reason: "not in the plan, no heartbeat",
            action: hand back, to: _default_}]
changed_rows:
  description: The rows changed (in check mode, that would change).
  returned: always
  type: list
  elements: dict
live:
  description: Server names with a fresh heartbeat.
  returned: always
  type: list
  elements: str
summary:
  description: One readable line per orphaned handler value.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.galaxyops.fleet.plugins.module_utils import galaxy_db as gdb
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_invocations as hi
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils import orphans as orph


def run(module: AnsibleModule) -> dict:
    p = module.params
    roster = p["roster"]
    options = orph.Options(include_planned=p["include_planned"], fail_started=p["fail_started"],
                           job_target=p["handback_to"] or p["default_handler"],
                           invocation_target=p["handback_invocations_to"])
    db = gdb.Database(gdb.connection_url(p["galaxy_config_file"], p["database_connection"]))
    try:
        runner = db.has_column("job", "job_runner_name")
        beats = [orph.Heartbeat.from_row(r) for r in db.rows(orph.heartbeat_sql())] if db.has_table("worker_process") else []
        live = orph.Liveness.build(roster, beats, p["heartbeat_max_age"])
        jobs = [hj.Job.from_row(r) for r in db.rows(orph.select_jobs_sql(runner), {
            "live": live.live_values("job"), "final": list(hj.TERMINAL_STATES)})]
        invs = []
        if db.has_table(hi.TABLE):
            invs = [hi.Invocation.from_row(r) for r in db.rows(orph.select_invocations_sql(), {
                "live": live.live_values("invocation"), "final": list(hi.FINAL_STATES)})]
        found = orph.decide(jobs, invs, live, roster, options, runner)
        acting = [o for o in found if o.action != orph.KEEP]
        done = []
        if p["state"] == "released":
            if module.check_mode:
                done = acting
            else:
                for orphan in acting:
                    if db.rows(orph.update_sql(orphan, runner), {
                            "to": orphan.target, "id": orphan.id, "from": orphan.handler, "state": orphan.state}):
                        done.append(orphan)
        shown = done if p["state"] == "released" else acting
        return {
            "changed": bool(done),
            "orphans": [o.as_dict() for o in found],
            "changed_rows": [o.as_dict() for o in done],
            "live": sorted(live.fresh),
            "summary": orph.summary_lines(found, done, module.check_mode or p["state"] == "listed"),
            "diff": {"before": "".join(o.line(False) for o in shown), "after": "".join(o.line(True) for o in shown),
                     "before_header": "orphaned rows", "after_header": "orphaned rows"},
        }
    finally:
        db.close()


def main() -> None:
    if gdb.yaml is None:
        # no argument spec without the documentation parser
        AnsibleModule(argument_spec={}, bypass_checks=True).fail_json(msg=missing_required_lib("PyYAML"))
    module = AnsibleModule(argument_spec=gdb.argument_spec(DOCUMENTATION), supports_check_mode=True)
    if gdb.DRIVER is None:
        module.fail_json(msg=missing_required_lib("psycopg") + " (run this module with Galaxy's virtualenv Python)")
    result, error = gdb.call(run, module)
    if error:
        module.fail_json(msg=error)
    result["msg"] = "; ".join(result["summary"]) or "no orphaned jobs or invocations"
    module.exit_json(**result)


if __name__ == "__main__":
    main()
