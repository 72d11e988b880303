# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity-based web steps and the background lanes of a rolling restart (controller only, no Ansible import).

- capacity: ``max_unavailable`` (a count, or a percentage of each upstream's members) says how many
  gunicorns of one upstream may be out of nginx at once; the web steps take, per upstream, that many
  members spread over its hosts, so the number of steps is ceil(members / max_unavailable);
- lanes: the handler waves and the other services do not share capacity with the gunicorns. A lane is
  what one host can run by itself (module galaxyops.fleet.galaxy_restart_lane): the waves of the
  handlers of a host whose pools have no handler on another host, or a host's other services one at a
  time. Handler pools that span hosts need the waves in step across hosts: they stay in the foreground.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

#: Seconds a step may take besides waiting for its units (the systemctl call, stopping the old processes).
STEP_SLACK = 120
_COUNT = re.compile(r"^\s*([0-9]+)\s*(%?)\s*$")


@dataclass(frozen=True)
class Capacity:
    """``max_unavailable`` read: a count or a percentage (``percent``)."""

    value: int
    percent: bool

    def of(self, members: int) -> int:
        """Members of an upstream of ``members`` that may restart at once (a percentage rounds down, at least 1)."""
        if not self.percent:
            return self.value
        return max(1, math.floor(members * self.value / 100))


def parse_capacity(text: Any) -> Capacity | None:
    """``"2"``, ``2``, ``"25%"``; None for anything else, zero and percentages above 100."""
    match = _COUNT.match(str(text))
    if not match or isinstance(text, bool):
        return None
    value, percent = int(match.group(1)), bool(match.group(2))
    if value < 1 or (percent and value > 100):
        return None
    return Capacity(value, percent)


def spread(members: Sequence[Any]) -> list[Any]:
    """Members in turns over their hosts (the 1st of each host, then the 2nd, ...), hosts in their first order."""
    hosts = list(dict.fromkeys(m.host for m in members))
    per = [[m for m in members if m.host == h] for h in hosts]
    return [ms[k] for k in range(max((len(ms) for ms in per), default=0)) for ms in per if len(ms) > k]


def capacity_groups(members: Sequence[Any], capacity: Capacity) -> list[list[Any]]:
    """The gunicorns of each web step: per upstream, chunks of its capacity taken in turns over its hosts;
    step i holds the i-th chunk of every upstream."""
    chunks: list[list[list[Any]]] = []
    for upstream in dict.fromkeys(m.upstream for m in members):
        ms = [m for m in members if m.upstream == upstream]
        size = capacity.of(ms[0].upstream_size)
        ordered = spread(ms)
        chunks.append([ordered[i:i + size] for i in range(0, len(ordered), size)])
    return [[m for c in chunks if len(c) > i for m in c[i]] for i in range(max((len(c) for c in chunks), default=0))]


def capacity_problem(capacity: Capacity, members: Sequence[Any], allow_downtime: bool) -> str | None:
    """A capacity that would take every member of an upstream out at once (unless downtime is allowed)."""
    if allow_downtime:
        return None
    emptied = sorted({m.upstream for m in members if capacity.of(m.upstream_size) >= m.upstream_size})
    if not emptied:
        return None
    sizes = {m.upstream: m.upstream_size for m in members}
    what = ", ".join(f"{u} ({sizes[u]} member(s))" for u in emptied)
    return (f"galaxy_restart_max_unavailable {capacity.value}{'%' if capacity.percent else ''} would take every "
            f"gunicorn of upstream {what} out at once: lower it (restart_max_unavailable), add gunicorns, or set "
            "galaxy_restart_allow_downtime (-e restart_allow_downtime=true).")


# ------------------------------------------------------------------ lanes
@dataclass(frozen=True)
class Lane:
    """What one host restarts by itself, in order: steps of units restarted together."""

    id: str
    host: str
    kind: str
    steps: tuple[dict[str, Any], ...]
    stop_file: str
    ids: tuple[str, ...] = ()
    # seconds the whole lane may take (each step: the ready deadline and its systemctl call), for the
    # background job and the wait for it
    timeout: int = 0


def _unit(process: Any, state: str, text: str | None, port: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": process.id, "unit": process.unit, "state": state, "text": text, "port": port}


def _timeout(steps: Sequence[Any], ready_timeout: float) -> int:
    return int(len(steps) * (ready_timeout + STEP_SLACK) + STEP_SLACK)


def handler_lanes(waves: Sequence[Any], ready_message: str,
                  ready_timeout: float = 300) -> tuple[list[Lane], list[list[Any]]]:
    """Waves split into one lane per handler host whose pools stay on it, and the handlers of the other
    hosts, wave by wave, that must stay in step across hosts."""
    handlers = [p for w in waves for p in w.processes]
    pool_hosts: dict[str, set[str]] = {}
    for p in handlers:
        for pool in p.pools:
            pool_hosts.setdefault(pool, set()).add(p.host)
    alone = [h for h in dict.fromkeys(p.host for p in handlers)
             if all(pool_hosts[pool] == {h} for p in handlers if p.host == h for pool in p.pools)]
    lanes = []
    for host in alone:
        steps = []
        for wave in waves:
            units = [_unit(p, "restarted", ready_message.replace("{name}", str(p.server_name)), None)
                     for p in wave.processes if p.host == host]
            if units:
                steps.append({"ids": [u["id"] for u in units], "units": units})
        lanes.append(Lane(id=f"handlers on {host}", host=host, kind="handlers", steps=tuple(steps),
                          stop_file="/run/galaxyops-fleet-restart-handlers.stop",
                          ids=tuple(i for s in steps for i in s["ids"]), timeout=_timeout(steps, ready_timeout)))
    rest = [[p for p in w.processes if p.host not in alone] for w in waves]
    return lanes, [ps for ps in rest if ps]


def service_lanes(services: Sequence[Any], ready_timeout: float = 300) -> list[Lane]:
    """One lane per host of its other services (celery, tusd, ...), one at a time."""
    lanes = []
    for host in dict.fromkeys(s.process.host for s in services):
        steps = []
        for s in services:
            if s.process.host == host:
                text = s.journal[0]["text"] if s.journal else None
                steps.append({"ids": [s.process.id], "units": [_unit(s.process, s.state, text, s.port)]})
        lanes.append(Lane(id=f"services on {host}", host=host, kind="services", steps=tuple(steps),
                          stop_file="/run/galaxyops-fleet-restart-services.stop",
                          ids=tuple(i for st in steps for i in st["ids"]), timeout=_timeout(steps, ready_timeout)))
    return lanes


# ------------------------------------------------------------------ events (a timeline of the restart)
EVENT_KINDS = ("drain", "stop", "start", "ready", "undrain")


def events(kind: str, processes: Sequence[Any], when: float) -> list[dict[str, Any]]:
    """One event per process (records or dicts with ``id``, ``host``, ``unit``) at epoch time ``when``."""
    def get(p: Any, key: str) -> Any:
        return p.get(key) if isinstance(p, dict) else getattr(p, key)
    return [{"id": get(p, "id"), "host": get(p, "host"), "unit": get(p, "unit"), "kind": kind, "time": round(when, 3)}
            for p in processes]


def lane_events(results: Sequence[Any]) -> list[dict[str, Any]]:
    """The events recorded by galaxy_restart_lane results (each result's ``events``; none when it has none)."""
    return [dict(e) for r in results if isinstance(r, dict) for e in r.get("events") or []]
