# -*- coding: utf-8 -*-
"""Unit tests of the orphan logic: which rows belong to no planned live handler, and what happens to them."""
from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_invocations as hi
from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils import orphans as orph

ROSTER = {
    "handler_h1_0": {"pools": ["job-handlers", "workflow-schedulers"], "tags": [], "static": False},
    "handler_h1_1": {"pools": ["job-handlers", "workflow-schedulers"], "tags": [], "static": False},
    "static1": {"pools": [], "tags": ["special"], "static": True},
}
BEATS = [
    orph.Heartbeat("handler_h1_0", "h1", 1.0),
    orph.Heartbeat("handler_h1_1", "h1", 900.0),    # planned, its process is down
    orph.Heartbeat("handler_h2_0", "h2", 600.0),    # not in the plan any more, dead
    orph.Heartbeat("handler_old_0", "h1", 2.0),     # not in the plan but alive (draining)
    orph.Heartbeat("static1", "h1", 0.5),
]


def job(i, state, handler, runner=None):
    return hj.Job(id=i, tool_id="cat1", state=state, handler=handler, job_runner_name=runner)


def inv(i, state, handler):
    return hi.Invocation(id=i, workflow_id=3, state=state, handler=handler, scheduler="core")


@pytest.fixture
def live():
    return orph.Liveness.build(ROSTER, BEATS, max_age=120)


def test_liveness_from_plan_and_heartbeats(live):
    assert live.fresh == {"handler_h1_0", "handler_old_0", "static1"}
    assert live.live_values("job") == ["_default_", "handler_h1_0", "handler_old_0", "special", "static1"]
    assert live.live_values("invocation") == ["_default_", "handler_h1_0", "handler_old_0", "static1"]
    assert live.reason("handler_h1_0", "job") is None and live.reason("_default_", "job") is None
    assert live.reason("handler_old_0", "invocation") is None  # alive: never touched
    assert live.reason("handler_h2_0", "job") == "not in the plan, last heartbeat 600 s ago from h2"
    assert live.reason("handler_h1_1", "job") == "planned, last heartbeat 900 s ago from h1"
    assert live.reason("gone_tag", "job") == "not in the plan, no heartbeat"
    # a job tag is no scheduler tag: an invocation addressed to 'special' reaches no scheduler
    assert live.reason("special", "job") is None and live.reason("special", "invocation") is not None


def test_the_freshest_heartbeat_of_a_name_counts():
    live = orph.Liveness.build(ROSTER, [orph.Heartbeat("x", "a", 500), orph.Heartbeat("x", "b", 3)], 120)
    assert "x" in live.fresh and live.last_seen["x"].hostname == "b"


def test_decide_hands_back_never_started_rows_of_names_not_in_the_plan(live):
    jobs = [job(1, "new", "handler_h2_0"), job(2, "running", "handler_h2_0"), job(3, "queued", "handler_h2_0", "slurm"),
            job(4, "paused", "handler_h2_0"), job(5, "new", "handler_h1_1"), job(6, "ok", "handler_h2_0")]
    invs = [inv(7, "new", "handler_h2_0"), inv(8, "ready", "handler_h2_0"), inv(9, "scheduled", "handler_h2_0")]
    found = orph.decide(jobs, invs, live, ROSTER, orph.Options(), has_runner_column=True)
    assert [(o.kind, o.id, o.action, o.target) for o in found] == [
        ("job", 1, "hand back", "_default_"), ("job", 2, "keep", None), ("job", 3, "keep", None),
        ("job", 4, "hand back", "_default_"), ("job", 5, "keep", None),   # planned: its handler recovers it
        ("invocation", 7, "hand back", "_default_"), ("invocation", 8, "keep", None)]


def test_decide_with_fail_started_and_include_planned(live):
    jobs = [job(2, "running", "handler_h2_0"), job(5, "new", "handler_h1_1")]
    invs = [inv(8, "ready", "handler_h2_0")]
    options = orph.Options(include_planned=True, fail_started=True, job_target="special")
    found = orph.decide(jobs, invs, live, ROSTER, options, has_runner_column=False)
    assert [(o.kind, o.id, o.action, o.target) for o in found] == [
        ("job", 2, "fail", "error"), ("job", 5, "hand back", "special"), ("invocation", 8, "fail", "failed")]


def test_a_target_nobody_serves_is_refused_only_when_needed(live):
    with pytest.raises(hj.HandlerJobsError, match="no planned workflow scheduler"):
        orph.decide([], [inv(7, "new", "handler_h2_0")], live, ROSTER, orph.Options(invocation_target="special"), True)
    assert orph.decide([job(2, "running", "gone")], [], live, ROSTER, orph.Options(job_target="nowhere"), True)[0].action == "keep"


def test_summary_diff_and_guarded_updates(live):
    found = orph.decide([job(1, "new", "handler_h2_0"), job(2, "running", "handler_h2_0")],
                        [inv(7, "new", "handler_h2_0")], live, ROSTER, orph.Options(), True)
    assert orph.summary_lines(found, [], check_mode=True) == [
        "handler_h2_0 (not in the plan, last heartbeat 600 s ago from h2): 2 job(s), 1 invocation(s); "
        "would hand back job 1, invocation 7 -> _default_; left job 2 (running)"]
    done = [found[0]]   # the invocation changed meanwhile: its guarded UPDATE matched nothing
    assert orph.summary_lines(found, done, check_mode=False)[0].endswith(
        "handed back job 1 -> _default_; left job 2 (running), invocation 7 (new)")
    assert found[0].line(False) == "job 1 (cat1, new): handler handler_h2_0\n"
    assert found[0].line(True) == "job 1 (cat1, new): handler _default_\n"
    failed = orph.Orphan("job", 2, "cat1", "running", "h", "r", orph.FAIL, "error")
    assert failed.line(True) == "job 2 (cat1, handler h): state error\n"
    sql = orph.update_sql(found[0], True)
    assert sql.startswith("UPDATE job SET handler") and "state = %(state)s" in sql and "job_runner_name IS NULL" in sql
    assert orph.update_sql(failed, True).startswith("UPDATE job SET state") and "job_runner_name" not in orph.update_sql(failed, True)
    assert orph.update_sql(found[2], True).startswith("UPDATE workflow_invocation SET handler")
    assert "NOT (handler = ANY(%(live)s))" in orph.select_jobs_sql(False) and "job_runner_name" in orph.select_jobs_sql(True)
