"""galaxy_handler_jobs and galaxy_orphans against the stand-in's PostgreSQL schema (real SQL, real guards)."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from standin_harness import Fleet, wait_for, write_galaxy_yml

from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_handler_jobs, galaxy_orphans

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs PostgreSQL as its own user: needs root")


class FakeModule:
    def __init__(self, mod, check_mode=False, **params):
        import yaml

        options = yaml.safe_load(mod.DOCUMENTATION)["options"]
        self.params = {name: doc.get("default") for name, doc in options.items()}
        self.params.update(params)
        self.check_mode = check_mode


class Database:
    """A database of its own on the session's PostgreSQL (the stand-in tests expect theirs empty)."""

    def __init__(self, postgres, name):
        self.postgres, self.name = postgres, name
        self.url = postgres.url.rsplit("/", 1)[0] + "/" + name

    def psql(self, sql):
        return self.postgres.psql(sql, db=self.name)


def new_database(standin_venv: Path, postgres, name: str) -> Database:
    postgres.psql(f"CREATE DATABASE {name} OWNER galaxy", db="postgres")
    database = Database(postgres, name)
    subprocess.run([f"{standin_venv}/bin/standin-manage-db", "--database-connection", database.url],
                   check=True, capture_output=True, text=True)
    return database


@pytest.fixture(scope="module")
def db(standin_venv: Path, postgres):
    return new_database(standin_venv, postgres, "galaxy_modules")


def rows(database, sql):
    return [line.split("|") for line in database.psql(sql).splitlines() if line]


ROSTER = {"handler_0": {"pools": ["job-handlers", "workflow-schedulers"], "tags": [], "static": False}}


def test_drain_waits_for_and_hands_back_invocations(db):
    db.psql("TRUNCATE job, workflow_invocation, worker_process RESTART IDENTITY")
    db.psql("INSERT INTO workflow_invocation (workflow_id, state, scheduler, handler) VALUES "
            "(1, 'new', 'core', 'handler_2'), (1, 'scheduled', 'core', 'handler_2'), (1, 'new', 'core', 'handler_0')")
    db.psql("INSERT INTO job (tool_id, state, handler) VALUES ('cat1', 'new', 'handler_2')")
    handlers = [{"name": "handler_2", "pools": ["job-handlers", "workflow-schedulers"], "tags": []}]
    held = galaxy_handler_jobs.run(FakeModule(galaxy_handler_jobs, handlers=handlers, roster=ROSTER,
                                              database_connection=db.url))
    assert [i["id"] for i in held["invocations"]] == [1] and [j["id"] for j in held["jobs"]] == [1]
    idle = galaxy_handler_jobs.run(FakeModule(galaxy_handler_jobs, state="idle", handlers=handlers, roster=ROSTER,
                                              timeout=0, poll_interval=0.1, database_connection=db.url))
    assert idle["failed"] and "invocation 1 (workflow 1) new on handler_2" in idle["msg"]
    check = galaxy_handler_jobs.run(FakeModule(galaxy_handler_jobs, check_mode=True, state="released", handlers=handlers,
                                               roster=ROSTER, database_connection=db.url))
    assert check["changed"] and "workflow_invocation 1 (workflow 1, new): handler _default_" in check["diff"]["after"]
    assert rows(db, "SELECT handler FROM workflow_invocation WHERE id = 1") == [["handler_2"]]
    done = galaxy_handler_jobs.run(FakeModule(galaxy_handler_jobs, state="released", handlers=handlers, roster=ROSTER,
                                              held_invocations=held["invocations"], database_connection=db.url))
    assert "failed" not in done
    assert done["summary"] == ["handler_2: waited for 0 job(s), handed back 1 (1 -> _default_); "
                               "invocations: waited for 0, handed back 1 (1 -> _default_)"]
    assert rows(db, "SELECT id, handler FROM workflow_invocation ORDER BY id") == [
        ["1", "_default_"], ["2", "handler_2"], ["3", "handler_0"]]


