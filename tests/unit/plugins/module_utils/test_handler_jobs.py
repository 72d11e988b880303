# -*- coding: utf-8 -*-
"""Unit tests of the pure drain logic (what blocks a removed handler, what may be handed back)."""
from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc

ROSTER = {
    "handler_0": {"pools": ["job-handlers", "workflow-schedulers"], "tags": [], "static": False},
    "gpu_0": {"pools": ["job-handlers.gpu"], "tags": ["gpu"], "static": False},
}


def job(i, state, handler, tool="cat1", runner=None):
    return hj.Job(id=i, tool_id=tool, state=state, handler=handler, job_runner_name=runner)


def test_terminal_states_are_galaxys_plus_skipped():
    assert set(hj.TERMINAL_STATES) == {"ok", "error", "deleted", "skipped"}


@pytest.mark.parametrize("state,runner,has_column,expected", [
    ("new", None, True, True),
    ("paused", None, True, True),
    ("queued", None, True, True),          # never dispatched (Galaxy's startup test)
    ("queued", "local:///", True, False),  # dispatched to a runner
    ("queued", None, False, True),         # the stand-in has no runner column
    ("running", None, True, False),
    ("stop", None, True, False),
    ("deleting", None, True, False),
])
def test_never_started(state, runner, has_column, expected):
    assert hj.never_started(job(1, state, "h", runner=runner), has_column) is expected


def test_split_without_handback_waits_for_everything_not_terminal():
    jobs = [job(1, "new", "h"), job(2, "running", "h"), job(3, "ok", "h"), job(4, "skipped", "h")]
    split = hj.split_jobs(jobs, True, handback=False)
    assert [j.id for j in split.wait] == [1, 2]
    assert split.handback == []


def test_split_with_handback():
    jobs = [job(1, "new", "h"), job(2, "running", "h"), job(3, "queued", "h", runner="slurm")]
    split = hj.split_jobs(jobs, True, handback=True)
    assert [j.id for j in split.wait] == [2, 3]
    assert [j.id for j in split.handback] == [1]


def test_pool_tags():
    assert hj.pool_tags(["job-handlers", "workflow-schedulers", "job-handlers.gpu", "job-handlers"]) == ["_default_", "gpu"]


def test_served_tags_static_without_tags_serves_default():
    served = hj.served_tags({"special": {"pools": [], "tags": [], "static": True}})
    assert served == {"special", "_default_"}


def test_targets_default_pool_member():
    targets = hj.handback_targets([hj.Handler("handler_2", ("job-handlers",))], ROSTER)
    assert targets == {"handler_2": "_default_"}


def test_targets_subpool_member_goes_back_to_its_tag():
    targets = hj.handback_targets([hj.Handler("gpu_1", ("job-handlers.gpu",))], ROSTER)
    assert targets == {"gpu_1": "gpu"}


def test_targets_static_handler_goes_to_default_handler():
    targets = hj.handback_targets([hj.Handler("special", (), ("special",))], ROSTER, default_handler="gpu")
    assert targets == {"special": "gpu"}


def test_target_must_be_served():
    with pytest.raises(hj.HandlerJobsError, match="no remaining handler"):
        hj.handback_targets([hj.Handler("handler_2", ("job-handlers",))], {"gpu_0": ROSTER["gpu_0"]})
    with pytest.raises(hj.HandlerJobsError, match="'nowhere'"):
        hj.handback_targets([hj.Handler("handler_2", ("job-handlers",))], ROSTER, override="nowhere")


def test_orphan_tags_of_removed_static_handler_and_renamed_pool():
    handlers = [hj.Handler("special", (), ("special",)), hj.Handler("old_0", ("job-handlers.old",)),
                hj.Handler("handler_2", ("job-handlers",))]
    assert hj.orphan_tags(handlers, ROSTER) == {"special": "special", "old": "old_0"}


