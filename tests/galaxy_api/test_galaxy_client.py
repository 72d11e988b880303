"""Unit tests of galaxy_client's logic (no Galaxy needed), plus one real-Galaxy check that only
runs when FLEET_REAL_GALAXY_URL is set (and FLEET_REAL_GALAXY_BOOTSTRAP_KEY, default: the test key
of tests/fixtures/galaxy/config/galaxy.yml)."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import galaxy_client as gc


def job(job_id, tool="cat1", state="ok", handler="special_0", start="2026-01-01T10:00:00",
        end="2026-01-01T10:00:07.500000"):
    return {"id": job_id, "tool_id": tool, "state": state, "handler": handler,
            "create_time": start, "update_time": end}


# --- parsing ------------------------------------------------------------------------------------

def test_parse_version_reads_major_and_minor():
    assert gc.parse_version(b'{"version_major": "26.1", "version_minor": "2", "extra": {}}') == "26.1.2"
    assert gc.parse_version('{"version_major": "26.1"}') == "26.1"


@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[]", b'{"status": "ok"}', b""])
def test_parse_version_rejects_what_is_not_galaxy(body):
    with pytest.raises(ValueError):
        gc.parse_version(body)


def test_terminal_states():
    for state in ("ok", "error", "failed", "deleted", "skipped", "stopped", "paused"):
        assert gc.is_terminal(state)
    for state in ("new", "queued", "running", "upload", "waiting", "resubmitted", None):
        assert not gc.is_terminal(state)


def test_parse_expectations_adds_up_patterns():
    got = gc.parse_expectations(["cat1=special_*", "cat1=other_0", "__DATA_FETCH__=handler_0,handler_1"])
    assert got == {"cat1": ["special_*", "other_0"], "__DATA_FETCH__": ["handler_0", "handler_1"]}


@pytest.mark.parametrize("item", ["cat1", "=special_*", "cat1=", "cat1= , "])
def test_parse_expectations_rejects_malformed(item):
    with pytest.raises(ValueError):
        gc.parse_expectations([item])


@pytest.mark.parametrize("item", ["cat1", "cat1=0", "cat1=two", "=2"])
def test_parse_min_handlers_rejects_malformed(item):
    with pytest.raises(ValueError):
        gc.parse_min_handlers([item])


def test_job_duration_from_galaxy_times():
    assert gc.job_duration(job("a")) == 7.5
    assert gc.job_duration({"create_time": "2026-01-01T10:00:00Z", "update_time": "2026-01-01T10:00:01Z"}) == 1.0
    assert gc.job_duration({"create_time": None, "update_time": "2026-01-01T10:00:00"}) is None
    assert gc.job_duration({"create_time": "garbage", "update_time": "2026-01-01T10:00:00"}) is None


def test_job_ids_and_outputs_from_answers():
    answer = {"jobs": [{"id": "j1"}, {"id": "j2"}], "outputs": [{"id": "d1"}]}
    assert gc.job_ids_from(answer) == ["j1", "j2"]
    assert gc.first_output_id(answer) == "d1"
    with pytest.raises(gc.GalaxyError):
        gc.job_ids_from({"jobs": []})
    with pytest.raises(gc.GalaxyError):
        gc.first_output_id({"outputs": []})


def test_payloads_name_the_history_tool_and_input():
    fetch = gc.fetch_payload("h1", "a\n", "x.txt")
    element = fetch["targets"][0]["elements"][0]
    assert fetch["history_id"] == "h1" and element["src"] == "pasted" and element["paste_content"] == "a\n"
    run = gc.tool_payload("h1", "cat1", "d1")
    assert run["tool_id"] == "cat1" and run["inputs"]["input1"] == {"src": "hda", "id": "d1"}


def test_workflow_connects_the_input_to_the_tool_and_the_invocation_names_it():
    wf = gc.workflow_definition("cat1")
    tool = wf["steps"]["1"]
    assert wf["a_galaxy_workflow"] == "true" and wf["steps"]["0"]["type"] == "data_input"
    assert tool["tool_id"] == "cat1" and tool["input_connections"]["input1"] == {"id": 0, "output_name": "output"}
    assert json.loads(tool["tool_state"])["input1"] == {"__class__": "ConnectedValue"}
    body = gc.invocation_payload("h1", "d1")
    assert body["inputs_by"] == "step_index" and body["inputs"]["0"] == {"src": "hda", "id": "d1"}
    assert gc.invocation_id_from({"id": "i1"}) == "i1" and gc.invocation_id_from([{"id": "i2"}]) == "i2"
    with pytest.raises(gc.GalaxyError):
        gc.invocation_id_from([])


def test_invocations_not_scheduled_or_without_jobs_are_problems():
    assert gc.invocation_problems([{"id": "i1", "state": "scheduled", "job_ids": ["j"]}]) == []
    assert gc.invocation_problems([{"id": "i1", "state": "failed", "job_ids": []},
                                   {"id": "i2", "state": "scheduled", "job_ids": []},
                                   {"id": "i3", "state": "timeout:new", "job_ids": []}]) == [
        "workflow invocation i1 ended failed", "workflow invocation i2 is scheduled but ran no job",
        "workflow invocation i3 ended timeout:new"]


def test_wait_invocations_polls_until_scheduled_then_lists_its_jobs(fake):
    _Fake.answers = [(200, b'{"id": "i1", "state": "new"}'), (200, b'{"id": "i1", "state": "scheduled"}'),
                     (200, b'[{"id": "j9"}]')]
    got = gc.GalaxyClient(fake, key="k").wait_invocations(["i1"], timeout=10, interval=0.01)
    assert got == [{"id": "i1", "state": "scheduled", "job_ids": ["j9"]}]
    assert _Fake.seen[-1][1] == "/api/jobs?invocation_id=i1"


# --- summary ------------------------------------------------------------------------------------

def test_summary_all_ok_and_in_the_right_pools():
    jobs = [job("u", tool="__DATA_FETCH__", handler="handler_0")] + [
        job(f"c{i}", handler=f"special_{i % 2}") for i in range(4)
    ]
    s = gc.summarize(jobs, gc.parse_expectations(["cat1=special_*", "__DATA_FETCH__=handler_*"]),
                     gc.parse_min_handlers(["cat1=2"]))
    assert s["ok"], s["problems"]
    assert s["jobs_total"] == 5 and s["jobs_ok"] == 5
    assert s["per_handler"] == {"handler_0": 1, "special_0": 2, "special_1": 2}
    assert s["per_tool_handler"]["cat1"] == {"special_0": 2, "special_1": 2}
    assert s["duration_s"] == {"min": 7.5, "max": 7.5, "mean": 7.5}


def test_summary_reports_a_job_on_the_wrong_pool():
    s = gc.summarize([job("c1", handler="handler_0")], {"cat1": ["special_*"]})
    assert not s["ok"]
    assert any("c1" in p and "handler_0" in p for p in s["problems"])


def test_summary_reports_jobs_not_ok_and_missing_tools():
    s = gc.summarize([job("c1", state="error"), job("c2", state="timeout:queued")], {"other": ["x"]})
    assert not s["ok"]
    assert s["jobs_ok"] == 0
    assert s["states"] == {"error": 1, "timeout:queued": 1}
    assert any("no job of tool other" in p for p in s["problems"])


def test_summary_reports_too_little_spread_and_failed_requests():
    s = gc.summarize([job("c1"), job("c2")], min_handlers={"cat1": 2},
                     failed_requests=[{"method": "GET", "path": "/api/jobs", "status": 502}])
    assert not s["ok"]
    assert s["requests_failed"] == 1
    assert any("1 handler(s)" in p for p in s["problems"])
    assert any("request(s) failed" in p for p in s["problems"])


def test_summary_with_unknown_handler():
    s = gc.summarize([job("c1", handler=None)], {"cat1": ["*"]})
    assert not s["ok"]


# --- HTTP behaviour against a local fake (127.0.0.1 only) ---------------------------------------

class _Fake(BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]] = []
    seen: list[tuple[str, str, str | None]] = []

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        type(self).seen.append((self.command, self.path, self.headers.get("x-api-key")))
        status, body = type(self).answers.pop(0) if type(self).answers else (404, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    _Fake.answers, _Fake.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_get_retries_a_502_and_records_it(fake):
    _Fake.answers = [(502, b"bad gateway"), (200, b'[{"id": "j1"}]')]
    client = gc.GalaxyClient(fake, key="k")
    assert client.request("GET", "/api/jobs", retries=2) == [{"id": "j1"}]
    assert [f["status"] for f in client.failed_requests] == [502]
    assert _Fake.seen[0][2] == "k"


def test_post_is_not_retried(fake):
    _Fake.answers = [(502, b"bad gateway"), (200, b"{}")]
    client = gc.GalaxyClient(fake, key="k")
    with pytest.raises(gc.GalaxyError) as err:
        client.request("POST", "/api/tools", body={})
    assert err.value.status == 502
    assert len(_Fake.seen) == 1


def test_wait_ready_skips_non_galaxy_answers(fake):
    _Fake.answers = [(502, b"<html/>"), (200, b"{}"), (200, b'{"version_major": "26.1", "version_minor": "2"}')]
    version, _ = gc.GalaxyClient(fake).wait_ready(timeout=10, interval=0.01)
    assert version == "26.1.2"


def test_bootstrap_reuses_an_existing_user(fake, capsys):
    _Fake.answers = [(200, json.dumps([{"id": "u1", "email": "admin@galaxy.test"}]).encode()),
                     (200, b'"user-key"')]
    assert gc.main(["bootstrap", "--url", fake, "--bootstrap-key", "boot"]) == 0
    assert capsys.readouterr().out.strip() == "user-key"
    assert [s[:2] for s in _Fake.seen] == [("GET", "/api/users?f_email=admin%40galaxy.test"),
                                           ("GET", "/api/users/u1/api_key")]
    assert all(s[2] == "boot" for s in _Fake.seen)


def test_cli_rejects_bad_expectations():
    assert gc.main(["run", "--url", "http://127.0.0.1:9", "--key", "k", "--expect", "cat1"]) == 2


# --- real Galaxy (skipped unless FLEET_REAL_GALAXY_URL is set) ----------------------------------

@pytest.mark.skipif(not os.environ.get("FLEET_REAL_GALAXY_URL"), reason="FLEET_REAL_GALAXY_URL not set")
def test_real_galaxy_runs_cat1_on_the_tagged_pool():
    url = os.environ["FLEET_REAL_GALAXY_URL"]
    key = os.environ.get("FLEET_REAL_GALAXY_BOOTSTRAP_KEY", "galaxyops-fleet-test-only-bootstrap-key")
    client = gc.GalaxyClient(url, key=key)
    client.wait_ready(timeout=120)
    client.key = client.user_api_key(client.ensure_user("admin@galaxy.test", "admin", gc.DEFAULT_PASSWORD))
    submitted = client.submit(2)
    jobs = client.poll(submitted["history_id"], submitted["job_ids"], timeout=300)
    summary = gc.summarize(jobs, {"cat1": ["special_*"]}, failed_requests=client.failed_requests)
    assert summary["ok"], summary["problems"]
