"""The stand-in Galaxy behaves like Galaxy where the collection relies on it (runs real processes)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from standin_harness import Fleet, free_port, http, wait_for, write_galaxy_yml

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs PostgreSQL as its own user: needs root")

JOB_RUNTIME = 1.0


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def version_or_none(port: int):
    try:
        return http("GET", f"http://127.0.0.1:{port}/api/version", timeout=2)
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def jobs(port: int) -> dict[int, dict]:
    return {job["id"]: job for job in http("GET", f"http://127.0.0.1:{port}/api/jobs")[2]}


@pytest.fixture(scope="module")
def fleet(standin_venv: Path, postgres, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet")
    galaxy_yml = write_galaxy_yml(workdir / "galaxy.yml", {
        "database_connection": postgres.url,
        "standin_boot_delay": 2,
        "standin_handler_boot_delay": 0.5,
        "standin_job_runtime": JOB_RUNTIME,
        "standin_handler_poll_interval": 0.2,
        "job_config": {
            "handling": {"assign": ["db-skip-locked"]},
            "tools": [{"id": "special_tool", "handler": "special"}],
        },
    })
    manage = [f"{standin_venv}/bin/standin-manage-db", "-c", str(galaxy_yml)]
    first = subprocess.run(manage, check=True, capture_output=True, text=True)
    second = subprocess.run(manage, check=True, capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("schema created", "schema up to date")

    fl = Fleet(standin_venv, workdir, galaxy_yml)
    fl.ports = [free_port(), free_port()]
    try:
        fl.webs = [fl.gunicorn(port) for port in fl.ports]
        fl.handlers = {
            "handler_0": fl.handler("handler_0", ["job-handlers", "workflow-schedulers"]),
            "handler_1": fl.handler("handler_1", ["job-handlers.special"], installed=False),
        }
        # Like Galaxy with --preload: the port stays closed until the app has loaded.
        seen_closed: dict[int, list[bool]] = {port: [] for port in fl.ports}

        def loaded():
            done = True
            for web, port in zip(fl.webs, fl.ports):
                if "stand-in application loaded" not in web.output():
                    seen_closed[port].append(refused(port))
                    done = False
            return done

        wait_for(loaded, 30, "the gunicorns to load their app")
        for port, observations in seen_closed.items():
            assert observations and all(observations), f"gunicorn on {port} accepted connections before its app loaded"
        for port in fl.ports:
            wait_for(lambda port=port: version_or_none(port), 30, f"gunicorn on {port} to answer")
        for name, proc in fl.handlers.items():
            wait_for(lambda proc=proc, name=name: f"Galaxy server instance '{name}' is running" in proc.output(),
                     30, f"{name} to be running")
        yield fl
    finally:
        fl.stop_all()


def test_version_and_server_identity(fleet):
    host = socket.gethostname()
    for port in fleet.ports:
        status, headers, body = http("GET", f"http://127.0.0.1:{port}/api/version")
        assert status == 200
        assert body["version_major"] == "26.1" and body["version_minor"] == "2"
        assert headers["X-Galaxy-Server"] == body["server"] == f"{host}:{port}"
        _, headers, body = http("POST", f"http://127.0.0.1:{port}/api/echo", {"n": 1})
        assert body["echo"] == {"n": 1} and headers["X-Galaxy-Server"] == f"{host}:{port}"


def test_jobs_are_claimed_by_the_right_pool_and_finish(fleet):
    created = {}
    for i in range(8):
        tool = "special_tool" if i % 2 else "cat1"
        status, _, job = http("POST", f"http://127.0.0.1:{fleet.ports[i % 2]}/api/jobs", {"tool_id": tool})
        assert status == 200 and job["state"] == "new"
        assert job["handler"] == ("special" if tool == "special_tool" else "_default_")
        created[job["id"]] = tool

    def all_ok():
        current = jobs(fleet.ports[0])
        return current if all(current[i]["state"] == "ok" for i in created) else None

    final = wait_for(all_ok, 40, "every job to reach ok", interval=0.3)
    for job_id, tool in created.items():
        assert final[job_id]["handler"] == ("handler_1" if tool == "special_tool" else "handler_0")
    # each job was claimed exactly once, by the handler that ran it
    for name, proc in fleet.handlers.items():
        claimed = [int(n) for n in re.findall(r"claimed job (\d+)", proc.output())]
        assert sorted(claimed) == sorted(j for j in created if final[j]["handler"] == name)


def test_invocations_are_grabbed_by_the_scheduler_pool_and_scheduled(fleet):
    created = []
    for i in range(3):
        status, _, inv = http("POST", f"http://127.0.0.1:{fleet.ports[i % 2]}/api/workflows/7/invocations", {"history_id": 3})
        assert status == 200 and (inv["state"], inv["handler"], inv["scheduler"]) == ("new", "_default_", "core")
        assert (inv["workflow_id"], inv["history_id"]) == (7, 3)
        created.append(inv["id"])
    seen: set[str] = set()

    def all_scheduled():
        current = {i["id"]: i for i in http("GET", f"http://127.0.0.1:{fleet.ports[0]}/api/invocations")[2]}
        seen.update(current[i]["state"] for i in created)
        return current if all(current[i]["state"] == "scheduled" for i in created) else None

    try:
        final = wait_for(all_scheduled, 30, "every invocation to be scheduled", interval=0.2)
    except AssertionError:
        print(fleet.handlers["handler_0"].output()[-3000:])
        raise
    # only handler_0 is in workflow-schedulers; handler_1 (job-handlers.special) schedules nothing
    assert {final[i]["handler"] for i in created} == {"handler_0"}
    assert "ready" in seen
    assert http("GET", f"http://127.0.0.1:{fleet.ports[1]}/api/invocations/{created[0]}")[2]["state"] == "scheduled"
    assert [i["id"] for i in http("GET", f"http://127.0.0.1:{fleet.ports[1]}/api/invocations?state=new,ready")[2]] == []


def test_claim_skips_locked_rows(fleet, postgres):
    port = fleet.ports[0]
    session = postgres.session()
    try:
        # Lock a job the handler has not claimed yet: on a busy machine the handler can claim it
        # between its creation and the lock, so take a new one then (the lock shows its state).
        for _attempt in range(5):
            locked = http("POST", f"http://127.0.0.1:{port}/api/jobs", {"tool_id": "cat1"})[2]["id"]
            session.stdin.write(f"BEGIN;\nSELECT id, state FROM job WHERE id = {locked} FOR UPDATE;\n")
            session.stdin.flush()
            row = session.stdout.readline().strip()
            if row == f"{locked}|new":
                break
            session.stdin.write("COMMIT;\n")
            session.stdin.flush()
        assert row == f"{locked}|new", f"the handler claimed every job before the test could lock one ({row})"
        free = http("POST", f"http://127.0.0.1:{port}/api/jobs", {"tool_id": "cat1"})[2]["id"]
        # the handler does not block on the locked row: the later job is claimed and finishes first
        wait_for(lambda: jobs(port)[free]["state"] == "ok", 20, "the unlocked job to finish")
        assert jobs(port)[locked]["state"] == "new"
        session.stdin.write("COMMIT;\n")
        session.stdin.flush()
        wait_for(lambda: jobs(port)[locked]["state"] == "ok", 20, "the released job to finish")
        assert jobs(port)[locked]["handler"] == "handler_0"
    finally:
        session.stdin.close()
        session.wait(10)


def test_gunicorn_sigterm_finishes_in_flight_requests(fleet):
    web, port = fleet.webs[1], fleet.ports[1]
    result = {}

    def slow_request():
        result["response"] = http("POST", f"http://127.0.0.1:{port}/api/echo?sleep=2", {"slow": True}, timeout=30)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.5)
    web.signal(signal.SIGTERM)
    thread.join(30)
    assert result["response"][0] == 200 and result["response"][2]["echo"] == {"slow": True}
    assert web.wait(30) == 0
    assert refused(port)


def test_handler_sigterm_finishes_running_job(fleet):
    port, handler = fleet.ports[0], fleet.handlers["handler_0"]
    job_id = http("POST", f"http://127.0.0.1:{port}/api/jobs", {"tool_id": "cat1"})[2]["id"]
    wait_for(lambda: jobs(port)[job_id]["state"] == "running", 20, "the job to run")
    handler.signal(signal.SIGTERM)
    assert handler.wait(30) == 0
    assert jobs(port)[job_id]["state"] == "ok"
    # nobody serves the default pool now: new jobs wait as `new` for a handler, as in Galaxy
    waiting = http("POST", f"http://127.0.0.1:{port}/api/jobs", {"tool_id": "cat1"})[2]["id"]
    time.sleep(1)
    assert jobs(port)[waiting]["state"] == "new"
