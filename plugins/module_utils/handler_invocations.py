# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workflow invocations held by Galaxy workflow schedulers: what blocks a drain, what may be handed back.

Pure logic (no Ansible, no database driver), the counterpart of ``handler_jobs`` for Galaxy's
``workflow_invocation`` table (columns ``id``, ``workflow_id``, ``state``, ``scheduler``, ``handler``).

Facts from Galaxy's model (``WorkflowInvocation.states``) and scheduling manager:

- states: ``new``, ``requires_materialization``, ``ready``, ``cancelling``, ``scheduled``,
  ``cancelled``, ``failed``; the last three are final (an invocation never leaves them);
- a web process queues an invocation ``new`` with ``handler`` set to a scheduler tag (``_default_``
  for the ``workflow-schedulers`` pool, ``X`` for ``workflow-schedulers.X``) under a database
  assignment method; a scheduler grabs it by writing its server name into ``handler``;
- only a process in a ``workflow-schedulers`` pool runs the request monitor, which schedules every
  active invocation whose ``handler`` is its own name (``ready`` ones until all steps are scheduled);
- so a ``new`` invocation was never started, and setting its ``handler`` back to a tag a live
  scheduler serves lets that scheduler grab it as if it had just been queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.module_utils.handler_jobs import (
    DEFAULT_HANDLER_TAG, Handler, HandlerJobsError, pool_tags,
)

SCHEDULERS_POOL = "workflow-schedulers"
TABLE = "workflow_invocation"

#: Galaxy's ``WorkflowInvocation.states`` that never change again.
FINAL_STATES = ("scheduled", "cancelled", "failed")
#: Every other state Galaxy has (an invocation in one of them stays attached to its scheduler).
NON_FINAL_STATES = ("new", "requires_materialization", "ready", "cancelling")
#: Never started by a scheduler: may be handed back once the scheduler is stopped.
NEVER_STARTED_STATES = ("new",)


@dataclass(frozen=True)
class Invocation:
    """One row of Galaxy's ``workflow_invocation`` table (the columns this logic reads)."""

    id: int
    workflow_id: int | None
    state: str
    handler: str | None
    scheduler: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Invocation":
        workflow = row.get("workflow_id")
        return cls(id=int(row["id"]), workflow_id=int(workflow) if workflow is not None else None,
                   state=str(row.get("state") or ""), handler=row.get("handler"), scheduler=row.get("scheduler"))

    def describe(self) -> str:
        return f"invocation {self.id} (workflow {self.workflow_id}) {self.state} on {self.handler}"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "workflow_id": self.workflow_id, "state": self.state, "handler": self.handler,
                "scheduler": self.scheduler}


def is_final(invocation: Invocation) -> bool:
    return invocation.state in FINAL_STATES


def never_started(invocation: Invocation) -> bool:
    return invocation.state in NEVER_STARTED_STATES


def scheduler_tags(pools: Iterable[str]) -> list[str]:
    """The invocation tags Galaxy derives from ``--attach-to-pool`` values (scheduler pools only)."""
    return pool_tags(pools, SCHEDULERS_POOL)


def served_scheduler_tags(roster: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every ``workflow_invocation.handler`` value a scheduler of the roster picks up (names and tags)."""
    served: set[str] = set()
    for name, entry in roster.items():
        tags = scheduler_tags(entry.get("pools") or ())
        if tags:
            served.add(str(name))
            served.update(tags)
    return served


def orphan_scheduler_tags(handlers: Sequence[Handler], roster: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Scheduler tags of removed handlers that no remaining scheduler serves: tag -> removed handler."""
    served = served_scheduler_tags(roster)
    orphans: dict[str, str] = {}
    for handler in handlers:
        for tag in scheduler_tags(handler.pools):
            if tag not in served and tag not in orphans:
                orphans[tag] = handler.name
    return orphans


def handback_target(handler: Handler, roster: Mapping[str, Mapping[str, Any]], override: str | None = None) -> str:
    """Where the never-started invocations of a removed scheduler go: its first tag still served, else ``_default_``."""
    served = served_scheduler_tags(roster)
    target = override or next((t for t in scheduler_tags(handler.pools) if t in served), DEFAULT_HANDLER_TAG)
    if target not in served or target == handler.name:
        raise HandlerJobsError(
            f"workflow invocations of {handler.name} cannot be handed back to {target!r}: no remaining workflow "
            f"scheduler takes invocations addressed to it (remaining: {', '.join(sorted(served)) or 'none'})"
        )
    return target


@dataclass(frozen=True)
class InvocationHandback:
    """One ``workflow_invocation.handler`` change, from a removed scheduler (or its orphan tag) to a live tag."""

    invocation: Invocation
    target: str
    owner: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.invocation.as_dict(), "to": self.target, "from_handler": self.owner}


