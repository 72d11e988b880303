#!/usr/bin/env python3
"""Stdlib-only client for verifying a real Galaxy through its API (directly or through nginx).

Subcommands (each prints JSON on stdout; progress goes to stderr):

  wait       wait until GET /api/version answers JSON with version_major
  bootstrap  with the bootstrap admin key: make sure a user exists, print its API key
  run        history + upload + N x cat1 (and, with --workflows M, M invocations of a one-step
             workflow running cat1 on the upload), poll every job to a terminal state, summary
  submit     history + upload + N x cat1 without waiting (job ids for a later `poll`)
  stream     history + upload, then one cat1 every --every seconds until --stop-file exists,
             the jobs so far always in --output (for a later `poll`); for load during restarts
  poll       poll jobs (from `submit`'s JSON) to a terminal state, summary

The summary says, for every job: tool, state, handler (from the admin job list, so the key must
belong to an admin user) and duration; then totals per state and per handler, which tool ran on
which handlers, every failed request, and whether the expectations given with
--expect TOOL=PATTERN[,PATTERN...] (fnmatch patterns of handler names) and
--min-handlers TOOL=N held. Exit status: 0 when every job ended `ok` and every expectation held,
1 otherwise, 2 on a usage error.

Example (real Galaxy, test configuration of tests/fixtures/galaxy/config):
  galaxy_client.py run --url http://127.0.0.1:8080 \
      --bootstrap-key galaxyops-fleet-test-only-bootstrap-key --email admin@galaxy.test \
      --jobs 5 --expect 'cat1=special_*' --expect '__DATA_FETCH__=handler_*'
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# States after which a job never changes by itself. `paused` needs a user's action (its input
# failed), so it counts as final for polling, and as not ok.
TERMINAL_STATES = frozenset(
    {"ok", "error", "failed", "deleted", "deleted_new", "skipped", "stopped", "paused"}
)
# Answers worth retrying for idempotent requests (a proxy or a restarting process).
TRANSIENT_STATUS = frozenset({502, 503, 504})
# States after which a workflow invocation is not scheduled any further.
INVOCATION_FINAL = frozenset({"scheduled", "cancelled", "failed"})
UPLOAD_TOOL = "__DATA_FETCH__"
DEFAULT_PASSWORD = "galaxy-test-only-password"  # test-only


class GalaxyError(Exception):
    """A request to Galaxy failed (HTTP error, bad answer, connection error)."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


# ---------------------------------------------------------------------------------------------
# Pure logic (unit-tested without Galaxy)
# ---------------------------------------------------------------------------------------------


def parse_version(body: bytes | str) -> str:
    """Return "MAJOR.MINOR" from an /api/version answer; ValueError if it is not Galaxy's."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON: {str(body)[:80]!r}") from exc
    if not isinstance(data, dict) or "version_major" not in data:
        raise ValueError(f"no version_major in {str(data)[:80]!r}")
    minor = data.get("version_minor")
    return f"{data['version_major']}.{minor}" if minor not in (None, "") else str(data["version_major"])


def is_terminal(state: str | None) -> bool:
    return state in TERMINAL_STATES


def parse_expectations(items: Iterable[str]) -> dict[str, list[str]]:
    """Parse TOOL=PATTERN[,PATTERN...] items into {tool: [patterns]} (several items add up)."""
    result: dict[str, list[str]] = {}
    for item in items:
        tool, sep, patterns = item.partition("=")
        pats = [p.strip() for p in patterns.split(",") if p.strip()]
        if not sep or not tool.strip() or not pats:
            raise ValueError(f"expected TOOL=PATTERN[,PATTERN...], got {item!r}")
        result.setdefault(tool.strip(), []).extend(pats)
    return result


def parse_min_handlers(items: Iterable[str]) -> dict[str, int]:
    """Parse TOOL=N items (N >= 1)."""
    result: dict[str, int] = {}
    for item in items:
        tool, sep, count = item.partition("=")
        if not sep or not tool.strip() or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"expected TOOL=N with N >= 1, got {item!r}")
        result[tool.strip()] = int(count)
    return result


def parse_time(value: str | None) -> dt.datetime | None:
    """Parse Galaxy's ISO times (naive, UTC); None when missing or unreadable."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def job_duration(job: Mapping[str, Any]) -> float | None:
    """Seconds from a job's creation to its last update (its end, once terminal)."""
    start, end = parse_time(job.get("create_time")), parse_time(job.get("update_time"))
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


