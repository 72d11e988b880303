# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One lane of a rolling restart on one host (module galaxyops.fleet.galaxy_restart_lane); standard library only.

A lane is a list of steps; the units of a step restart together, in one ``systemctl restart`` (or
``systemctl reload`` for the units that reload), then each is waited for: its journal text (a handler's
``is running``, a celery worker's `` ready.``), else its TCP port, else ``systemctl is-active``. The
next step starts once every unit of this one is ready. The first failure ends the lane; so does the
stop file (another lane or the web steps failed) before a step. Every point is recorded as an event
(``stop`` when the call begins, ``start`` when it returned, ``ready``) with its epoch time.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.module_utils import health


@dataclass(frozen=True)
class Event:
    """One point of the restart, for a timeline."""

    id: str
    host: str
    unit: str
    kind: str
    time: float


@dataclass
class StepRecord:
    """What one step did: when its call began (``stop``) and returned (``start``), when each unit was ready."""

    ids: list[str]
    stop: float | None = None
    start: float | None = None
    ready: dict[str, float] = field(default_factory=dict)
    ok: bool = False
    failures: list[str] = field(default_factory=list)


@dataclass
class LaneRecord:
    """The lane's result."""

    lane: str
    host: str
    steps: list[StepRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failed_step: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    stopped: bool = False
    failed_what: str = ""  # what the failed step did not get past: "restart" or "not ready after restart"
    msg: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed_step and not self.stopped

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["failures"] = [f for s in self.steps for f in s.failures]
        return out


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _remove(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)


@dataclass(frozen=True)
class System:
    """What the lane touches on its host (replaced in tests)."""

    run: Callable[[list[str]], tuple[int, str, str]]
    now: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    exists: Callable[[str], bool] = os.path.exists
    remove: Callable[[str], None] = _remove
    connect: Callable[[str, int], bool] = _connects


def ready_check(unit: Mapping[str, Any], system: System) -> health.Seen:
    """Whether a restarted unit is ready: its journal text, else its port, else active."""
    if unit.get("text"):
        return health.logged(unit, lambda argv: system.run(argv)[1])
    if unit.get("port"):
        port = unit["port"]
        ok = system.connect(port["host"], int(port["port"]))
        return health.Seen(ok, f"{'listens' if ok else 'nothing listens'} on {port['host']}:{port['port']}")
    rc, out, _err = system.run(["systemctl", "is-active", "--", unit["unit"]])
    return health.Seen(rc == 0, out.strip() or f"rc {rc}")


def calls(step: Mapping[str, Any]) -> list[list[str]]:
    """The systemctl calls of a step: one restart of all its restarted units, one reload of the others."""
    out = []
    for state, verb in (("restarted", "restart"), ("reloaded", "reload")):
        units = [u["unit"] for u in step["units"] if u.get("state", "restarted") == state]
        if units:
            out.append(["systemctl", verb, "--", *units])
    return out


def run_lane(lane: str, host: str, steps: Sequence[Mapping[str, Any]], deadline: float, interval: float,
             system: System, stop_file: str | None = None) -> LaneRecord:
    """Run the steps in order; stop at the first failure or when the stop file appears."""
    record = LaneRecord(lane=lane, host=host)
    if stop_file:
        system.remove(stop_file)
    for index, step in enumerate(steps):
        later = [i for s in steps[index:] for i in s["ids"]]
        if stop_file and system.exists(stop_file):
            record.stopped, record.left = True, later
            record.msg = f"lane {lane} stopped before {' + '.join(step['ids'])}: another part of the restart failed"
            return record
        rec = StepRecord(ids=list(step["ids"]))
        record.steps.append(rec)
        _restart(step, rec, record, system)
        if not rec.failures:
            _wait(step, rec, record, deadline, interval, system)
        if rec.failures:
            record.failed_step, record.left = list(step["ids"]), later[len(step["ids"]):]
            what = record.failed_what = "restart" if rec.start is None else "not ready after restart"
            record.msg = f"lane {lane} stopped at {' + '.join(step['ids'])} ({what}): {'; '.join(rec.failures)}"
            return record
        rec.ok = True
        record.done += list(step["ids"])
    record.msg = f"lane {lane}: {len(record.done)} unit(s) restarted in {len(steps)} step(s)"
    return record


def _restart(step: Mapping[str, Any], rec: StepRecord, record: LaneRecord, system: System) -> None:
    rec.stop = system.now()
    record.events += [Event(u["id"], record.host, u["unit"], "stop", rec.stop) for u in step["units"]]
    for argv in calls(step):
        rc, _out, err = system.run(argv)
        if rc != 0:
            rec.failures.append(f"{' '.join(argv)} failed (rc {rc}): {err.strip()[:300]}")
            return
    rec.start = system.now()
    record.events += [Event(u["id"], record.host, u["unit"], "start", rec.start) for u in step["units"]]


def _wait(step: Mapping[str, Any], rec: StepRecord, record: LaneRecord, deadline: float, interval: float,
          system: System) -> None:
    begin = system.now()
    items = {u["id"]: u for u in step["units"]}
    checks = health.poll(items, lambda unit: ready_check(unit, system), deadline, interval,
                         clock=system.now, sleep=system.sleep)
    for unit_id, check in sorted(checks.items(), key=lambda kv: kv[1].after_s):
        if check.ok:
            rec.ready[unit_id] = round(begin + check.after_s, 3)
            record.events.append(Event(unit_id, record.host, items[unit_id]["unit"], "ready", rec.ready[unit_id]))
    rec.failures += health.failures(checks, record.host)


def plan_text(steps: Sequence[Mapping[str, Any]]) -> str:
    """What the lane would do, one line per call (check mode, diff)."""
    return "".join(" ".join(argv) + "\n" for step in steps for argv in calls(step))
