# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs and workflow invocations of handlers that no planned, live process has (Galaxy issue 10243).

Pure logic (no Ansible, no database driver): the module ``galaxy_orphans`` feeds it the plan's
roster of an instance (``plan.instances.NAME.handlers``: server name -> pools, tags), Galaxy's
``worker_process`` heartbeats and the unfinished rows of ``job`` and ``workflow_invocation``.

A ``handler`` value is **live** when a process with that server name wrote a heartbeat less than
``max_age`` seconds ago (planned or not: a handler that drains is out of the plan but alive), or
when it is a tag a planned handler serves (``_default_``, ``X`` of ``job-handlers.X``, a static
handler's tag). Any other value is an orphan's: a name that is not in the plan (its host left the
inventory, a handler died before it was removed) or a planned name whose process sends no
heartbeat (down or dead). Only the first kind is acted upon unless ``include_planned``: a planned
handler that comes back recovers its own jobs.

Never-started rows (jobs ``new``/``paused``/``queued`` without a runner, invocations ``new``) are
handed back to a tag a live handler serves. Started ones cannot be resumed by another handler;
with ``fail_started`` they end (jobs ``error``, invocations ``failed``), as Galaxy's local runner
ends the jobs it finds running at startup; else they are only listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_invocations as hi
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj

HANDBACK = "hand back"
FAIL = "fail"
KEEP = "keep"
FAILED_STATE = {"job": "error", "invocation": "failed"}


@dataclass(frozen=True)
class Heartbeat:
    """One row of Galaxy's ``worker_process`` table, with its age in seconds (database clock)."""

    server_name: str
    hostname: str
    age: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Heartbeat":
        return cls(str(row["server_name"]), str(row.get("hostname") or "?"), float(row.get("age") or 0.0))


@dataclass(frozen=True)
class Liveness:
    """What counts as alive for one instance."""

    planned: frozenset[str]        # handler server names of the plan
    job_tags: frozenset[str]       # job.handler tags planned handlers serve (not names)
    scheduler_tags: frozenset[str]  # workflow_invocation.handler tags planned schedulers serve
    fresh: frozenset[str]          # server names with a fresh heartbeat
    last_seen: Mapping[str, Heartbeat]

    @classmethod
    def build(cls, roster: Mapping[str, Mapping[str, Any]], heartbeats: Iterable[Heartbeat], max_age: float) -> "Liveness":
        planned = frozenset(str(n) for n in roster)
        beats = sorted(heartbeats, key=lambda b: -b.age)  # the freshest per name wins
        last = {b.server_name: b for b in beats}
        return cls(planned=planned, job_tags=frozenset(hj.served_tags(roster) - planned),
                   scheduler_tags=frozenset(hi.served_scheduler_tags(roster) - planned),
                   fresh=frozenset(n for n, b in last.items() if b.age <= max_age), last_seen=last)

    def live_values(self, kind: str) -> list[str]:
        """The handler values whose rows are not orphans (what the database query leaves out)."""
        tags = self.job_tags if kind == "job" else self.scheduler_tags
        return sorted(tags | self.fresh)

    def reason(self, value: str | None, kind: str) -> str | None:
        """Why a row with this handler value is an orphan, None when it is not."""
        if value is None or value in self.fresh or value in (self.job_tags if kind == "job" else self.scheduler_tags):
            return None
        beat = self.last_seen.get(value)
        seen = f"last heartbeat {beat.age:.0f} s ago from {beat.hostname}" if beat else "no heartbeat"
        return f"planned, {seen}" if value in self.planned else f"not in the plan, {seen}"


@dataclass(frozen=True)
class Orphan:
    """A row assigned to a handler value no live process has, and what to do with it."""

    kind: str            # job | invocation
    id: int
    label: str           # the tool id, or "workflow N"
    state: str
    handler: str
    reason: str
    action: str          # hand back | fail | keep
    target: str | None = None  # the new handler (hand back) or state (fail)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label, "state": self.state, "handler": self.handler,
                "reason": self.reason, "action": self.action, "to": self.target}

    def line(self, after: bool) -> str:
        table = "job" if self.kind == "job" else "workflow_invocation"
        if self.action == FAIL:
            return f"{table} {self.id} ({self.label}, handler {self.handler}): state {self.target if after else self.state}\n"
        return f"{table} {self.id} ({self.label}, {self.state}): handler {self.target if after else self.handler}\n"


@dataclass(frozen=True)
class Options:
    include_planned: bool = False
    fail_started: bool = False
    job_target: str | None = None         # handback_to, else default_handler, else _default_
    invocation_target: str | None = None  # handback_invocations_to, else _default_


