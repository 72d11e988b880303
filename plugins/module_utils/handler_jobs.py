# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs held by Galaxy job handlers that are being removed: what blocks, what may be handed back.

Pure logic (no Ansible, no database driver): the module ``galaxy_handler_jobs`` feeds it rows of
Galaxy's ``job`` table (columns ``id``, ``tool_id``, ``state``, ``handler`` and, when the table has
it, ``job_runner_name``) and applies what it decides.

Facts from Galaxy 26.1 (``galaxy.model.Job``, ``galaxy.jobs.handler``, ``galaxy.web_stack.handlers``):

- ``Job.terminal_states`` is ``ok``, ``error``, ``deleted``: a job in one of them never changes again.
  ``skipped`` jobs (workflow steps whose condition was false) are created in that state and never
  run, so they block nothing either.
- With ``db-skip-locked`` / ``db-transaction-isolation`` a web process writes the handler TAG
  (``_default_`` for the ``job-handlers`` pool, ``X`` for ``job-handlers.X``, a static handler's id
  or tag) into ``job.handler``; a handler grabs ``state = 'new'`` rows whose ``handler`` is one of its
  tags by overwriting ``handler`` with its server name (the state stays ``new``). Its monitor then
  dispatches its own ``new`` jobs (``queued``, ``running``, ...). At startup a handler recovers its
  ``queued``/``running``/``stopped`` jobs; a ``queued`` job with no ``job_runner_name`` was never
  dispatched and goes back to ``new``.
- So a job that was never started is ``new``, ``paused`` (waits for the user to resume it, then
  goes ``new`` with the same handler) or ``queued`` without a job runner. Setting its ``handler``
  back to a tag that a live handler serves lets that handler grab it, as if it had just been
  submitted. That is only safe once the old handler process is stopped: a running handler keeps
  its own ``new`` jobs in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

DEFAULT_HANDLER_TAG = "_default_"
JOB_HANDLERS_POOL = "job-handlers"

#: Galaxy's ``Job.terminal_states``, plus ``skipped`` (created final, never run).
TERMINAL_STATES = ("ok", "error", "deleted", "skipped")
#: States of a job that no handler has started yet (``queued`` only without a job runner).
NEVER_STARTED_STATES = ("new", "paused", "queued")

DB_SCHEMES = ("postgresql://", "postgres://")
DB_DIALECTS = ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres+psycopg://")


class HandlerJobsError(Exception):
    """The request cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Job:
    """One row of Galaxy's ``job`` table (the columns this logic reads)."""

    id: int
    tool_id: str | None
    state: str
    handler: str | None
    job_runner_name: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Job":
        return cls(
            id=int(row["id"]),
            tool_id=row.get("tool_id"),
            state=str(row.get("state") or ""),
            handler=row.get("handler"),
            job_runner_name=row.get("job_runner_name"),
        )

    def describe(self) -> str:
        return f"job {self.id} ({self.tool_id or '?'}) {self.state} on {self.handler}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "tool_id": self.tool_id, "state": self.state, "handler": self.handler}


@dataclass(frozen=True)
class Handler:
    """A handler being removed: its server name, its pools (from its command line), its tags."""

    name: str
    pools: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Handler":
        name = str(data.get("name") or "").strip()
        if not name:
            raise HandlerJobsError("every entry of handlers needs a name (the handler's server name)")
        return cls(name=name, pools=tuple(str(p) for p in data.get("pools") or ()),
                   tags=tuple(str(t) for t in data.get("tags") or ()))

    def own_tags(self) -> list[str]:
        """The tags jobs were addressed with to reach this handler (besides its name)."""
        tags = list(pool_tags(self.pools))
        tags.extend(t for t in self.tags if t not in tags)
        return tags


def pool_tags(pools: Iterable[str], family: str = JOB_HANDLERS_POOL) -> list[str]:
    """The tags Galaxy derives from ``--attach-to-pool`` values of one pool family.

    ``family`` is ``job-handlers`` (jobs) or ``workflow-schedulers`` (invocations): the pool itself
    gives ``_default_``, ``FAMILY.X`` gives ``X``, other pools nothing.
    """
    tags: list[str] = []
    for pool in pools:
        if pool == family:
            tag = DEFAULT_HANDLER_TAG
        elif pool.startswith(family + "."):
            tag = pool[len(family) + 1:]
        else:
            continue
        if tag not in tags:
            tags.append(tag)
    return tags