def test_orphans_listed_then_handed_back_and_failed(db):
    db.psql("TRUNCATE job, workflow_invocation, worker_process RESTART IDENTITY")
    db.psql("INSERT INTO worker_process (server_name, hostname, pid, update_time) VALUES "
            "('handler_0', 'h1', 1, now() AT TIME ZONE 'utc'), "
            "('gone_0', 'h2', 2, (now() AT TIME ZONE 'utc') - interval '1 hour')")
    db.psql("INSERT INTO job (tool_id, state, handler) VALUES ('cat1', 'new', 'gone_0'), ('cat1', 'running', 'gone_0'), "
            "('cat1', 'running', 'handler_0'), ('cat1', 'new', '_default_'), ('cat1', 'ok', 'gone_0')")
    db.psql("INSERT INTO workflow_invocation (workflow_id, state, scheduler, handler) VALUES "
            "(5, 'new', 'core', 'gone_0'), (5, 'ready', 'core', 'gone_0')")
    listed = galaxy_orphans.run(FakeModule(galaxy_orphans, roster=ROSTER, fail_started=True, database_connection=db.url))
    assert not listed["changed"] and listed["live"] == ["handler_0"]
    assert [(o["kind"], o["id"], o["action"]) for o in listed["orphans"]] == [
        ("job", 1, "hand back"), ("job", 2, "fail"), ("invocation", 1, "hand back"), ("invocation", 2, "fail")]
    check = galaxy_orphans.run(FakeModule(galaxy_orphans, check_mode=True, state="released", roster=ROSTER,
                                          fail_started=True, database_connection=db.url))
    assert check["changed"] and check["diff"]["after"].splitlines() == [
        "job 1 (cat1, new): handler _default_", "job 2 (cat1, handler gone_0): state error",
        "workflow_invocation 1 (workflow 5, new): handler _default_",
        "workflow_invocation 2 (workflow 5, handler gone_0): state failed"]
    assert rows(db, "SELECT state, handler FROM job WHERE id IN (1, 2) ORDER BY id") == [["new", "gone_0"], ["running", "gone_0"]]
    done = galaxy_orphans.run(FakeModule(galaxy_orphans, state="released", roster=ROSTER, fail_started=True,
                                         database_connection=db.url))
    assert len(done["changed_rows"]) == 4
    assert rows(db, "SELECT state, handler FROM job ORDER BY id")[:2] == [["new", "_default_"], ["error", "gone_0"]]
    assert rows(db, "SELECT state, handler FROM workflow_invocation ORDER BY id") == [["new", "_default_"], ["failed", "gone_0"]]
    again = galaxy_orphans.run(FakeModule(galaxy_orphans, state="released", roster=ROSTER, database_connection=db.url))
    assert not again["changed"] and again["orphans"] == []


def test_a_killed_handler_strands_nothing_once_its_orphans_are_handed_back(standin_venv, postgres, tmp_path):
    """Two stand-in handlers (jobs and schedulers); one is killed while it holds rows; the plan keeps the other."""
    database = new_database(standin_venv, postgres, "galaxy_killed")
    galaxy_yml = write_galaxy_yml(tmp_path / "galaxy.yml", {
        "database_connection": database.url, "standin_handler_boot_delay": 0.2, "standin_job_runtime": 3,
        "standin_handler_poll_interval": 0.2, "standin_invocation_step": 2,
        "job_config": {"handling": {"assign": ["db-skip-locked"]}},
    })
    fleet = Fleet(standin_venv, tmp_path, galaxy_yml)
    pools = ["job-handlers", "workflow-schedulers"]
    try:
        # doomed_0 runs alone while the rows arrive, so that it surely claims jobs and grabs
        # invocations (a scheduler grabs every new invocation of its tags at once: with two
        # running, the other one could take them all); live_0 starts once doomed_0 is killed
        doomed = fleet.handler("doomed_0", pools)
        wait_for(lambda: "is running" in doomed.output(), 30, "doomed_0 to run")
        database.psql("INSERT INTO job (tool_id, state, handler) SELECT 'cat1', 'new', '_default_' FROM generate_series(1, 8)")
        database.psql("INSERT INTO workflow_invocation (workflow_id, state, scheduler, handler) "
                      "SELECT 1, 'new', 'core', '_default_' FROM generate_series(1, 8)")

        def doomed_holds():
            jobs = rows(database, "SELECT count(*) FROM job WHERE handler = 'doomed_0' AND state = 'running'")[0][0]
            invs = rows(database, "SELECT count(*) FROM workflow_invocation WHERE handler = 'doomed_0' AND state = 'new'")[0][0]
            return int(jobs) > 0 and int(invs) > 0

        wait_for(doomed_holds, 20, "doomed_0 to run a job and hold a new invocation", interval=0.05)
        doomed.signal(signal.SIGKILL)
        doomed.wait(10)
        live = fleet.handler("live_0", pools)
        wait_for(lambda: "is running" in live.output(), 30, "live_0 to run")
        time.sleep(2)  # doomed_0's heartbeat goes stale (limit 1 s below)
        roster = {"live_0": {"pools": pools, "tags": [], "static": False}}
        params = {"state": "released", "roster": roster, "fail_started": True, "heartbeat_max_age": 1.0,
                  "database_connection": database.url}
        check = galaxy_orphans.run(FakeModule(galaxy_orphans, check_mode=True, **params))
        assert check["changed"] and {o["action"] for o in check["orphans"]} >= {"hand back", "fail"}
        done = galaxy_orphans.run(FakeModule(galaxy_orphans, **params))
        assert sorted(o["id"] for o in done["changed_rows"]) == sorted(o["id"] for o in check["changed_rows"])

        def nothing_left():
            return rows(database, "SELECT count(*) FROM job WHERE state NOT IN ('ok', 'error')") == [["0"]] and rows(
                database, "SELECT count(*) FROM workflow_invocation WHERE state NOT IN ('scheduled', 'failed')") == [["0"]]

        wait_for(nothing_left, 60, "every job terminal and every invocation final", interval=0.3)
        # only what doomed_0 had started ended in error / failed; what it never started was scheduled by live_0
        assert {r[0] for r in rows(database, "SELECT DISTINCT handler FROM job WHERE state = 'error'")} == {"doomed_0"}
        handed = [o["id"] for o in done["changed_rows"] if o["kind"] == "invocation" and o["action"] == "hand back"]
        assert handed and rows(database, f"SELECT DISTINCT state, handler FROM workflow_invocation "
                                         f"WHERE id IN ({', '.join(map(str, handed))})") == [["scheduled", "live_0"]]
    finally:
        fleet.stop_all()
