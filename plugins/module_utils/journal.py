# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journal of some units as records (host side, no Ansible import): the ``journalctl`` command line and
its ``-o json`` output read into :class:`Record` (time, unit, message, priority, cursor)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Record:
    """One journal entry of a selected unit."""

    time_us: int
    unit: str
    message: str
    priority: int | None
    cursor: str


def argv(units: Sequence[str], since: str | None = None, grep: str | None = None, lines: int | None = None,
         after_cursor: str | None = None, journalctl: str = "journalctl") -> list[str]:
    """``journalctl`` for these units, oldest first, as JSON lines."""
    out = [journalctl, "--no-pager", "-o", "json", "--all"]
    for unit in units:
        out += ["-u", unit]
    if since:
        out += ["--since", since]
    if grep:
        out += ["--grep", grep]
    if after_cursor:
        out += ["--after-cursor", after_cursor]
    elif lines is not None:
        out += ["-n", str(lines)]
    return out


def _text(value) -> str:
    """MESSAGE is a string, or a list of bytes when it is not valid UTF-8 (journalctl's JSON)."""
    if isinstance(value, list):
        return bytes(v for v in value if isinstance(v, int) and 0 <= v < 256).decode("utf-8", "replace")
    return "" if value is None else str(value)


def unit_of(entry: dict, units: Sequence[str]) -> str:
    """The selected unit an entry belongs to: the process's unit, or the unit systemd logs about."""
    for key in ("_SYSTEMD_UNIT", "UNIT", "OBJECT_SYSTEMD_UNIT", "_SYSTEMD_USER_UNIT"):
        if entry.get(key) in units:
            return entry[key]
    return str(entry.get("_SYSTEMD_UNIT") or entry.get("UNIT") or "?")


def records(output: Iterable[str], units: Sequence[str]) -> list[Record]:
    """Records from journalctl's ``-o json`` lines (lines that are not JSON objects are skipped)."""
    out = []
    for line in output:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        prio = entry.get("PRIORITY")
        out.append(Record(time_us=int(entry.get("__REALTIME_TIMESTAMP") or 0), unit=unit_of(entry, units),
                          message=_text(entry.get("MESSAGE")),
                          priority=int(prio) if str(prio or "").isdigit() else None,
                          cursor=str(entry.get("__CURSOR") or "")))
    return out
