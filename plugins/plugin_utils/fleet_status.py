# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's status: every host's answer (module galaxy_status) merged against the plan into one table.

Pure: the filter ``galaxyops.fleet.fleet_status`` feeds it the plan and the registered results.

- one row per planned process (and per running unit the plan lacks): host, unit, service, server
  name, state, main PID, uptime, memory now and its limit, health;
- problems (the status playbook fails on them): a planned process not running, a host that did not
  answer, a gunicorn that does not answer ``/api/version`` from a proxy or that a proxy's upstream
  lacks, a job handler Galaxy's database does not see alive, a port or socket that does not accept;
- warnings (reported, not failed on): a member drained in a proxy, a unit that differs from what
  the plan renders, a running unit the plan lacks, Galaxy versions that differ across hosts, what
  a host could not read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

HANDLER_TYPE = "standalone"
SHOWN_TYPES = {"standalone": "handler"}
COLUMNS = ("host", "unit", "service", "server_name", "state", "pid", "uptime", "memory", "limit", "health")
HEADINGS = {"server_name": "server name", "pid": "main PID"}
OK, WARNING, FAILED = "ok", "warning", "failed"


@dataclass
class Row:
    """One line of the table."""

    host: str
    unit: str
    service: str
    server_name: str
    state: str
    pid: str
    uptime: str
    memory: str
    limit: str
    health: str
    verdict: str = OK
    planned: bool = True
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: str | None = None

    @property
    def id(self) -> str:
        return f"{self.host}/{self.unit}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "id": self.id}


def human_duration(seconds: float | None) -> str:
    """``45s``, ``12m05s``, ``3h07m``, ``2d04h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def human_bytes(value: int | None) -> str:
    """``812K``, ``143.2M``, ``1.5G``; ``-`` when unknown or unlimited."""
    if value is None:
        return "-"
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= size:
            return f"{value / size:.1f}{unit}" if unit != "K" else f"{value // size}K"
    return f"{value}B"


def proxies(plan: Mapping[str, Any]) -> list[str]:
    group = (plan.get("groups") or {}).get("proxy", "galaxy_proxy")
    return [h for h, entry in (plan.get("hosts") or {}).items() if group in (entry.get("groups") or [])]


def _answer(results: Mapping[str, Any], host: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """A host's module result, or why there is none."""
    res = results.get(host)
    if not isinstance(res, Mapping):
        return None, "no answer (not in the play)"
    if res.get("unreachable"):
        return None, f"unreachable: {str(res.get('msg', ''))[:200]}"
    if res.get("failed") or "processes" not in res:
        return None, f"galaxy_status failed: {str(res.get('msg', ''))[:200]}"
    return res, None


def _gunicorn_health(row: Row, plan: Mapping[str, Any], results: Mapping[str, Any]) -> list[str]:
    """What each proxy sees of a gunicorn; sets problems, warnings and the version on the row."""
    parts, versions = [], set()
    for proxy in proxies(plan):
        res, why = _answer(results, proxy)
        if res is None:
            row.problems.append(f"{row.id}: not checked from {proxy} ({why})")
            parts.append(f"{proxy}: ?")
            continue
        member = (res.get("members") or {}).get(row.id)
        probe = (res.get("probes") or {}).get(row.id)
        if member is None and probe is None:
            continue  # not a member of any upstream (the plan puts it elsewhere)
        if member == "missing":
            row.problems.append(f"{row.id}: missing in the nginx upstream on {proxy}")
        elif member == "drained":
            row.warnings.append(f"{row.id}: drained in nginx on {proxy}")
        if probe and probe.get("ok"):
            versions.add(probe.get("version"))
            parts.append(f"{proxy}: {probe.get('version')} {member or '?'}")
        else:
            seen = (probe or {}).get("seen", "not probed")
            row.problems.append(f"{row.id}: /api/version from {proxy}: {seen}")
            parts.append(f"{proxy}: down {member or '?'}")
    if len(versions) == 1:
        row.version = next(iter(versions))
    elif versions:
        row.warnings.append(f"{row.id}: answers versions {', '.join(sorted(map(str, versions)))} to different proxies")
    return parts


