# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of a rolling restart, from the cluster plan and the limits (controller only, no Ansible import).

Read top to bottom: 1. every process of the plan as a record (``restart_model``: :class:`Member` per
upstream member, :class:`Process` for handlers, celery, tusd, ...); 2. the limits select some (unknown
limits are a problem); 3. the safety rule (an upstream's only gunicorn, or a step with every member of
an upstream, needs ``allow_downtime``); 4. gunicorns that did not answer the preflight check are
started first (``start_stopped``) or stop everything; 5. the order: web steps (web hosts in batches,
step k takes the k-th gunicorn of each host), handler waves (at most ``handler_batch`` processes of any
pool per wave), the other services one at a time, and the local-runner warning. Action
``galaxy_restart_order`` exposes it.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_lanes as rl
# the records, and the plan read as them, live in restart_model; they are used as restart_order.X too
from ansible_collections.galaxyops.fleet.plugins.plugin_utils.restart_model import (  # noqa: F401
    Limits, Member, Order, Problems, Process, ServiceStep, Settings, Step, Wave, health_request, members,
    processes,
)

#: What ``services`` may name besides the plan's Gravity service names (handler keys).
SERVICE_TYPES = ("gunicorn", "celery", "celery-beat", "tusd", "gx-it-proxy", "reports", "handlers")
#: Binds on every address: their port is checked on the loopback address.
ANY_ADDRESS = ("0.0.0.0", "", "*", "[::]", "::")


# ------------------------------------------------------------------ 2. the limits
def unit_names(process: Member | Process) -> tuple[str, ...]:
    """The names a unit limit may give a process: its unit or unit file, alone or after its host."""
    return (process.unit, process.id, process.file, f"{process.host}/{process.file}")


def _passes_units(process: Member | Process, limits: Limits) -> bool:
    return not limits.units or any(name in limits.units for name in unit_names(process))


def select_members(all_members: Iterable[Member], limits: Limits) -> list[Member]:
    if limits.units_exact and not limits.units:
        return []
    return [m for m in all_members
            if (not limits.hosts or m.host in limits.hosts)
            and (not limits.services or "gunicorn" in limits.services) and _passes_units(m, limits)]


def select_processes(all_processes: Iterable[Process], limits: Limits) -> list[Process]:
    if limits.units_exact and not limits.units:
        return []
    services = limits.services
    return [p for p in all_processes
            if (not limits.hosts or p.host in limits.hosts) and _passes_units(p, limits)
            and (not services or p.service_type in services or p.service_name in services
                 or (p.service_type == "standalone" and "handlers" in services))]


def _missing(wanted: Sequence[str], known: Iterable[str]) -> list[str]:
    known = set(known)
    return list(dict.fromkeys(w for w in wanted if w not in known))


def limits_problem(plan: Mapping[str, Any], everything: Sequence[Member | Process], others: Sequence[Process],
                   limits: Limits, settings: Settings) -> str | None:
    """Batches below 1, negative timeouts or limits that name nothing of the plan."""
    known_services = list(SERVICE_TYPES) + [p.service_name for p in others]
    hosts = _missing(limits.hosts, plan.get("hosts", {}))
    units = _missing(limits.units, (name for p in everything for name in unit_names(p)))
    services = _missing(limits.services, known_services)
    if settings.lanes not in ("parallel", "serial") or \
            (settings.max_unavailable != "" and rl.parse_capacity(settings.max_unavailable) is None):
        return ("galaxy_restart_max_unavailable must be empty, a count of at least 1 or a percentage from 1% to 100% "
                f"(got {settings.max_unavailable!r}) and galaxy_restart_lanes parallel or serial (got {settings.lanes!r}).")
    valid = settings.web_batch >= 1 and settings.handler_batch >= 1 and settings.drain_timeout >= 0
    if valid and settings.poll_interval > 0 and not (hosts or units or services):
        return None
    return ("Batches must be at least 1 and timeouts not negative. Limits must name what the plan has: "
            f"unknown hosts {hosts}, units {units}, services {services} (services: {', '.join(known_services)}).")