def handler_matches(handler: str | None, patterns: Sequence[str]) -> bool:
    return handler is not None and any(fnmatch.fnmatchcase(handler, p) for p in patterns)


def summarize(
    jobs: Sequence[Mapping[str, Any]],
    expect: Mapping[str, Sequence[str]] | None = None,
    min_handlers: Mapping[str, int] | None = None,
    failed_requests: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Build the summary of a set of jobs (dicts with id, tool_id, state, handler, times)."""
    expect = expect or {}
    min_handlers = min_handlers or {}
    rows = []
    for job in sorted(jobs, key=lambda j: (str(j.get("create_time") or ""), str(j.get("id")))):
        rows.append(
            {
                "id": job.get("id"),
                "tool_id": job.get("tool_id"),
                "state": job.get("state"),
                "handler": job.get("handler"),
                "duration_s": job_duration(job),
            }
        )
    tool_handlers: dict[str, Counter[str]] = {}
    for row in rows:
        tool_handlers.setdefault(str(row["tool_id"]), Counter())[str(row["handler"])] += 1

    problems: list[str] = []
    not_ok = [r for r in rows if r["state"] != "ok"]
    for row in not_ok:
        problems.append(f"job {row['id']} ({row['tool_id']}) ended {row['state']}")
    for tool, patterns in expect.items():
        tool_rows = [r for r in rows if r["tool_id"] == tool]
        if not tool_rows:
            problems.append(f"no job of tool {tool} to check against {','.join(patterns)}")
        for row in tool_rows:
            if not handler_matches(row["handler"], patterns):
                problems.append(
                    f"job {row['id']} ({tool}) ran on handler {row['handler']!r},"
                    f" not one of {','.join(patterns)}"
                )
    for tool, wanted in min_handlers.items():
        seen = len(tool_handlers.get(tool, {}))
        if seen < wanted:
            problems.append(f"tool {tool} ran on {seen} handler(s), wanted at least {wanted}")
    if failed_requests:
        problems.append(f"{len(failed_requests)} request(s) failed")

    durations = [r["duration_s"] for r in rows if r["duration_s"] is not None]
    return {
        "ok": not problems,
        "jobs_total": len(rows),
        "jobs_ok": len(rows) - len(not_ok),
        "states": dict(Counter(str(r["state"]) for r in rows)),
        "per_handler": dict(Counter(str(r["handler"]) for r in rows)),
        "per_tool_handler": {t: dict(c) for t, c in tool_handlers.items()},
        "duration_s": {
            "min": min(durations) if durations else None,
            "max": max(durations) if durations else None,
            "mean": round(sum(durations) / len(durations), 3) if durations else None,
        },
        "requests_failed": len(failed_requests),
        "failed_requests": list(failed_requests),
        "problems": problems,
        "jobs": rows,
    }


def fetch_payload(history_id: str, content: str, name: str, ext: str = "txt") -> dict[str, Any]:
    """Body of POST /api/tools/fetch that pastes `content` as one new dataset."""
    return {
        "history_id": history_id,
        "targets": [
            {
                "destination": {"type": "hdas"},
                "elements": [{"src": "pasted", "paste_content": content, "name": name, "ext": ext}],
            }
        ],
    }


def tool_payload(history_id: str, tool_id: str, dataset_id: str) -> dict[str, Any]:
    """Body of POST /api/tools running a one-input tool (cat1's input is `input1`)."""
    return {
        "history_id": history_id,
        "tool_id": tool_id,
        "inputs": {"input1": {"src": "hda", "id": dataset_id}},
    }


def workflow_definition(tool_id: str = "cat1", tool_version: str = "1.0.0") -> dict[str, Any]:
    """A one-step workflow (Galaxy's .ga format): a dataset input, then `tool_id` on it."""
    return {
        "a_galaxy_workflow": "true",
        "format-version": "0.1",
        "name": f"galaxyops-fleet {tool_id}",
        "annotation": "",
        "tags": [],
        "steps": {
            "0": {
                "id": 0, "type": "data_input", "label": "input", "name": "Input dataset", "tool_id": None,
                "tool_state": json.dumps({"optional": False}), "inputs": [{"name": "input", "description": ""}],
                "input_connections": {}, "outputs": [], "position": {"left": 0, "top": 0}, "annotation": "",
                "workflow_outputs": [],
            },
            "1": {
                "id": 1, "type": "tool", "tool_id": tool_id, "tool_version": tool_version, "name": tool_id,
                "tool_state": json.dumps({"input1": {"__class__": "ConnectedValue"}}),
                "input_connections": {"input1": {"id": 0, "output_name": "output"}}, "inputs": [],
                "outputs": [{"name": "out_file1", "type": "input"}], "position": {"left": 200, "top": 0},
                "annotation": "", "post_job_actions": {}, "workflow_outputs": [],
            },
        },
    }


def invocation_payload(history_id: str, dataset_id: str) -> dict[str, Any]:
    """Body of POST /api/workflows/{id}/invocations: the dataset as the input of step 0."""
    return {"history_id": history_id, "inputs_by": "step_index", "inputs": {"0": {"src": "hda", "id": dataset_id}}}


def invocation_id_from(answer: Any) -> str:
    """The invocation id of an invoke answer (one invocation, or a list of one)."""
    first = answer[0] if isinstance(answer, list) and answer else answer
    if not isinstance(first, Mapping) or "id" not in first:
        raise GalaxyError(f"no invocation in answer: {json.dumps(answer)[:200]}")
    return str(first["id"])


def invocation_problems(invocations: Sequence[Mapping[str, Any]]) -> list[str]:
    """A problem for every invocation that is not `scheduled` or ran no job."""
    problems = []
    for inv in invocations:
        if inv.get("state") != "scheduled":
            problems.append(f"workflow invocation {inv.get('id')} ended {inv.get('state')}")
        elif not inv.get("job_ids"):
            problems.append(f"workflow invocation {inv.get('id')} is scheduled but ran no job")
    return problems


def job_ids_from(answer: Mapping[str, Any]) -> list[str]:
    """Job ids from a tool run or fetch answer; GalaxyError if there is none."""
    ids = [j["id"] for j in answer.get("jobs") or [] if isinstance(j, Mapping) and "id" in j]
    if not ids:
        raise GalaxyError(f"no job in answer: {json.dumps(answer)[:200]}")
    return ids


def first_output_id(answer: Mapping[str, Any]) -> str:
    outputs = answer.get("outputs") or []
    if not outputs or "id" not in outputs[0]:
        raise GalaxyError(f"no output dataset in answer: {json.dumps(answer)[:200]}")
    return str(outputs[0]["id"])


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"galaxy_client: {message}", file=sys.stderr, flush=True)


class GalaxyClient:
    """Minimal Galaxy API client. Every failed request is kept in `failed_requests`."""

    def __init__(self, url: str, key: str | None = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.failed_requests: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        key: str | None = None,
        retries: int = 0,
        record: bool = True,
    ) -> Any:
        """JSON request; GETs may be retried on connection errors and 502/503/504."""
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        api_key = key or self.key
        if api_key:
            headers["x-api-key"] = api_key
        attempt = 0
        while True:
            attempt += 1
            req = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                text = exc.read().decode(errors="replace")[:500]
                error = GalaxyError(f"{method} {path}: HTTP {exc.code}: {text}", exc.code, text)
                transient = exc.code in TRANSIENT_STATUS
            except (urllib.error.URLError, OSError, ValueError) as exc:
                error = GalaxyError(f"{method} {path}: {exc}")
                transient = True
            if record:
                self.failed_requests.append(
                    {"method": method, "path": path, "status": error.status, "error": str(error)[:300],
                     "at": round(time.time(), 3)}
                )
            if not transient or attempt > retries:
                raise error
            time.sleep(min(2.0, 0.25 * attempt))

    # -- readiness ----------------------------------------------------------------------------

    def wait_ready(self, timeout: float = 300.0, interval: float = 1.0) -> tuple[str, float]:
        """Poll /api/version until it answers Galaxy's JSON; (version, seconds waited)."""
        start = time.monotonic()
        last = "no answer yet"
        while True:
            try:
                req = urllib.request.Request(f"{self.url}/api/version", headers={"Accept": "application/json"})
                with urllib.request.urlopen(req, timeout=min(10.0, self.timeout)) as resp:
                    return parse_version(resp.read()), round(time.monotonic() - start, 2)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(exc)
            if time.monotonic() - start > timeout:
                raise GalaxyError(f"{self.url}/api/version not ready after {timeout:.0f}s: {last}")
            time.sleep(interval)

    # -- users --------------------------------------------------------------------------------

    def ensure_user(self, email: str, username: str, password: str) -> str:
        """Create the user if missing (needs an admin or the bootstrap key); its encoded id."""
        found = self.request("GET", "/api/users", params={"f_email": email}, retries=3)
        for user in found or []:
            if user.get("email") == email:
                return str(user["id"])
        user = self.request(
            "POST", "/api/users", body={"email": email, "username": username, "password": password}
        )
        return str(user["id"])

    def user_api_key(self, user_id: str) -> str:
        """The user's API key, created on first use (GET is get-or-create)."""
        key = self.request("GET", f"/api/users/{user_id}/api_key", retries=3)
        if not isinstance(key, str) or not key:
            raise GalaxyError(f"no API key for user {user_id}: {key!r}")
        return key

    # -- work ---------------------------------------------------------------------------------

    def create_history(self, name: str) -> str:
        return str(self.request("POST", "/api/histories", body={"name": name})["id"])

    def upload_text(self, history_id: str, content: str, name: str) -> tuple[str, str]:
        answer = self.request("POST", "/api/tools/fetch", body=fetch_payload(history_id, content, name))
        return first_output_id(answer), job_ids_from(answer)[0]

    def run_tool(self, history_id: str, tool_id: str, dataset_id: str) -> list[str]:
        answer = self.request("POST", "/api/tools", body=tool_payload(history_id, tool_id, dataset_id))
        return job_ids_from(answer)

    def invoke_workflows(self, history_id: str, dataset_id: str, count: int, tool_id: str = "cat1") -> list[str]:
        """Import the one-step workflow once, invoke it `count` times on the dataset: invocation ids."""
        if count <= 0:
            return []
        workflow = self.request("POST", "/api/workflows", body={"workflow": workflow_definition(tool_id)})
        ids = [invocation_id_from(self.request("POST", f"/api/workflows/{workflow['id']}/invocations",
                                               body=invocation_payload(history_id, dataset_id)))
               for _ in range(count)]
        log(f"invoked workflow {workflow['id']} {count} time(s): {', '.join(ids)}")
        return ids

    def wait_invocations(self, invocation_ids: Sequence[str], timeout: float = 600.0,
                         interval: float = 2.0) -> list[dict[str, Any]]:
        """Poll each invocation until it is scheduled (or cancelled, failed, timeout): id, state, job ids."""
        start = time.monotonic()
        out = []
        for inv_id in invocation_ids:
            state = None
            while True:
                try:
                    state = self.request("GET", f"/api/invocations/{inv_id}", retries=5).get("state")
                except GalaxyError as exc:
                    log(f"invocation poll failed, retrying: {exc}")
                if state in INVOCATION_FINAL or time.monotonic() - start > timeout:
                    break
                time.sleep(interval)
            jobs = self.request("GET", "/api/jobs", params={"invocation_id": inv_id}, retries=5) or []
            out.append({"id": inv_id, "state": state if state in INVOCATION_FINAL else f"timeout:{state}",
                        "job_ids": [str(j["id"]) for j in jobs if isinstance(j, Mapping) and "id" in j]})
        return out

    def admin_jobs(self, history_id: str) -> list[dict[str, Any]]:
        """Admin job list of one history: every job with its state and handler."""
        jobs = self.request(
            "GET",
            "/api/jobs",
            params={"view": "admin_job_list", "history_id": history_id, "limit": 5000},
            retries=5,
        )
        return list(jobs or [])

    def poll(
        self, history_id: str, job_ids: Sequence[str], timeout: float = 600.0, interval: float = 2.0
    ) -> list[dict[str, Any]]:
        """Poll until every job in `job_ids` is terminal (or timeout); their admin views."""
        wanted = set(job_ids)
        start = time.monotonic()
        last_report = 0.0
        while True:
            try:
                jobs = [j for j in self.admin_jobs(history_id) if j.get("id") in wanted]
            except GalaxyError as exc:
                log(f"poll failed, retrying: {exc}")
                jobs = []
            seen = {j["id"] for j in jobs}
            pending = [j for j in jobs if not is_terminal(j.get("state"))]
            if seen == wanted and not pending:
                return jobs
            now = time.monotonic()
            if now - last_report > 15:
                states = Counter(str(j.get("state")) for j in jobs)
                log(f"{len(wanted) - len(seen) + len(pending)} job(s) pending: {dict(states)}")
                last_report = now
            if now - start > timeout:
                missing = wanted - seen
                stuck = {j["id"]: j for j in pending}
                for job_id in missing:
                    stuck[job_id] = {"id": job_id, "state": "missing", "handler": None}
                log(f"timeout after {timeout:.0f}s with {len(stuck)} job(s) not terminal")
                return [j for j in jobs if j["id"] not in stuck] + [
                    {**j, "state": f"timeout:{j.get('state')}"} for j in stuck.values()
                ]
            time.sleep(interval)

    def uploaded_history(self, label: str, content: str, name: str) -> tuple[str, str, str]:
        """A new history with `content` uploaded as `name`, the upload waited for:
        (history id, dataset id, upload job id)."""
        history_id = self.create_history(f"galaxyops-fleet {label}{time.strftime('%Y-%m-%d %H:%M:%S')}")
        dataset_id, upload_job = self.upload_text(history_id, content, name)
        log(f"history {history_id}: upload job {upload_job}")
        uploaded = self.poll(history_id, [upload_job], timeout=300)
        if uploaded[0].get("state") != "ok":
            raise GalaxyError(f"upload job {upload_job} ended {uploaded[0].get('state')}")
        return history_id, dataset_id, upload_job

    def submit(self, jobs: int, tool_id: str = "cat1", content: str = "galaxyops\nfleet\n") -> dict[str, Any]:
        """History + upload (waited for) + `jobs` runs of `tool_id` on the upload."""
        history_id, dataset_id, upload_job = self.uploaded_history("", content, "fleet.txt")
        job_ids = [upload_job]
        for _ in range(jobs):
            job_ids.extend(self.run_tool(history_id, tool_id, dataset_id))
        log(f"submitted {jobs} {tool_id} job(s)")
        return {"url": self.url, "history_id": history_id, "dataset_id": dataset_id, "job_ids": job_ids}

    def stream(
        self, every: float, stop_file: str, output: str, duration: float = 900.0, tool_id: str = "cat1",
        content: str = "galaxyops\nfleet\n",
    ) -> dict[str, Any]:
        """History + upload (waited for), then one run of `tool_id` every `every` seconds until
        `stop_file` exists (or `duration`); `output` holds what was submitted so far, as `submit`
        prints it, plus the requests that failed, after every job."""
        history_id, dataset_id, upload_job = self.uploaded_history("stream ", content, "stream.txt")
        state: dict[str, Any] = {"url": self.url, "history_id": history_id, "dataset_id": dataset_id,
                                 "job_ids": [upload_job], "failed_requests": []}
        start = time.monotonic()
        while not os.path.exists(stop_file) and time.monotonic() - start < duration:
            began = time.monotonic()
            try:
                state["job_ids"].extend(self.run_tool(history_id, tool_id, dataset_id))
            except GalaxyError as exc:
                log(f"submission failed: {exc}")
            state["failed_requests"] = list(self.failed_requests)
            with open(output + ".tmp", "w", encoding="utf-8") as fh:
                json.dump(state, fh, indent=2, sort_keys=True)
            os.replace(output + ".tmp", output)
            time.sleep(max(0.0, every - (time.monotonic() - began)))
        log(f"submitted {len(state['job_ids']) - 1} {tool_id} job(s)")
        return state


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _key_for(args: argparse.Namespace, client: GalaxyClient) -> str:
    """An admin user's API key: --key, or one made with the bootstrap key."""
    if args.key:
        return args.key
    if not args.bootstrap_key:
        raise GalaxyError("give --key or --bootstrap-key")
    user_id = client.ensure_user(args.email, args.username, args.password)
    return client.user_api_key(user_id)


def _admin_client(args: argparse.Namespace) -> GalaxyClient:
    client = GalaxyClient(args.url, key=args.bootstrap_key, timeout=args.request_timeout)
    client.key = _key_for(args, client)
    return client


def _add_common(p: argparse.ArgumentParser, auth: bool = True) -> None:
    p.add_argument("--url", required=True, help="Galaxy's base URL (through nginx or a gunicorn bind)")
    p.add_argument("--request-timeout", type=float, default=60.0)
    if auth:
        p.add_argument("--key", help="API key of an admin user")
        p.add_argument("--bootstrap-key", help="galaxy.yml's bootstrap_admin_api_key")
        p.add_argument("--email", default="admin@galaxy.test", help="admin user (listed in admin_users)")
        p.add_argument("--username", default="admin")
        p.add_argument("--password", default=DEFAULT_PASSWORD)


def _add_checks(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect", action="append", default=[], metavar="TOOL=PATTERN[,PATTERN]",
                   help="every job of TOOL must run on a handler matching a pattern (fnmatch)")
    p.add_argument("--min-handlers", action="append", default=[], metavar="TOOL=N",
                   help="TOOL's jobs must have run on at least N distinct handlers")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for jobs")
    p.add_argument("--output", help="also write the JSON summary to this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("wait", help="wait for /api/version")
    _add_common(p, auth=False)
    p.add_argument("--timeout", type=float, default=300.0)
    p = sub.add_parser("bootstrap", help="ensure the admin user, print its API key")
    _add_common(p)
    p = sub.add_parser("run", help="upload + N jobs, poll, summary")
    _add_common(p)
    _add_checks(p)
    p.add_argument("--jobs", type=int, default=5)
    p.add_argument("--tool", default="cat1")
    p.add_argument("--workflows", type=int, default=0, help="invocations of a one-step workflow running --tool")
    p = sub.add_parser("submit", help="upload + N jobs, print job ids")
    _add_common(p)
    p.add_argument("--jobs", type=int, default=5)
    p.add_argument("--tool", default="cat1")
    p = sub.add_parser("stream", help="upload, then one job every --every seconds until --stop-file exists")
    _add_common(p)
    p.add_argument("--every", type=float, default=2.0)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--output", required=True, help="file that holds the jobs submitted so far (submit's JSON)")
    p.add_argument("--duration", type=float, default=900.0)
    p.add_argument("--tool", default="cat1")
    p = sub.add_parser("poll", help="poll jobs from submit's JSON, summary")
    _add_common(p)
    _add_checks(p)
    p.add_argument("--submitted", required=True, help="file with submit's JSON output ('-' = stdin)")
    return parser


def _emit(data: Mapping[str, Any], output: str | None = None) -> None:
    text = json.dumps(data, indent=2, sort_keys=True)
    print(text)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")


def _finish(client: GalaxyClient, args: argparse.Namespace, history_id: str, job_ids: Sequence[str],
            started: float | None = None, invocation_ids: Sequence[str] = (), dataset_id: str | None = None) -> int:
    invocations = client.wait_invocations(invocation_ids, timeout=args.timeout) if invocation_ids else []
    job_ids = list(job_ids) + [j for inv in invocations for j in inv["job_ids"]]
    jobs = client.poll(history_id, job_ids, timeout=args.timeout)
    summary = summarize(jobs, parse_expectations(args.expect), parse_min_handlers(args.min_handlers),
                        client.failed_requests)
    summary["history_id"] = history_id
    if dataset_id:
        summary["dataset_id"] = dataset_id
    summary["invocations"] = invocations
    summary["problems"].extend(invocation_problems(invocations))
    summary["ok"] = not summary["problems"]
    if started is not None:
        summary["wall_s"] = round(time.monotonic() - started, 2)
    _emit(summary, args.output)
    for problem in summary["problems"]:
        log(f"problem: {problem}")
    return 0 if summary["ok"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("run", "poll"):
            parse_expectations(args.expect)
            parse_min_handlers(args.min_handlers)
    except ValueError as exc:
        print(f"galaxy_client: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "wait":
            version, seconds = GalaxyClient(args.url).wait_ready(timeout=args.timeout)
            _emit({"url": args.url, "version": version, "waited_s": seconds})
            return 0
        client = _admin_client(args)
        if args.command == "bootstrap":
            print(client.key)
            return 0
        if args.command == "submit":
            _emit(client.submit(args.jobs, args.tool))
            return 0
        if args.command == "stream":
            _emit(client.stream(args.every, args.stop_file, args.output, args.duration, args.tool))
            return 0
        if args.command == "run":
            started = time.monotonic()
            submitted = client.submit(args.jobs, args.tool)
            invocations = client.invoke_workflows(submitted["history_id"], submitted["dataset_id"], args.workflows,
                                                  args.tool)
            return _finish(client, args, submitted["history_id"], submitted["job_ids"], started, invocations,
                           submitted["dataset_id"])
        if args.command == "poll":
            with (sys.stdin if args.submitted == "-" else open(args.submitted, encoding="utf-8")) as fh:
                submitted = json.load(fh)
            client.failed_requests.extend(submitted.get("failed_requests", []))
            return _finish(client, args, submitted["history_id"], submitted["job_ids"])
    except GalaxyError as exc:
        log(f"error: {exc}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
