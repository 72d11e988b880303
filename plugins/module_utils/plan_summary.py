"""The plan as an admin reads it in the play output: host -> units -> processes, then instances.

    web1 (10.77.0.11) groups: galaxy_web
      galaxy-gunicorn@0.service: gunicorn gunicorn0 bind 0.0.0.0:8080
    instance _default_: upstream galaxy = 10.77.0.11:8080, 10.77.0.12:8080
      handlers: handler_0@handlers1 special_0@handlers1
      celery-beat: -

Plain text from the plan dict (the output of ``build_plan``); the plan playbook prints it. With
``-e plan_show=true`` it also prints :func:`show_lines`, ``galaxyctl list`` / ``show`` for the fleet: each
Galaxy instance, its configuration files and settings, then its processes host by host.
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


def _instance_processes(name: str, plan: Mapping[str, Any]) -> list[str]:
    lines = []
    for host, hplan in plan.get("hosts", {}).items():
        procs = [(unit, proc) for unit in (hplan.get("units") or {}).values() if unit.get("instance_name") == name
                 for proc in unit["instances"]]
        if not procs:
            continue
        lines.append(f"  {host} ({hplan.get('address')}):")
        for unit, proc in procs:
            bind = f" bind {proc['bind']}" if proc.get("bind") else ""
            lines.append(f"    {proc['unit']}: {unit['service_type']} {unit['service_name']} "
                         f"{proc.get('server_name') or '-'}{bind}")
    return lines or ["  no process"]


def show_lines(plan: Mapping[str, Any]) -> list[str]:
    """Per Galaxy instance: its configuration files and settings, then its processes per host."""
    lines: list[str] = []
    for name, inst in plan.get("instances", {}).items():
        upstream = inst.get("upstream") or {}
        lines += [f"instance {name}",
                  f"  galaxy.yml on the hosts: {inst.get('galaxy_config_file')}",
                  f"  job configuration: {inst.get('job_config') or '-'}",
                  f"  galaxy_root: {inst.get('galaxy_root')}, virtualenv: {inst.get('virtualenv')}, "
                  f"user: {inst.get('user')}, target: {inst.get('target')}",
                  f"  upstream {upstream.get('name') or '-'}: {len(upstream.get('members') or [])} gunicorn(s), "
                  f"{len(inst.get('handlers') or {})} handler(s)"]
        lines += _instance_processes(name, plan)
    return lines