def plan_handbacks(invocations: Iterable[Invocation], handlers: Sequence[Handler],
                   roster: Mapping[str, Mapping[str, Any]], override: str | None = None) -> list[InvocationHandback]:
    """The changes that hand back never-started invocations of removed schedulers (by name or orphan tag).

    A target is only needed (and checked) when there is something to hand back.
    """
    by_name = {h.name: h for h in handlers}
    orphans = orphan_scheduler_tags(handlers, roster)
    changes = []
    for invocation in invocations:
        if not never_started(invocation):
            continue
        owner = invocation.handler if invocation.handler in by_name else orphans.get(invocation.handler or "")
        if owner is None:
            continue
        changes.append(InvocationHandback(invocation, handback_target(by_name[owner], roster, override), owner))
    return sorted(changes, key=lambda c: c.invocation.id)


def select_sql() -> str:
    """Non-final invocations addressed to any of the given handler values (names or tags)."""
    return (
        f"SELECT id, workflow_id, state, scheduler, handler FROM {TABLE} "
        "WHERE handler = ANY(%(handlers)s) AND NOT (state = ANY(%(final)s)) ORDER BY id"
    )


def handback_sql() -> str:
    """Move one invocation, only while it is still ``new`` with the handler that was read."""
    return (
        f"UPDATE {TABLE} SET handler = %(to)s, update_time = (now() AT TIME ZONE 'utc') "
        "WHERE id = %(id)s AND handler = %(from)s AND state = %(state)s RETURNING id"
    )


def report(handlers: Sequence[Handler], held: Iterable[Invocation], moved: Iterable[InvocationHandback],
           blocking: Iterable[Invocation]) -> dict[str, dict[str, list[int]]]:
    """Per removed handler: invocation ids held at the start, waited for, handed back, still blocking."""
    held, moved, blocking = list(held), list(moved), list(blocking)
    out = {}
    for handler in handlers:
        mine = [i.id for i in held if i.handler == handler.name]
        back = [c.invocation.id for c in moved if c.owner == handler.name]
        block = [i.id for i in blocking if i.handler == handler.name]
        out[handler.name] = {"held": mine, "waited_for": [i for i in mine if i not in back and i not in block],
                             "handed_back": back, "blocking": block}
    return out


def summary_suffix(entry: Mapping[str, list[int]], moved: Iterable[InvocationHandback], name: str) -> str:
    """The part of a drain's report line about invocations ("" when the handler held none)."""
    if not (entry["held"] or entry["handed_back"] or entry["blocking"]):
        return ""
    waited, back = entry["waited_for"], entry["handed_back"]
    text = f"; invocations: waited for {len(waited)}"
    text += " (" + ", ".join(map(str, waited)) + ")" if waited else ""
    text += f", handed back {len(back)}"
    if back:
        targets = sorted({c.target for c in moved if c.owner == name})
        text += " (" + ", ".join(map(str, back)) + " -> " + ", ".join(targets) + ")"
    if entry["blocking"]:
        text += ", still blocking " + ", ".join(map(str, entry["blocking"]))
    return text


def blocking_message(invocations: Sequence[Invocation], waited: float) -> str:
    return (
        f"after {waited:.0f} s, {len(invocations)} workflow invocation(s) not in a final state are still assigned to "
        "removed handlers: " + "; ".join(i.describe() for i in invocations)
    )


def diff_lines(changes: Sequence[InvocationHandback]) -> tuple[str, str]:
    before = "".join(f"workflow_invocation {c.invocation.id} (workflow {c.invocation.workflow_id}, "
                     f"{c.invocation.state}): handler {c.invocation.handler}\n" for c in changes)
    after = "".join(f"workflow_invocation {c.invocation.id} (workflow {c.invocation.workflow_id}, "
                    f"{c.invocation.state}): handler {c.target}\n" for c in changes)
    return before, after
