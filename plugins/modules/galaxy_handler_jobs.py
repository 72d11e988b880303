# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs of Galaxy job handlers that are being removed: report, wait, hand back (galaxyops.fleet.galaxy_handler_jobs)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_handler_jobs
short_description: Drain Galaxy job handlers that are being removed, reading Galaxy's job table
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
  held_jobs:
    description: The RV(jobs) returned by the C(held) call at the start of the drain, for the report.
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
    details: The C(handler) of every job handed back, before and after.
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
handed_back:
  description: Jobs handed back (in check mode, that would be), with C(to) and C(from_handler).
  returned: always
  type: list
  elements: dict
handlers:
  description: Per handler, job ids C(held) at the start, C(waited_for), C(handed_back), C(blocking).
  returned: always
  type: dict
summary:
  description: One readable line per handler.
  returned: always
  type: list
  elements: str
  sample: ["handler_2: waited for 2 job(s) (12, 15), handed back 1 (18 -> _default_)"]
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc

try:
    import yaml
except ImportError:  # pragma: no cover - reported by main()
    yaml = None

psycopg2 = None  # the fallback driver, imported only without psycopg 3
try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError:  # pragma: no cover - psycopg2 below, or reported by main()
    psycopg = None
    try:
        import psycopg2
        import psycopg2.extras
    except ImportError:
        pass


class Database:
    """A small autocommit connection returning rows as dicts (psycopg 3, else psycopg2)."""

    def __init__(self, url: str):
        if psycopg is not None:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10, row_factory=dict_row)
        else:
            self.conn = psycopg2.connect(url, connect_timeout=10)
            self.conn.autocommit = True

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        if psycopg is not None:
            return list(self.conn.execute(sql, params or {}).fetchall())
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params or {})
            return [dict(r) for r in cur.fetchall()] if cur.description else []

    def close(self) -> None:
        self.conn.close()


def has_runner_column(db: Database) -> bool:
    return bool(db.rows(
        "SELECT 1 AS x FROM information_schema.columns WHERE table_name = 'job' AND column_name = 'job_runner_name' "
        "AND table_schema = ANY(current_schemas(false))"
    ))


def read_jobs(db: Database, values: list[str], runner: bool) -> list[hj.Job]:
    rows = db.rows(hj.select_jobs_sql(runner), {"handlers": values, "terminal": list(hj.TERMINAL_STATES)})
    return [hj.Job.from_row(r) for r in rows]


def connection_url(module: AnsibleModule) -> str:
    url = module.params["database_connection"]
    if not url:
        path = module.params["galaxy_config_file"]
        if not path:
            raise hj.HandlerJobsError("set galaxy_config_file or database_connection")
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise hj.HandlerJobsError(f"cannot read {path}: {exc}") from exc
        url = hj.database_connection(config, path)
    return hj.conninfo(url)


def run(module: AnsibleModule) -> dict:
    p = module.params
    handlers = [hj.Handler.from_dict(h) for h in p["handlers"]]
    names = [h.name for h in handlers]
    orphans = hj.orphan_tags(handlers, p["roster"])
    targets = hj.handback_targets(handlers, p["roster"], p["default_handler"], p["handback_to"]) if p["handback"] else {}
    watch = names + [t for t in orphans if t not in names]
    db = Database(connection_url(module))
    try:
        runner = has_runner_column(db)
        jobs = read_jobs(db, watch, runner)
        started = time.monotonic()
        moved: list[hj.Handback] = []
        result: dict = {"changed": False}

        if p["state"] == "idle":
            def pending(current):
                mine = [j for j in current if j.handler in names]
                return hj.split_jobs(mine, runner, p["handback"]).wait

            blocking = pending(jobs)
            while blocking and not module.check_mode and time.monotonic() - started < p["timeout"]:
                time.sleep(p["poll_interval"])
                jobs = read_jobs(db, watch, runner)
                blocking = pending(jobs)
            if blocking and not module.check_mode:
                result["failed"] = True
                result["msg"] = hj.blocking_message(blocking, time.monotonic() - started)
        elif p["state"] == "released":
            planned = hj.plan_handbacks(jobs, targets, orphans, runner) if p["handback"] else []
            if module.check_mode:
                moved = planned
            else:
                for change in planned:
                    hit = db.rows(hj.handback_sql(runner), {
                        "to": change.target, "id": change.job.id, "from": change.job.handler, "state": change.job.state,
                    })
                    if hit:
                        moved.append(change)
                jobs = read_jobs(db, watch, runner)
            result["changed"] = bool(moved)
            moved_ids = {c.job.id for c in moved}
            left = [j for j in jobs if j.id not in moved_ids]
            blocking = left
            if left and not module.check_mode:
                result["failed"] = True
                result["msg"] = hj.blocking_message(left, 0) + (
                    " (stopped handlers: start them again to let them finish these jobs)"
                )
        else:
            blocking = []

        held = [hj.Job.from_row(j) for j in p["held_jobs"]] or [j for j in jobs if j.handler in names]
        per_handler = hj.report(handlers, held, moved, blocking)
        before, after = hj.diff_text(moved)
        result.update(
            jobs=[j.as_dict() for j in jobs],
            handed_back=[c.as_dict() for c in moved],
            handlers=per_handler,
            summary=hj.summary_lines(per_handler, moved),
            waited=round(time.monotonic() - started, 1),
            diff={"before": before, "after": after, "before_header": "job.handler", "after_header": "job.handler"},
        )
        result.setdefault("msg", "; ".join(result["summary"]) or "no handlers")
        return result
    finally:
        db.close()


def main() -> None:
    if yaml is None:
        # no argument spec without the documentation parser
        AnsibleModule(argument_spec={}, bypass_checks=True).fail_json(msg=missing_required_lib("PyYAML"))
    options = yaml.safe_load(DOCUMENTATION)["options"]
    spec = spec_from_doc(options)
    spec["database_connection"]["no_log"] = True
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if psycopg is None and psycopg2 is None:
        module.fail_json(msg=missing_required_lib("psycopg") + " (run this module with Galaxy's virtualenv Python)")
    try:
        result = run(module)
    except hj.HandlerJobsError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # database errors: report them, not a traceback
        if type(exc).__module__.split(".", maxsplit=1)[0] in ("psycopg", "psycopg2"):
            module.fail_json(msg=f"database error: {exc}")
        raise
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
