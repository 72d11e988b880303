# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs of Galaxy job handlers that are being removed: report, wait, hand back (galaxyops.fleet.galaxy_handler_jobs)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_handler_jobs
short_description: Drain Galaxy job handlers and workflow schedulers that are being removed
version_added: 0.1.0
description:
  - Reads Galaxy's C(job) table (columns C(id), C(tool_id), C(state), C(handler), and C(job_runner_name) when
    the table has it) for the jobs that are not in a terminal state and are assigned to the given handlers.
  - Terminal states are Galaxy's C(Job.terminal_states) (C(ok), C(error), C(deleted)) plus C(skipped).
  - A job was never started when it is C(new), C(paused), or C(queued) with no job runner (Galaxy's own test
    when a handler starts). Such jobs may be handed back, that is their C(handler) set to a tag that a
    remaining handler serves (C(_default_) for the C(job-handlers) pool), so that a live handler grabs them
    as Galaxy's C(db-skip-locked) / C(db-transaction-isolation) assignment does. Only hand back once the
    handler process is stopped; a running Galaxy handler keeps its own new jobs in memory.
  - When the database has Galaxy's C(workflow_invocation) table, the same for the workflow invocations assigned
    to the handlers (column C(handler)). Final states are C(scheduled), C(cancelled), C(failed); O(state=idle)
    waits until none is in another state (a draining scheduler still schedules its own, C(new) ones included);
    O(state=released) hands back the C(new) ones (never started) to a scheduler tag a remaining handler serves.
  - Runs on a Galaxy host with the Python of Galaxy's virtualenv as interpreter (it needs psycopg, which
    Galaxy's PostgreSQL support installs there).
  - The database is the C(galaxy.database_connection) of O(galaxy_config_file) (C(postgresql://) or
    C(postgresql+psycopg://)), or O(database_connection).
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  state:
    description:
      - C(held) reports the jobs now assigned to the handlers and changes nothing.
      - C(idle) waits until no job that must be waited for is assigned to them (with O(handback), the started
        ones; without, every job not in a terminal state), and fails after O(timeout) with the jobs that block.
      - C(released) hands back the never-started jobs (when O(handback)), including new jobs still addressed to a
        tag of a removed handler that no remaining handler serves, then fails if any job not in a terminal state
        is still assigned to the handlers.
    type: str
    choices: [held, idle, released]
    default: held
  handlers:
    description: The handlers being removed.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The handler's server name (C(--server-name)), what Galaxy writes into C(job.handler).
        type: str
        required: true
      pools:
        description: Its C(--attach-to-pool) values before the drain (C(job-handlers), C(job-handlers.X), ...).
        type: list
        elements: str
        default: []
      tags:
        description: Its tags in the job configuration it was started with (static handlers).
        type: list
        elements: str
        default: []
  roster:
    description:
      - The handlers that remain, as the cluster plan gives them (C(instances.NAME.handlers)).
      - Decides where jobs are handed back and which tags of removed handlers nobody serves any more.
    type: dict
    default: {}
  default_handler:
    description: The job configuration's default handler id or tag (the plan's C(default_handler)).
    type: str
  handback:
    description: Hand back never-started jobs instead of waiting for them.
    type: bool
    default: true
  handback_to:
    description:
      - The tag (or handler id) to hand jobs back to. Default, per removed handler, the first of its own tags
        that a remaining handler serves, else O(default_handler), else C(_default_).
      - It must be served by a handler of O(roster).
    type: str
  handback_invocations_to:
    description:
      - The scheduler tag (or server name) to hand never-started invocations back to. Default, per removed handler,
        the first of its own scheduler tags that a remaining scheduler serves, else C(_default_)
        (the C(workflow-schedulers) pool).
      - It must be served by a workflow scheduler of O(roster).
    type: str
  held_jobs:
    description: The RV(jobs) returned by the C(held) call at the start of the drain, for the report.
    type: list
    elements: dict
    default: []
  held_invocations:
    description: The RV(invocations) returned by the C(held) call at the start of the drain, for the report.
    type: list
    elements: dict
    default: []
  timeout:
    description: Seconds O(state=idle) waits before it fails.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads of the job table while waiting.
    type: float
    default: 2
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
    details: Reads the job table; reports what would be handed back and does not wait.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The C(handler) of every job and workflow invocation handed back, before and after.
requirements:
  - psycopg (3) or psycopg2 in the interpreter's environment (Galaxy's virtualenv has it)
  - PyYAML (Galaxy's virtualenv has it)
notes:
  - Jobs are moved one by one with an C(UPDATE) that only matches while the row still has the state, handler
    (and no job runner) that were read, so a job a live handler took meanwhile is left alone.
"""

EXAMPLES = r"""
- name: Wait until the removed handler runs no job
  galaxyops.fleet.galaxy_handler_jobs:
    state: idle
    handlers: [{name: handler_2, pools: [job-handlers]}]
    roster: "{{ fleet_plan.instances._default_.handlers }}"
    galaxy_config_file: /srv/galaxy/config/galaxy.yml
    timeout: 600
  vars:
    ansible_python_interpreter: /srv/galaxy/venv/bin/python
"""

RETURN = r"""
jobs:
  description: Jobs not in a terminal state assigned to the handlers (or their orphan tags) at the end.
  returned: always
  type: list
  elements: dict
  sample: [{id: 12, tool_id: cat1, state: running, handler: handler_2}]
invocations:
  description: Workflow invocations not in a final state assigned to the handlers (or their orphan tags) at the end.
  returned: always
  type: list
  elements: dict
  sample: [{id: 4, workflow_id: 7, state: ready, scheduler: core, handler: handler_2}]
invocations_handed_back:
  description: Workflow invocations handed back (in check mode, that would be), with C(to) and C(from_handler).
  returned: always
  type: list
  elements: dict
handed_back:
  description: Jobs handed back (in check mode, that would be), with C(to) and C(from_handler).
  returned: always
  type: list
  elements: dict
handlers:
  description:
    - Per handler, job ids C(held) at the start, C(waited_for), C(handed_back), C(blocking), and the same for
      workflow invocations under C(invocations).
  returned: always
  type: dict
summary:
  description: One readable line per handler.
  returned: always
  type: list
  elements: str
  sample: ["handler_2: waited for 2 job(s) (12, 15), handed back 1 (18 -> _default_); invocations: waited for 1 (4), handed back 0"]
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.galaxyops.fleet.plugins.module_utils import galaxy_db as gdb
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_invocations as hi
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj


class Tables:
    """Reads of the job table and, when the database has it, the workflow_invocation table."""

    def __init__(self, db: gdb.Database, handlers: list[hj.Handler], roster: dict):
        self.db = db
        self.names = [h.name for h in handlers]
        self.runner = db.has_column("job", "job_runner_name")
        self.invocations = db.has_table(hi.TABLE)
        job_orphans = hj.orphan_tags(handlers, roster)
        self.job_watch = self.names + [t for t in job_orphans if t not in self.names]
        inv_orphans = hi.orphan_scheduler_tags(handlers, roster)
        self.inv_watch = self.names + [t for t in inv_orphans if t not in self.names]

    def jobs(self) -> list[hj.Job]:
        rows = self.db.rows(hj.select_jobs_sql(self.runner), {"handlers": self.job_watch, "terminal": list(hj.TERMINAL_STATES)})
        return [hj.Job.from_row(r) for r in rows]

    def invs(self) -> list[hi.Invocation]:
        if not self.invocations:
            return []
        rows = self.db.rows(hi.select_sql(), {"handlers": self.inv_watch, "final": list(hi.FINAL_STATES)})
        return [hi.Invocation.from_row(r) for r in rows]


def run(module: AnsibleModule) -> dict:
    p = module.params
    handlers = [hj.Handler.from_dict(h) for h in p["handlers"]]
    names = [h.name for h in handlers]
    orphans = hj.orphan_tags(handlers, p["roster"])
    targets = hj.handback_targets(handlers, p["roster"], p["default_handler"], p["handback_to"]) if p["handback"] else {}
    db = gdb.Database(gdb.connection_url(p["galaxy_config_file"], p["database_connection"]))
    try:
        tables = Tables(db, handlers, p["roster"])
        jobs, invs = tables.jobs(), tables.invs()
        started = time.monotonic()
        moved: list[hj.Handback] = []
        moved_invs: list[hi.InvocationHandback] = []
        result: dict = {"changed": False}

        if p["state"] == "idle":
            def pending(current_jobs, current_invs):
                mine = [j for j in current_jobs if j.handler in names]
                # the scheduler still runs (out of every pool): it schedules its own new invocations too
                return hj.split_jobs(mine, tables.runner, p["handback"]).wait, [i for i in current_invs if i.handler in names]

            blocking, blocking_invs = pending(jobs, invs)
            while (blocking or blocking_invs) and not module.check_mode and time.monotonic() - started < p["timeout"]:
                time.sleep(p["poll_interval"])
                jobs, invs = tables.jobs(), tables.invs()
                blocking, blocking_invs = pending(jobs, invs)
            if (blocking or blocking_invs) and not module.check_mode:
                result["failed"] = True
                result["msg"] = blocking_message(blocking, blocking_invs, time.monotonic() - started)
        elif p["state"] == "released":
            planned = hj.plan_handbacks(jobs, targets, orphans, tables.runner) if p["handback"] else []
            planned_invs = hi.plan_handbacks(invs, handlers, p["roster"], p["handback_invocations_to"]) if p["handback"] else []
            if module.check_mode:
                moved, moved_invs = planned, planned_invs
            else:
                for change in planned:
                    if db.rows(hj.handback_sql(tables.runner), {
                            "to": change.target, "id": change.job.id, "from": change.job.handler, "state": change.job.state}):
                        moved.append(change)
                for inv_change in planned_invs:
                    inv = inv_change.invocation
                    if db.rows(hi.handback_sql(), {"to": inv_change.target, "id": inv.id, "from": inv.handler, "state": inv.state}):
                        moved_invs.append(inv_change)
                jobs, invs = tables.jobs(), tables.invs()
            result["changed"] = bool(moved or moved_invs)
            moved_ids = {c.job.id for c in moved}
            moved_inv_ids = {c.invocation.id for c in moved_invs}
            blocking = [j for j in jobs if j.id not in moved_ids]
            blocking_invs = [i for i in invs if i.id not in moved_inv_ids]
            if (blocking or blocking_invs) and not module.check_mode:
                result["failed"] = True
                result["msg"] = blocking_message(blocking, blocking_invs, 0) + (
                    " (stopped handlers: start them again to let them finish these)"
                )
        else:
            blocking, blocking_invs = [], []

        held = [hj.Job.from_row(j) for j in p["held_jobs"]] or [j for j in jobs if j.handler in names]
        held_invs = [hi.Invocation.from_row(i) for i in p["held_invocations"]] or [i for i in invs if i.handler in names]
        per_handler = hj.report(handlers, held, moved, blocking)
        per_inv = hi.report(handlers, held_invs, moved_invs, blocking_invs)
        summary = [line + hi.summary_suffix(per_inv[name], moved_invs, name)
                   for line, name in zip(hj.summary_lines(per_handler, moved), per_handler)]
        for name, entry in per_handler.items():
            entry["invocations"] = per_inv[name]
        before, after = hj.diff_text(moved)
        inv_before, inv_after = hi.diff_lines(moved_invs)
        result.update(
            jobs=[j.as_dict() for j in jobs],
            invocations=[i.as_dict() for i in invs],
            handed_back=[c.as_dict() for c in moved],
            invocations_handed_back=[c.as_dict() for c in moved_invs],
            handlers=per_handler,
            summary=summary,
            waited=round(time.monotonic() - started, 1),
            diff={"before": before + inv_before, "after": after + inv_after,
                  "before_header": "job.handler, workflow_invocation.handler",
                  "after_header": "job.handler, workflow_invocation.handler"},
        )
        result.setdefault("msg", "; ".join(result["summary"]) or "no handlers")
        return result
    finally:
        db.close()


def blocking_message(jobs: list[hj.Job], invs: list[hi.Invocation], waited: float) -> str:
    if not jobs:
        return hi.blocking_message(invs, waited)
    return "; ".join([hj.blocking_message(jobs, waited)] + ([hi.blocking_message(invs, waited)] if invs else []))


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
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