def _target(kind: str, roster: Mapping[str, Mapping[str, Any]], wanted: str | None) -> str:
    served = hj.served_tags(roster) if kind == "job" else hi.served_scheduler_tags(roster)
    target = wanted or hj.DEFAULT_HANDLER_TAG
    if target not in served:
        what = "handler" if kind == "job" else "workflow scheduler"
        raise hj.HandlerJobsError(f"orphaned {kind}s cannot be handed back to {target!r}: no planned {what} takes "
                                  f"{kind}s addressed to it (planned: {', '.join(sorted(served)) or 'none'})")
    return target


def decide(jobs: Iterable[hj.Job], invocations: Iterable[hi.Invocation], live: Liveness,
           roster: Mapping[str, Mapping[str, Any]], options: Options, has_runner_column: bool) -> list[Orphan]:
    """Every orphaned row with its action; a hand-back target is only needed (and checked) when used."""
    rows: list[tuple[str, Any, str, bool]] = []
    for job in jobs:
        if not hj.is_terminal(job):
            rows.append(("job", job, job.tool_id or "?", hj.never_started(job, has_runner_column)))
    for inv in invocations:
        if not hi.is_final(inv):
            rows.append(("invocation", inv, f"workflow {inv.workflow_id}", hi.never_started(inv)))
    out = []
    for kind, row, label, fresh_row in rows:
        reason = live.reason(row.handler, kind)
        if reason is None:
            continue
        target = None
        if row.handler in live.planned and not options.include_planned:
            action = KEEP
        elif fresh_row:
            action = HANDBACK
            target = _target(kind, roster, options.job_target if kind == "job" else options.invocation_target)
        elif options.fail_started:
            action, target = FAIL, FAILED_STATE[kind]
        else:
            action = KEEP
        out.append(Orphan(kind, row.id, label, row.state, row.handler, reason, action, target))
    return sorted(out, key=lambda o: (o.kind != "job", o.id))


def summary_lines(orphans: Sequence[Orphan], done: Sequence[Orphan], check_mode: bool) -> list[str]:
    """One line per orphaned handler value: what it holds and what was (or would be) done."""
    verb = "would " if check_mode else ""
    done_ids = {(o.kind, o.id) for o in done}
    lines = []
    for handler in sorted({o.handler for o in orphans}):
        mine = [o for o in orphans if o.handler == handler]
        jobs = [o for o in mine if o.kind == "job"]
        invs = [o for o in mine if o.kind == "invocation"]
        parts = []
        for action, word in ((HANDBACK, "hand back" if check_mode else "handed back"), (FAIL, "fail" if check_mode else "failed")):
            moved = [o for o in mine if o.action == action and (check_mode or (o.kind, o.id) in done_ids)]
            if moved:
                parts.append(f"{verb}{word} " + ", ".join(f"{o.kind} {o.id}" for o in moved)
                             + (f" -> {moved[0].target}" if action == HANDBACK else ""))
        kept = [o for o in mine if o.action == KEEP or (not check_mode and (o.kind, o.id) not in done_ids)]
        if kept:
            parts.append("left " + ", ".join(f"{o.kind} {o.id} ({o.state})" for o in kept))
        lines.append(f"{handler} ({mine[0].reason}): {len(jobs)} job(s), {len(invs)} invocation(s); " + "; ".join(parts))
    return lines


def heartbeat_sql() -> str:
    return ("SELECT server_name, hostname, EXTRACT(EPOCH FROM ((now() AT TIME ZONE 'utc') - update_time)) AS age "
            "FROM worker_process")


def select_jobs_sql(has_runner_column: bool) -> str:
    runner = ", job_runner_name" if has_runner_column else ""
    return (f"SELECT id, tool_id, state, handler{runner} FROM job WHERE handler IS NOT NULL "
            "AND NOT (handler = ANY(%(live)s)) AND NOT (state = ANY(%(final)s)) ORDER BY id")


def select_invocations_sql() -> str:
    return (f"SELECT id, workflow_id, state, scheduler, handler FROM {hi.TABLE} WHERE handler IS NOT NULL "
            "AND NOT (handler = ANY(%(live)s)) AND NOT (state = ANY(%(final)s)) ORDER BY id")


def update_sql(orphan: Orphan, has_runner_column: bool) -> str:
    """The guarded UPDATE of one orphan: it only matches while the row is as it was read."""
    table = "job" if orphan.kind == "job" else hi.TABLE
    column = "state" if orphan.action == FAIL else "handler"
    runner = " AND job_runner_name IS NULL" if orphan.kind == "job" and orphan.action == HANDBACK and has_runner_column else ""
    return (f"UPDATE {table} SET {column} = %(to)s, update_time = (now() AT TIME ZONE 'utc') "
            f"WHERE id = %(id)s AND handler = %(from)s AND state = %(state)s{runner} RETURNING id")
