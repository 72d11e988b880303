"""The plan as an admin reads it in the play output: host -> units -> processes, then instances.

    web1 (10.77.0.11) groups: galaxy_web
      galaxy-gunicorn@0.service: gunicorn gunicorn0 bind 0.0.0.0:8080
    instance _default_: upstream galaxy = 10.77.0.11:8080, 10.77.0.12:8080
      handlers: handler_0@handlers1 special_0@handlers1
      celery-beat: -

Plain text from the plan dict (the output of ``build_plan``); the plan playbook prints it.
"""

from __future__ import annotations

from typing import Any, Mapping


def _host_lines(name: str, host: Mapping[str, Any]) -> list[str]:
    groups = ", ".join(host.get("groups") or []) or "-"
    units = host.get("units") or {}
    lines = [f"{name} ({host.get('address')}) groups: {groups}" + ("" if units else ", nothing to run")]
    for unit in units.values():
        for proc in unit["instances"]:
            bind = f" bind {proc['bind']}" if proc.get("bind") else ""
            lines.append(f"  {proc['unit']}: {unit['service_type']} {proc['server_name']}{bind}")
    return lines


def _instance_lines(name: str, inst: Mapping[str, Any]) -> list[str]:
    members = ", ".join(m["address"] for m in inst["upstream"]["members"]) or "-"
    handlers = " ".join(f"{server}@{entry['host']}" for server, entry in (inst.get("handlers") or {}).items())
    return [f"instance {name}: upstream {inst['upstream']['name']} = {members}",
            f"  handlers: {handlers or '-'}",
            f"  celery-beat: {inst.get('celery_beat_host') or '-'}"]


def summary_lines(plan: Mapping[str, Any]) -> list[str]:
    """One line a host, a process, and three an instance, in the plan's order."""
    lines: list[str] = []
    for name, host in plan.get("hosts", {}).items():
        lines += _host_lines(name, host)
    for name, inst in plan.get("instances", {}).items():
        lines += _instance_lines(name, inst)
    return lines
