# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restart events read from a host's journal (module galaxyops.fleet.galaxy_restart_journal); standard library only.

Kinds (the interface of the fact ``galaxy_restart_events``): ``drain``, ``stop``, ``start``, ``ready``,
``undrain``. Where each comes from:

- ``stop`` / ``start``: systemd's own messages about the unit (``Stopping UNIT...`` / ``Starting UNIT...``, by their
  MESSAGE_ID, by their text when the ID is missing);
- ``ready``: the first line of the unit's processes, after a start, that contains one of the ready messages (the
  stand-in's ``ready, listening``, uvicorn's ``Application startup complete``, a handler's ``... is running``);
- ``drain`` / ``undrain``: the entries galaxy_nginx_members writes (:func:`member_note`) once nginx runs the
  configuration that takes a member out or puts it back.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

KINDS = ("drain", "stop", "start", "ready", "undrain")
IDENTIFIER = "galaxyops-fleet"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
# systemd's catalog (when a job's JOB_TYPE/JOB_RESULT fields are missing): unit starting, stopping, started,
# and failed to start / failed with result
STARTING_ID = "7d4958e842da4a758f6c1cdc7b36dcc5"
STOPPING_ID = "de5b426a63be47a7b6ac3eaac82e2f6f"
STARTED_ID = "39f53479d3a045ac8e11786248231fbf"
FAILED_IDS = ("be02cf6855d2428ba40df7e9d022f03d", "d9b373ed55a64feb8242e02dbe79a49c")
READY_MESSAGES = ("ready, listening", "Application startup complete", "' is running", " ready.")


@dataclass(frozen=True)
class Event:
    """One step of one process at one time (seconds since the epoch)."""

    id: str
    host: str
    unit: str
    kind: str
    time: float
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "unit": self.unit, "kind": self.kind, "time": self.time,
                "message": self.message}


def text(value: Any) -> str:
    """A journal field as text (journalctl gives non-UTF-8 values as lists of bytes)."""
    if isinstance(value, list):
        try:
            return bytes(value).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return ""
    return "" if value is None else str(value)


def when(entry: Mapping[str, Any]) -> float:
    return int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6


def systemd_kind(entry: Mapping[str, Any], unit: str) -> str | None:
    """What systemd says of UNIT in this entry: ``stop`` or ``start`` (a job begins), ``started`` (a start or
    restart job is done: a restart job logs ``Stopping``, then ``Stopped`` as done, then ``Started``, never
    ``Starting``), ``failed``; None for anything else."""
    if text(entry.get("UNIT")) != unit and text(entry.get("USER_UNIT")) != unit:
        return None
    job, result = text(entry.get("JOB_TYPE")), text(entry.get("JOB_RESULT"))
    message_id = text(entry.get("MESSAGE_ID"))
    message = text(entry.get("MESSAGE"))
    if "Failed with result" in message or message_id in FAILED_IDS or (job and result not in ("", "done")):
        return "failed"
    if job:
        if not result:
            return "stop" if job == "stop" else "start" if job in ("start", "restart") else None
        return "started" if job in ("start", "restart") else None
    if message_id == STOPPING_ID or (not message_id and message.startswith("Stopping ")):
        return "stop"
    if message_id == STARTING_ID or (not message_id and message.startswith("Starting ")):
        return "start"
    if message_id == STARTED_ID or (not message_id and message.startswith("Started ")):
        return "started"
    return None


def says_ready(entry: Mapping[str, Any], unit: str, ready_messages: tuple[str, ...]) -> bool:
    return text(entry.get("_SYSTEMD_UNIT")) == unit and any(m in text(entry.get("MESSAGE")) for m in ready_messages)


def unit_events(entries: Iterable[Mapping[str, Any]], host: str, unit: str,
                ready_messages: Iterable[str] = READY_MESSAGES,
                earlier: Iterable[Mapping[str, Any]] = ()) -> list[Event]:
    """The stop, start and ready events of UNIT on HOST from its journal entries (``journalctl -o json -u UNIT``).

    A unit that logs no ready message, neither in ENTRIES nor in the EARLIER entries (the lines before them), such
    as tusd, is ready when systemd says ``Started``, unless it failed before its next stop.
    """
    ready_messages = tuple(ready_messages)
    entries = sorted(entries, key=when)
    logs_ready = any(says_ready(e, unit, ready_messages) for e in [*entries, *earlier])
    events: list[Event] = []
    started: Event | None = None  # systemd's "Started" of the current start, until a ready message comes
    waiting_ready = False
    pending_start = False  # stopped, no start seen yet

    def close_start() -> None:
        nonlocal started, waiting_ready
        if waiting_ready and started is not None and not logs_ready:
            events.append(Event(started.id, host, unit, "ready", started.time, started.message))
        started, waiting_ready = None, False

    for entry in entries:
        kind = systemd_kind(entry, unit)
        message = text(entry.get("MESSAGE"))
        event = Event(f"{host}/{unit}", host, unit, kind or "ready", when(entry), message[:200])
        if kind == "started":
            if pending_start:
                # a restart job logs no "Starting": it starts with its "Stopped" (JOB_TYPE=restart, done)
                events.append(Event(event.id, host, unit, "start", event.time, event.message))
                pending_start, waiting_ready = False, True
                if text(entry.get("JOB_TYPE")) == "restart":
                    continue
            if waiting_ready and started is None:
                started = event
        elif kind == "failed":
            started, waiting_ready = None, False
        elif kind is not None:
            close_start()
            events.append(event)
            waiting_ready = kind == "start"
            pending_start = kind == "stop"
        elif waiting_ready and says_ready(entry, unit, ready_messages):
            events.append(event)
            started, waiting_ready = None, False
    close_start()
    return events


def member_events(entries: Iterable[Mapping[str, Any]], proxy: str) -> list[Event]:
    """The drain and undrain events the proxy's galaxy_nginx_members wrote (entries of SYSLOG_IDENTIFIER)."""
    events = []
    for entry in entries:
        kind = text(entry.get("GALAXYOPS_EVENT"))
        member = text(entry.get("GALAXYOPS_MEMBER"))
        if kind not in ("drain", "undrain") or "/" not in member:
            continue
        host, _sep, unit = member.partition("/")
        events.append(Event(member, host, unit, kind, when(entry), f"{kind} on {proxy}"))
    return sorted(events, key=lambda e: e.time)


def native_message(fields: Mapping[str, str]) -> bytes:
    """The journal's native protocol for single-line values."""
    return b"".join(f"{key}={str(value).replace(chr(10), ' ')}\n".encode("utf-8") for key, value in fields.items())


def member_note(kind: str, members: Iterable[str], path: str = JOURNAL_SOCKET) -> int:
    """Write one journal entry per member that nginx now takes out (``drain``) or sends to again (``undrain``).

    Best effort: no journal, nothing written. Returns how many entries were sent.
    """
    sent = 0
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError:
        return 0
    with sock:
        for member in members:
            verb = "out of" if kind == "drain" else "back into"
            fields = {"MESSAGE": f"{member} {verb} nginx", "SYSLOG_IDENTIFIER": IDENTIFIER, "PRIORITY": "6",
                      "GALAXYOPS_EVENT": kind, "GALAXYOPS_MEMBER": member}
            try:
                sock.sendto(native_message(fields), path)
            except OSError:
                return sent
            sent += 1
    return sent