# ------------------------------------------------------------------ 3. the safety rule
def downtime_problem(selected: Sequence[Member], steps: Sequence[Step], settings: Settings) -> str | None:
    """Refuse an upstream's only gunicorn, or a step with every member of an upstream, unless allowed."""
    if settings.allow_downtime:
        return None
    lonely = [m.id for m in selected if m.upstream_size == 1]
    crowded = []
    for step in steps:
        for upstream in sorted({m.upstream for m in step.members}):
            ms = [m for m in step.members if m.upstream == upstream]
            if len(ms) >= ms[0].upstream_size:
                crowded += [m.id for m in ms]
    if not lonely and not crowded:
        return None
    why = "the upstream has no other gunicorn" if lonely else "a step would take every gunicorn of an upstream out"
    return (f"Restarting {', '.join(dict.fromkeys(lonely + crowded))} cannot keep Galaxy serving: {why} "
            "(lower galaxy_restart_web_batch, add gunicorns, or set galaxy_restart_allow_downtime "
            "/ -e restart_allow_downtime=true).")


# ------------------------------------------------------------------ 4. the gunicorns that do not answer
def unhealthy(health: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> tuple[list[str], list[str]]:
    """From each proxy's preflight checks ({proxy: {id: {ok, seen}}}): ids not answering, and what was seen."""
    ids, seen = [], []
    for proxy, checks in health.items():
        for member_id, check in sorted(checks.items()):
            if not check.get("ok"):
                ids.append(member_id)
                seen.append(f"{member_id} (from {proxy}): {check.get('seen')}")
    return list(dict.fromkeys(ids)), seen


def unhealthy_problem(ids: Sequence[str], seen: Sequence[str], selected: Sequence[Member],
                      settings: Settings) -> str | None:
    """Nothing restarts while a gunicorn does not answer, unless it is selected and start_stopped is set."""
    chosen = {m.id for m in selected}
    if not ids or (settings.start_stopped and all(i in chosen for i in ids)):
        return None
    return (f"Not restarting anything: {len(ids)} gunicorn(s) do not answer GET /api/version with Galaxy's "
            f"version: {'; '.join(seen)}. Fix them first, or set galaxy_restart_start_stopped "
            "(-e restart_start_stopped=true) to start the stopped ones (upgrade case).")


# ------------------------------------------------------------------ 5. the order
def web_steps(rolling: Sequence[Member], web_batch: int) -> list[Step]:
    """Web hosts in batches of ``web_batch``; step k of a batch takes the k-th gunicorn of each of its hosts."""
    hosts = list(dict.fromkeys(m.host for m in rolling))
    groups: list[list[Member]] = []
    for start in range(0, len(hosts), max(web_batch, 1)):
        per = [[m for m in rolling if m.host == h] for h in hosts[start:start + max(web_batch, 1)]]
        for k in range(max(len(ms) for ms in per)):
            groups.append([ms[k] for ms in per if len(ms) > k])
    return [Step(members=tuple(g), drain_first=i == 0,
                 next_ids=tuple(m.id for m in groups[i + 1]) if i + 1 < len(groups) else ())
            for i, g in enumerate(groups)]


def handler_waves(handlers: Sequence[Process], handler_batch: int) -> list[list[Process]]:
    """Greedy: each handler joins the first wave where none of its pools has ``handler_batch`` processes yet."""
    waves: list[list[Process]] = []
    for h in handlers:
        for wave in waves:
            if all(sum(pool in w.pools for w in wave) < handler_batch for pool in h.pools):
                wave.append(h)
                break
        else:
            waves.append([h])
    return waves


def steps_for(rolling: Sequence[Member], settings: Settings) -> list[Step]:
    """Capacity-based steps when ``max_unavailable`` is set (and valid), else host batches of ``web_batch``."""
    capacity = rl.parse_capacity(settings.max_unavailable) if settings.max_unavailable != "" else None
    if capacity is None:
        return web_steps(rolling, max(settings.web_batch, 1))
    groups = rl.capacity_groups(rolling, capacity)
    return [Step(members=tuple(g), drain_first=i == 0,
                 next_ids=tuple(m.id for m in groups[i + 1]) if i + 1 < len(groups) else ())
            for i, g in enumerate(groups)]


def journal_checks(processes_: Sequence[Process], settings: Settings) -> list[dict[str, Any]]:
    """Per host, the galaxy_health journal checks that tell these handlers run (also the control playbook's)."""
    checks = []
    for host in dict.fromkeys(p.host for p in processes_):
        checks.append({"host": host, "restart": ["systemctl", "restart", "--"] + [p.unit for p in processes_ if p.host == host],
                       "units": [
            {"id": p.id, "unit": p.unit, "text": settings.handler_ready_message.replace("{name}", str(p.server_name))}
            for p in processes_ if p.host == host]})
    return checks


def _wave(processes_: Sequence[Process], settings: Settings) -> Wave:
    return Wave(processes=tuple(processes_), checks=tuple(journal_checks(processes_, settings)))


def port_check(bind: str | None) -> dict[str, Any] | None:
    """Where to wait for a TCP bind's port (``host:port``); None for unix sockets and no bind."""
    if not isinstance(bind, str) or bind.startswith("unix:") or not re.search(r":[0-9]+$", bind):
        return None
    host, _sep, port = bind.rpartition(":")
    return {"host": "127.0.0.1" if host in ANY_ADDRESS else host.strip("[]"), "port": int(port)}


def _service(process: Process, settings: Settings) -> ServiceStep:
    journal = ({"id": process.id, "unit": process.unit, "text": settings.celery_ready_message},) \
        if process.service_type == "celery" else ()
    return ServiceStep(process=process, state="reloaded" if process.reload == "hup" else "restarted",
                       journal=journal, port=port_check(process.bind))


def local_warning(plan: Mapping[str, Any], waves: Sequence[Wave]) -> str | None:
    """Handlers to restart of a Galaxy instance whose jobs may run in the local runner (they end in error)."""
    local = {name: inst["local_job_environments"] for name, inst in plan.get("instances", {}).items()
             if inst.get("local_job_environments")}
    names = [p.server_name for w in waves for p in w.processes if p.instance in local]
    if not names:
        return None
    envs = [env for environments in local.values() for env in environments]
    return (f"WARNING: {', '.join(map(str, names))} may run jobs in Galaxy's local runner (environments "
            f"{', '.join(envs)}): such jobs end in error when their handler restarts, since the local runner "
            "cannot recover them. A batch system or Pulsar keeps jobs through restarts.")


def restart_order(plan: Mapping[str, Any], limits: Limits, settings: Settings,
                  health: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None) -> Order:
    """The whole order. ``health``: the preflight checks per proxy, once they ran (None: before)."""
    all_members = members(plan, settings.ready_timeout)
    others = processes(plan)
    selected = select_members(all_members, limits)
    chosen = select_processes(others, limits)
    bad_ids, seen = unhealthy(health or {})
    to_start = [m for m in selected if m.id in bad_ids]
    steps = steps_for([m for m in selected if m.id not in bad_ids], settings)
    waves = [_wave(w, settings) for w in
             handler_waves([p for p in chosen if p.service_type == "standalone"], max(settings.handler_batch, 1))]
    problems = Problems(
        limits=limits_problem(plan, all_members + others, others, limits, settings),
        downtime=(_capacity_problem(selected, settings)
                  or downtime_problem(selected, steps_for(selected, settings), settings)),
        unhealthy=unhealthy_problem(bad_ids, seen, selected, settings),
    )
    services = [_service(p, settings) for p in chosen if p.service_type != "standalone"]
    lanes, foreground = rl.handler_lanes(waves, settings.handler_ready_message, settings.ready_timeout)
    return Order(
        selected=tuple(p.id for p in list(selected) + list(chosen)),
        preflight=tuple(m.target() for m in all_members),
        problems=problems, unhealthy=tuple(bad_ids), to_start=tuple(to_start), steps=tuple(steps),
        waves=tuple(waves),
        services=tuple(services),
        local_warning=local_warning(plan, waves),
        lanes=tuple(lanes + rl.service_lanes(services, settings.ready_timeout)), foreground_waves=tuple(_wave(w, settings) for w in foreground),
        ready=readiness(all_members, others, settings),
    )


def _capacity_problem(selected: Sequence[Member], settings: Settings) -> str | None:
    capacity = rl.parse_capacity(settings.max_unavailable) if settings.max_unavailable != "" else None
    return rl.capacity_problem(capacity, selected, settings.allow_downtime) if capacity else None


def readiness(all_members: Sequence[Member], others: Sequence[Process], settings: Settings) -> dict[str, Any]:
    """What "the fleet serves" means: each gunicorn answers (``web``, a health request) and each job
    handler logged that it runs (``handlers``, journal checks per host)."""
    handlers = [p for p in others if p.service_type == "standalone"]
    return {"web": health_request(all_members),
            "handlers": [{k: v for k, v in c.items() if k != "restart"} for c in _wave(handlers, settings).checks],
            "ids": [m.id for m in all_members] + [p.id for p in handlers]}
