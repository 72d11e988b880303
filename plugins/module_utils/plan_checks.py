"""Cluster rules checked once an instance is placed: unique handler names, jobs that can reach a
handler, dynamic handlers that get jobs, and groups that leave a service without a host."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import DYNAMIC_ASSIGN_METHODS, JobConfig
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import RosterEntry


def roster_clash(roster: dict[str, RosterEntry], server_name: str) -> str | None:
    """Why ``server_name`` cannot join the roster (a handler elsewhere has it), or None."""
    existing = roster.get(server_name)
    if existing is None:
        return None
    what = "static handler" if existing.static else f"dynamic handler key {existing.key}"
    return f"handler server name {server_name!r} is not unique: the {what} on {existing.host} has it too"


def check_assignment(dynamic_planned: bool, job_conf: JobConfig, instance_name: str, galaxy_file: str,
                     allow_unassigned: bool, out: Collector) -> None:
    """Dynamic handlers only get jobs assigned with db-skip-locked or db-transaction-isolation."""
    if not dynamic_planned:
        return
    if any(method in (job_conf.assign or []) for method in DYNAMIC_ASSIGN_METHODS):
        return
    message = ("dynamic handlers are configured (gravity.handlers) but the job configuration does not assign "
               "jobs with db-skip-locked or db-transaction-isolation, so they would never get a job")
    if allow_unassigned:
        out.warn(f"instance {instance_name}: {message}")
        return
    label = job_conf.label if job_conf.source else galaxy_file
    key = "handling.assign" if job_conf.source else "galaxy.job_config"
    out.error(label, key, message + " (set allow_unassigned_dynamic_handlers to accept this)")


def check_tools(roster: dict[str, RosterEntry], job_conf: JobConfig, out: Collector) -> None:
    """Every tool mapping and the default handler name a running handler's id or tag."""
    running: set[str] = set()
    for server_name, entry in roster.items():
        running.add(server_name)
        running.update(entry.tags)
    for mapping in job_conf.tools:
        if mapping.handler not in running:
            out.error(job_conf.label, mapping.key_path, f"tool {mapping.tool} is sent to handler "
                      f"{mapping.handler!r}, but no running handler has that id or tag")
    if job_conf.default and job_conf.default not in running:
        out.error(job_conf.label, job_conf.default_key_path, f"the default handler is sent to handler "
                  f"{job_conf.default!r}, but no running handler has that id or tag")


def check_roles(base: dict, role_hosts: dict[str, list[str]], group_names: dict[str, str], instance_name: str,
                out: Collector) -> None:
    """Warn when an enabled gunicorn or celery worker has no host to run on."""
    if not role_hosts.get("web"):
        gunicorn = base["gunicorn"]
        enabled = gunicorn and (any(g["enable"] for g in gunicorn) if isinstance(gunicorn, list)
                                else gunicorn["enable"])
        if enabled:
            out.warn(f"instance {instance_name}: the web group {group_names['web']} has no hosts: no gunicorn runs")
    if base["celery"] and base["celery"]["enable"] and not role_hosts.get("celery"):
        out.warn(f"instance {instance_name}: the celery group {group_names['celery']} has no hosts: "
                 "no celery worker runs")
