# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The journals of several hosts merged in time order, one line an entry (controller only, no Ansible import).

Each host's records come from galaxyops.fleet.galaxy_journal (``time_us``, ``unit``, ``message``); a line reads
``2026-12-02T04:30:01.123456Z web1 galaxy-gunicorn@0.service: message``. Entries at the same microsecond keep
their host's order; a message of several lines gives several lines, each with the prefix.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence


def stamp(time_us: int) -> str:
    """Microseconds since the epoch as an ISO time in UTC."""
    return datetime.fromtimestamp(time_us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merged(by_host: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[tuple[int, str, Mapping[str, Any]]]:
    """Every record with its host, oldest first (stable: a host's own order is kept at equal times)."""
    out = [(int(r.get("time_us") or 0), host, i, r) for host, records in by_host.items()
           for i, r in enumerate(records or [])]
    out.sort(key=lambda t: (t[0], t[1], t[2]))
    return [(t, host, r) for t, host, _i, r in out]


def lines(by_host: Mapping[str, Sequence[Mapping[str, Any]]], last: int | None = None) -> list[str]:
    """The merged journal as text lines; ``last``: only the newest that many entries."""
    entries = merged(by_host)
    if last is not None and last >= 0:
        entries = entries[len(entries) - last:] if last < len(entries) else entries
    out = []
    for t, host, r in entries:
        prefix = f"{stamp(t)} {host} {r.get('unit')}:"
        for text in str(r.get("message") or "").splitlines() or [""]:
            out.append(f"{prefix} {text}".rstrip())
    return out


def hosts_without_entries(by_host: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Selected hosts whose units logged nothing that matched."""
    return [host for host, records in by_host.items() if not records]