def test_plan_handbacks_by_name_and_by_orphan_tag():
    handlers = [hj.Handler("special", (), ("spec",)), hj.Handler("handler_2", ("job-handlers",))]
    targets = hj.handback_targets(handlers, ROSTER)
    orphans = hj.orphan_tags(handlers, ROSTER)
    jobs = [
        job(5, "new", "spec", tool="cat_special"),   # addressed to the removed tag, never grabbed
        job(3, "new", "handler_2"),                   # grabbed, never started
        job(4, "running", "handler_2"),               # started: not moved
        job(6, "paused", "special"),
        job(7, "new", "handler_0"),                   # a live handler's job: not ours
        job(8, "queued", "handler_2", runner="local"),
    ]
    changes = hj.plan_handbacks(jobs, targets, orphans, has_runner_column=True)
    assert [(c.job.id, c.target, c.owner) for c in changes] == [
        (3, "_default_", "handler_2"), (5, "_default_", "special"), (6, "_default_", "special")]


def test_report_and_summary():
    handlers = [hj.Handler("handler_2", ("job-handlers",))]
    held = [job(1, "running", "handler_2"), job(2, "new", "handler_2"), job(3, "running", "handler_2")]
    moved = [hj.Handback(held[1], "_default_", "handler_2")]
    per = hj.report(handlers, held, moved, [held[2]])
    assert per == {"handler_2": {"held": [1, 2, 3], "waited_for": [1], "handed_back": [2], "blocking": [3]}}
    assert hj.summary_lines(per, moved) == [
        "handler_2: waited for 1 job(s) (1), handed back 1 (2 -> _default_), still blocking 3"]


def test_blocking_message_names_every_job():
    msg = hj.blocking_message([job(12, "running", "handler_2"), job(13, "queued", "handler_2", tool="cat2")], 600)
    assert "after 600 s, 2 job(s)" in msg
    assert "job 12 (cat1) running on handler_2" in msg and "job 13 (cat2) queued on handler_2" in msg


@pytest.mark.parametrize("url,expected", [
    ("postgresql://u:p@h:5432/g", "postgresql://u:p@h:5432/g"),
    ("postgresql+psycopg://u:p@h/g", "postgresql://u:p@h/g"),
    ("postgresql+psycopg2://u@h/g", "postgresql://u@h/g"),
    ("postgres://u@h/g", "postgres://u@h/g"),
])
def test_conninfo(url, expected):
    assert hj.conninfo(url) == expected


def test_conninfo_refuses_sqlite():
    with pytest.raises(hj.HandlerJobsError, match="PostgreSQL"):
        hj.conninfo("sqlite:///database/universe.sqlite")


def test_database_connection_from_galaxy_yml():
    assert hj.database_connection({"galaxy": {"database_connection": "postgresql://x/y"}}) == "postgresql://x/y"
    with pytest.raises(hj.HandlerJobsError, match="not set"):
        hj.database_connection({"gravity": {}})


def test_sql_guards_the_update_on_what_was_read():
    sql = hj.handback_sql(True)
    assert "handler = %(from)s" in sql and "state = %(state)s" in sql and "job_runner_name IS NULL" in sql
    assert "job_runner_name" not in hj.handback_sql(False)
    assert "job_runner_name" in hj.select_jobs_sql(True) and "job_runner_name" not in hj.select_jobs_sql(False)


def test_diff_text():
    before, after = hj.diff_text([hj.Handback(job(3, "new", "handler_2"), "_default_", "handler_2")])
    assert before == "job 3 (cat1, new): handler handler_2\n"
    assert after == "job 3 (cat1, new): handler _default_\n"


def test_handler_needs_a_name():
    with pytest.raises(hj.HandlerJobsError):
        hj.Handler.from_dict({"pools": []})


def test_argument_spec_from_documentation():
    import yaml

    from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_handler_jobs as mod

    spec = spec_from_doc(yaml.safe_load(mod.DOCUMENTATION)["options"])
    assert spec["state"] == {"type": "str", "choices": ["held", "idle", "released"], "default": "held"}
    assert spec["handlers"]["options"]["name"] == {"type": "str", "required": True}
    assert spec["database_connection"] == {"type": "str"}