def served_tags(roster: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every ``job.handler`` value a handler of the plan's roster picks up (server names and tags).

    ``roster`` is ``plan.instances.NAME.handlers`` (docs/plan.md): server name -> {pools, tags, static}.
    A static handler without tags gets ``_default_``, as Galaxy gives it.
    """
    served: set[str] = set()
    for name, entry in roster.items():
        served.add(str(name))
        served.update(pool_tags(entry.get("pools") or ()))
        tags = [str(t) for t in entry.get("tags") or ()]
        served.update(tags)
        if entry.get("static") and not tags:
            served.add(DEFAULT_HANDLER_TAG)
    return served


def handback_targets(handlers: Sequence[Handler], roster: Mapping[str, Mapping[str, Any]],
                     default_handler: str | None = None, override: str | None = None) -> dict[str, str]:
    """Where the never-started jobs of each removed handler go: handler name -> tag.

    The override when given; else the first of the handler's own tags that a remaining handler
    serves (a removed member of ``job-handlers.X`` hands back to ``X``); else the job
    configuration's default handler; else ``_default_``. The target must be served by the roster.
    """
    served = served_tags(roster)
    removed = {h.name for h in handlers}
    targets: dict[str, str] = {}
    for handler in handlers:
        if override:
            target = override
        else:
            target = next((t for t in handler.own_tags() if t in served and t not in removed), None)
            target = target or default_handler or DEFAULT_HANDLER_TAG
        if target in removed or target not in served:
            raise HandlerJobsError(
                f"jobs of {handler.name} cannot be handed back to {target!r}: no remaining handler takes jobs "
                f"addressed to it (remaining: {', '.join(sorted(served)) or 'none'})"
            )
        targets[handler.name] = target
    return targets


def orphan_tags(handlers: Sequence[Handler], roster: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Tags of removed handlers that no remaining handler serves: tag -> the removed handler it belonged to.

    New jobs still addressed to such a tag (a removed static handler's tag, a renamed pool) would wait forever.
    """
    served = served_tags(roster)
    orphans: dict[str, str] = {}
    for handler in handlers:
        for tag in handler.own_tags():
            if tag not in served and tag not in orphans:
                orphans[tag] = handler.name
    return orphans


def is_terminal(job: Job) -> bool:
    return job.state in TERMINAL_STATES


def never_started(job: Job, has_runner_column: bool) -> bool:
    """Whether no handler has started this job (Galaxy's own test at startup for ``queued``)."""
    if job.state == "queued":
        return not has_runner_column or not job.job_runner_name
    return job.state in NEVER_STARTED_STATES


@dataclass
class Split:
    """Non-terminal jobs of removed handlers, by what the drain does with them."""

    wait: list[Job] = field(default_factory=list)       # started: wait until they end
    handback: list[Job] = field(default_factory=list)   # never started: may be handed back


def split_jobs(jobs: Iterable[Job], has_runner_column: bool, handback: bool) -> Split:
    """Sort non-terminal jobs into those to wait for and those to hand back (all waited for without handback)."""
    split = Split()
    for job in jobs:
        if is_terminal(job):
            continue
        if handback and never_started(job, has_runner_column):
            split.handback.append(job)
        else:
            split.wait.append(job)
    return split


@dataclass(frozen=True)
class Handback:
    """One ``job.handler`` change: from the removed handler (or orphan tag) to a live tag."""

    job: Job
    target: str
    owner: str  # the removed handler the job belonged to

    def as_dict(self) -> dict[str, Any]:
        return {**self.job.as_dict(), "to": self.target, "from_handler": self.owner}


def plan_handbacks(jobs: Iterable[Job], targets: Mapping[str, str], orphans: Mapping[str, str],
                   has_runner_column: bool) -> list[Handback]:
    """The changes that hand back never-started jobs of removed handlers (by name or by orphan tag)."""
    changes = []
    for job in jobs:
        if is_terminal(job) or not never_started(job, has_runner_column):
            continue
        owner = job.handler if job.handler in targets else orphans.get(job.handler or "")
        if owner is None:
            continue
        changes.append(Handback(job=job, target=targets[owner], owner=owner))
    return sorted(changes, key=lambda c: c.job.id)


def conninfo(url: str) -> str:
    """A libpq URL from Galaxy's ``database_connection`` (SQLAlchemy style ``postgresql+psycopg://`` too)."""
    url = str(url or "").strip()
    for prefix in DB_DIALECTS:
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    if url.startswith(DB_SCHEMES):
        return url
    scheme = url.split("://", 1)[0] if "://" in url else (url[:20] or "nothing")
    raise HandlerJobsError(
        f"database_connection must be a PostgreSQL URL (postgresql:// or postgresql+psycopg://), got {scheme!r}: "
        "draining handlers reads Galaxy's job table, and SQLite has no concurrent handlers to drain"
    )


def database_connection(config: Any, source: str = "galaxy.yml") -> str:
    """Galaxy's ``galaxy.database_connection`` from a parsed galaxy.yml."""
    galaxy = config.get("galaxy") if isinstance(config, Mapping) else None
    if not isinstance(galaxy, Mapping) or not galaxy.get("database_connection"):
        raise HandlerJobsError(f"{source}: galaxy.database_connection is not set (Galaxy's default is SQLite)")
    return str(galaxy["database_connection"])


def select_jobs_sql(has_runner_column: bool) -> str:
    """Non-terminal jobs addressed to any of the given handler values (names or tags)."""
    runner = ", job_runner_name" if has_runner_column else ""
    return (
        f"SELECT id, tool_id, state, handler{runner} FROM job "
        "WHERE handler = ANY(%(handlers)s) AND NOT (state = ANY(%(terminal)s)) ORDER BY id"
    )


def handback_sql(has_runner_column: bool) -> str:
    """Move one job, only if it is still exactly as it was read (no lock held, no other writer overridden)."""
    runner = " AND job_runner_name IS NULL" if has_runner_column else ""
    return (
        "UPDATE job SET handler = %(to)s, update_time = (now() AT TIME ZONE 'utc') "
        f"WHERE id = %(id)s AND handler = %(from)s AND state = %(state)s{runner} RETURNING id"
    )


def report(handlers: Sequence[Handler], held: Iterable[Job], moved: Iterable[Handback],
           blocking: Iterable[Job]) -> dict[str, dict[str, Any]]:
    """Per removed handler: the jobs it held when the drain began, how many were waited for, handed back, still blocking."""
    held = list(held)
    moved = list(moved)
    blocking = list(blocking)
    out: dict[str, dict[str, Any]] = {}
    for handler in handlers:
        mine = [j.id for j in held if j.handler == handler.name]
        back = [c.job.id for c in moved if c.owner == handler.name]
        block = [j.id for j in blocking if j.handler == handler.name]
        out[handler.name] = {
            "held": mine,
            "waited_for": [i for i in mine if i not in back and i not in block],
            "handed_back": back,
            "blocking": block,
        }
    return out


def summary_lines(per_handler: Mapping[str, Mapping[str, Any]], moved: Iterable[Handback]) -> list[str]:
    """Readable lines for the play output."""
    targets: dict[str, set[str]] = {}
    for change in moved:
        targets.setdefault(change.owner, set()).add(change.target)
    lines = []
    for name, entry in per_handler.items():
        waited = entry["waited_for"]
        back = entry["handed_back"]
        line = f"{name}: waited for {len(waited)} job(s)"
        if waited:
            line += " (" + ", ".join(str(i) for i in waited) + ")"
        line += f", handed back {len(back)}"
        if back:
            line += " (" + ", ".join(str(i) for i in back) + " -> " + ", ".join(sorted(targets.get(name, ()))) + ")"
        if entry["blocking"]:
            line += ", still blocking " + ", ".join(str(i) for i in entry["blocking"])
        lines.append(line)
    return lines


def blocking_message(jobs: Sequence[Job], waited: float) -> str:
    return (
        f"after {waited:.0f} s, {len(jobs)} job(s) not in a terminal state are still assigned to removed handlers: "
        + "; ".join(j.describe() for j in jobs)
    )


def diff_text(changes: Sequence[Handback]) -> tuple[str, str]:
    before = "".join(f"job {c.job.id} ({c.job.tool_id}, {c.job.state}): handler {c.job.handler}\n" for c in changes)
    after = "".join(f"job {c.job.id} ({c.job.tool_id}, {c.job.state}): handler {c.target}\n" for c in changes)
    return before, after
