# -*- coding: utf-8 -*-
"""Unit tests of the drain logic for workflow invocations (what blocks a removed scheduler, what is handed back)."""
from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_invocations as hi
from ansible_collections.galaxyops.fleet.plugins.module_utils.handler_jobs import Handler, HandlerJobsError

ROSTER = {
    "handler_0": {"pools": ["job-handlers", "workflow-schedulers"], "tags": [], "static": False},
    "gpu_0": {"pools": ["job-handlers.gpu", "workflow-schedulers.gpu"], "tags": [], "static": False},
    "plain_0": {"pools": ["job-handlers"], "tags": [], "static": False},
}


def inv(i, state, handler, workflow=7):
    return hi.Invocation(id=i, workflow_id=workflow, state=state, handler=handler, scheduler="core")


def test_states_are_galaxys():
    assert set(hi.FINAL_STATES) == {"scheduled", "cancelled", "failed"}
    assert set(hi.NON_FINAL_STATES) == {"new", "ready", "cancelling", "requires_materialization"}
    assert hi.never_started(inv(1, "new", "h")) and not hi.never_started(inv(1, "ready", "h"))
    assert hi.is_final(inv(1, "scheduled", "h")) and not hi.is_final(inv(1, "cancelling", "h"))


def test_from_row_reads_galaxys_columns():
    row = {"id": "4", "workflow_id": 9, "state": "ready", "handler": "handler_2", "scheduler": "core", "history_id": 1}
    assert hi.Invocation.from_row(row) == hi.Invocation(4, 9, "ready", "handler_2", "core")
    assert hi.Invocation.from_row(row).describe() == "invocation 4 (workflow 9) ready on handler_2"


def test_scheduler_tags_and_served():
    assert hi.scheduler_tags(["job-handlers", "workflow-schedulers", "workflow-schedulers.gpu"]) == ["_default_", "gpu"]
    # plain_0 is no workflow scheduler: neither its name nor its job tag takes invocations
    assert hi.served_scheduler_tags(ROSTER) == {"handler_0", "_default_", "gpu_0", "gpu"}


def test_handback_target_is_own_tag_then_default_and_must_be_served():
    assert hi.handback_target(Handler("gpu_1", ("workflow-schedulers.gpu",)), ROSTER) == "gpu"
    assert hi.handback_target(Handler("handler_2", ("workflow-schedulers",)), ROSTER) == "_default_"
    assert hi.handback_target(Handler("old_0", ("workflow-schedulers.old",)), ROSTER) == "_default_"
    with pytest.raises(HandlerJobsError, match="no remaining workflow scheduler"):
        hi.handback_target(Handler("handler_2", ("workflow-schedulers",)), {"plain_0": ROSTER["plain_0"]})
    with pytest.raises(HandlerJobsError, match="'nowhere'"):
        hi.handback_target(Handler("handler_2", ("workflow-schedulers",)), ROSTER, override="nowhere")


def test_plan_handbacks_moves_only_new_invocations_of_removed_schedulers_and_orphan_tags():
    handlers = [Handler("handler_2", ("workflow-schedulers",)), Handler("old_0", ("workflow-schedulers.old",))]
    assert hi.orphan_scheduler_tags(handlers, ROSTER) == {"old": "old_0"}
    invs = [inv(3, "new", "handler_2"), inv(4, "ready", "handler_2"), inv(5, "new", "old"),
            inv(6, "new", "handler_0"), inv(2, "new", "_default_"), inv(7, "cancelling", "old")]
    changes = hi.plan_handbacks(invs, handlers, ROSTER)
    assert [(c.invocation.id, c.target, c.owner) for c in changes] == [(3, "_default_", "handler_2"), (5, "_default_", "old_0")]


def test_no_target_needed_when_nothing_to_hand_back():
    handlers = [Handler("handler_2", ("workflow-schedulers",))]
    assert hi.plan_handbacks([inv(4, "ready", "handler_2")], handlers, {}) == []
    with pytest.raises(HandlerJobsError):
        hi.plan_handbacks([inv(3, "new", "handler_2")], handlers, {})


def test_report_summary_and_messages():
    handlers = [Handler("handler_2", ("workflow-schedulers",)), Handler("handler_3", ("job-handlers",))]
    held = [inv(1, "ready", "handler_2"), inv(2, "new", "handler_2"), inv(3, "ready", "handler_2")]
    moved = [hi.InvocationHandback(held[1], "_default_", "handler_2")]
    per = hi.report(handlers, held, moved, [held[2]])
    assert per["handler_2"] == {"held": [1, 2, 3], "waited_for": [1], "handed_back": [2], "blocking": [3]}
    assert hi.summary_suffix(per["handler_2"], moved, "handler_2") == (
        "; invocations: waited for 1 (1), handed back 1 (2 -> _default_), still blocking 3")
    assert hi.summary_suffix(per["handler_3"], moved, "handler_3") == ""
    msg = hi.blocking_message([held[2]], 600)
    assert msg.startswith("after 600 s, 1 workflow invocation(s)") and "invocation 3 (workflow 7) ready on handler_2" in msg
    before, after = hi.diff_lines(moved)
    assert (before, after) == ("workflow_invocation 2 (workflow 7, new): handler handler_2\n",
                               "workflow_invocation 2 (workflow 7, new): handler _default_\n")


def test_sql_reads_non_final_and_guards_the_update():
    assert "NOT (state = ANY(%(final)s))" in hi.select_sql() and "FROM workflow_invocation" in hi.select_sql()
    sql = hi.handback_sql()
    assert "handler = %(from)s" in sql and "state = %(state)s" in sql and sql.startswith("UPDATE workflow_invocation")