def _process_row(host: str, entry: Mapping[str, Any], plan: Mapping[str, Any], results: Mapping[str, Any]) -> Row:
    sd = entry.get("systemd") or {}
    stype = entry.get("service_type") or "?"
    row = Row(host=host, unit=entry["unit"], service=SHOWN_TYPES.get(stype, stype),
              server_name=entry.get("server_name") or "-", state=f"{sd.get('active', '?')}/{sd.get('sub', '?')}",
              pid=str(sd.get("main_pid") or "-"), uptime=human_duration(sd.get("uptime_s")),
              memory=human_bytes(sd.get("memory")), limit=human_bytes(sd.get("memory_max")), health="")
    running = sd.get("active") in ("active", "reloading")
    if not running:
        row.problems.append(f"{row.id}: planned, not running ({row.state})")
    row.warnings += [f"{row.id}: {line}" for line in entry.get("drift") or []]
    parts: list[str] = []
    if stype == "gunicorn":
        parts = _gunicorn_health(row, plan, results)
    elif stype == HANDLER_TYPE and entry.get("heartbeat"):
        beat = entry["heartbeat"]
        parts = [("alive" if beat["alive"] else "not alive") + f" ({beat['seen']})", f"{beat['jobs']} job(s)"]
        if not beat["alive"]:
            row.problems.append(f"{row.id}: job handler {row.server_name} not alive in Galaxy's database: {beat['seen']}")
    elif entry.get("accepts"):
        acc = entry["accepts"]
        parts = [acc["seen"] if acc["ok"] else "refuses: " + acc["seen"]]
        if not acc["ok"] and running:
            row.problems.append(f"{row.id}: {acc['seen']}")
    row.health = "; ".join(parts) if parts else ("running" if running else "-")
    if row.problems:
        row.verdict = FAILED
        if not running:
            row.health = "; ".join(["DOWN"] + parts)
    elif row.warnings:
        row.verdict = WARNING
    return row


def _missing_rows(host: str, plan: Mapping[str, Any], why: str) -> list[Row]:
    rows = []
    for unit in ((plan.get("hosts") or {}).get(host) or {}).get("units", {}).values():
        for proc in unit.get("instances") or []:
            stype = unit.get("service_type", "?")
            row = Row(host=host, unit=proc["unit"], service=SHOWN_TYPES.get(stype, stype),
                      server_name=proc.get("server_name") or "-", state="?", pid="-", uptime="-", memory="-",
                      limit="-", health=why, verdict=FAILED)
            row.problems.append(f"{row.id}: {why}")
            rows.append(row)
    return rows


@dataclass
class Status:
    """The merged status of the fleet."""

    rows: list[Row]
    problems: list[str]
    warnings: list[str]
    versions: dict[str, list[str]]  # Galaxy version -> HOST/UNIT of the gunicorns that answered it

    @property
    def ok(self) -> bool:
        return not self.problems

    def health(self) -> dict[str, str]:
        """HOST/UNIT -> ok, warning or failed (for the picture)."""
        return {r.id: r.verdict for r in self.rows}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": [r.as_dict() for r in self.rows], "problems": self.problems,
                "warnings": self.warnings, "versions": self.versions, "health": self.health(),
                "lines": table(self)}


def merge(plan: Mapping[str, Any], results: Mapping[str, Any]) -> Status:
    """Every host's answer against the plan (``results``: host -> the registered result of galaxy_status)."""
    rows: list[Row] = []
    warnings: list[str] = []
    for host in (plan.get("hosts") or {}):
        res, why = _answer(results, host)
        if res is None:
            if (((plan.get("hosts") or {}).get(host) or {}).get("units")):
                rows += _missing_rows(host, plan, why or "no answer")
            elif host in proxies(plan):
                warnings.append(f"{host}: {why}")
            continue
        rows += [_process_row(host, entry, plan, results) for entry in res.get("processes") or []]
        for extra in res.get("unplanned") or []:
            row = Row(host=host, unit=extra["unit"], service="-", server_name="-",
                      state=f"{extra['active']}/{extra['sub']}", pid="-", uptime="-", memory="-", limit="-",
                      health="running, not planned", verdict=WARNING, planned=False)
            row.warnings.append(f"{row.id}: running, not planned")
            rows.append(row)
        warnings += [f"{host}: {e}" for e in res.get("errors") or []]
    versions: dict[str, list[str]] = {}
    for row in rows:
        if row.version:
            versions.setdefault(row.version, []).append(row.id)
    if len(versions) > 1:
        warnings.append("Galaxy versions differ across hosts: "
                        + "; ".join(f"{v} on {', '.join(ids)}" for v, ids in sorted(versions.items())))
    problems = [p for r in rows for p in r.problems]
    warnings = [w for r in rows for w in r.warnings] + warnings
    return Status(rows=rows, problems=problems, warnings=warnings, versions=versions)


def table(status: Status) -> list[str]:
    """The table as lines (columns padded), then the problems and warnings, then one summary line."""
    head = [HEADINGS.get(c, c) for c in COLUMNS]
    cells = [[str(getattr(r, c)) for c in COLUMNS] for r in status.rows]
    widths = [max(len(x) for x in col) for col in zip(head, *cells)]

    def fmt(values: Iterable[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    lines = [fmt(head)] + [fmt(c) for c in cells]
    lines += [f"PROBLEM: {p}" for p in status.problems] + [f"warning: {w}" for w in status.warnings]
    planned = [r for r in status.rows if r.planned]
    healthy = sum(1 for r in planned if r.verdict != FAILED)
    version = ", ".join(sorted(status.versions)) or "unknown"
    lines.append(f"{healthy}/{len(planned)} planned processes healthy, {len(status.problems)} problem(s), "
                 f"{len(status.warnings)} warning(s); Galaxy {version}")
    return lines
