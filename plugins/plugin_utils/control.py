# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``galaxyops.fleet.control`` does: start or stop part of the fleet (controller only, no Ansible import).

Read top to bottom: 1. the processes of the plan and the limits, as the rolling restart selects them
(:mod:`restart_order`); 2. which units to ask systemd about on each host (every planned unit: a refusal needs
to know what keeps running outside the selection); 3. with their states, the decision: what to drain from
nginx, stop, start, wait for and put back, and the refusals (an upstream's last running gunicorn, a pool's
last running handler, unless ``allow_downtime``). ``restart`` is the rolling restart itself (role
galaxy_restart with the same limits): only the limits are checked here. Action ``galaxy_control_order``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_order as ro
from ansible_collections.galaxyops.fleet.plugins.plugin_utils.restart_model import as_lists

ACTIONS = ("start", "stop", "restart")
#: What ``systemctl is-active`` prints for a unit that runs (or is on its way up).
RUNNING = ("active", "activating", "reloading")


@dataclass(frozen=True)
class HandlerJobs:
    """The handlers being stopped on one host, for galaxy_handler_jobs (state held)."""

    host: str
    instance: str
    galaxy_config_file: str | None
    python: str
    handlers: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Item:
    """One selected process and what happens to it."""

    id: str
    host: str
    unit: str
    service_type: str
    state: str | None
    does: str


@dataclass(frozen=True)
class Control:
    """Everything the playbook applies, in order (drain, stop, start, wait, undrain)."""

    action: str | None
    selected: tuple[str, ...]
    units_by_host: dict[str, tuple[str, ...]]
    probe: tuple[dict[str, Any], ...]
    problems: dict[str, str | None]
    items: tuple[Item, ...] = ()
    drain: tuple[str, ...] = ()
    stop: tuple[dict[str, str], ...] = ()
    start: tuple[dict[str, str], ...] = ()
    health: dict[str, Any] = field(default_factory=dict)
    undrain: tuple[str, ...] = ()
    ready: tuple[dict[str, Any], ...] = ()
    handler_jobs: tuple[HandlerJobs, ...] = ()
    held_lines: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """What the play shows before it acts."""
        out = [f"{i.id}: {i.does}" for i in self.items]
        return out or ["nothing selected"]

    def to_dict(self) -> dict[str, Any]:
        out = as_lists(asdict(self))
        out["lines"] = self.lines()
        out["changes"] = bool(self.stop or self.start)
        return out


# ------------------------------------------------------------------ 1. the selection
def selection(plan: Mapping[str, Any], limits: ro.Limits) -> tuple[list[ro.Member], list[ro.Process], str | None]:
    """The selected gunicorns and other processes, and the limits problem (unknown names), as the rolling restart."""
    all_members = ro.members(plan, ro.Settings().ready_timeout)
    others = ro.processes(plan)
    problem = limits_problem(plan, list(all_members) + list(others), limits)
    return ro.select_members(all_members, limits), ro.select_processes(others, limits), problem


def limits_problem(plan: Mapping[str, Any], everything: Sequence[ro.Member | ro.Process], limits: ro.Limits) -> str | None:
    """Limits that name nothing of the plan, each with what it may name."""
    handler_keys = [p.service_name for p in everything if isinstance(p, ro.Process)]
    known = {
        "hosts": [h for h in plan.get("hosts", {}) if any(p.host == h for p in everything)],
        "services": list(dict.fromkeys(list(ro.SERVICE_TYPES) + handler_keys)),
        "units": list(dict.fromkeys(name for p in everything for name in ro.unit_names(p))),
    }
    wrong = []
    for key in ("hosts", "services", "units"):
        unknown = [name for name in dict.fromkeys(getattr(limits, key)) if name not in known[key]]
        if unknown:
            hint = ", ".join(known[key][:12]) + (", ..." if len(known[key]) > 12 else "")
            wrong.append(f"control_{key}: {', '.join(unknown)} (the plan has: {hint})")
    if not wrong:
        return None
    return "Limits must name what the plan runs: " + "; ".join(wrong) + "."


def units_by_host(chosen: Sequence[ro.Member | ro.Process]) -> dict[str, tuple[str, ...]]:
    """The selected units per host, in plan order (what the logs playbook reads)."""
    out: dict[str, list[str]] = {}
    for p in chosen:
        out.setdefault(p.host, [])
        if p.unit not in out[p.host]:
            out[p.host].append(p.unit)
    return {host: tuple(units) for host, units in out.items()}


# ------------------------------------------------------------------ 2. what to ask systemd
def probe(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every planned unit, per host: ``systemctl is-active UNITS`` prints one state a line, in this order."""
    everything = ro.members(plan, ro.Settings().ready_timeout) + ro.processes(plan)
    return [{"host": host, "units": list(units)} for host, units in units_by_host(everything).items()]


def states(probes: Sequence[Mapping[str, Any]], active: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """``HOST/UNIT -> state`` from the lines ``systemctl is-active`` printed on each host (missing: unknown)."""
    out = {}
    for entry in probes:
        lines = list(active.get(entry["host"]) or [])
        for i, unit in enumerate(entry["units"]):
            out[f"{entry['host']}/{unit}"] = lines[i].strip() if i < len(lines) else "unknown"
    return out


# ------------------------------------------------------------------ 3. the decision
def _runs(state: Mapping[str, str], pid: str) -> bool:
    return state.get(pid) in RUNNING


def downtime_problem(all_members: Sequence[ro.Member], handlers: Sequence[ro.Process],
                     stopping: set[str], state: Mapping[str, str]) -> str | None:
    """Stopping the last running gunicorn of an upstream, or the last running handler of a pool."""
    last = []
    for upstream in dict.fromkeys(m.upstream for m in all_members):
        ms = [m for m in all_members if m.upstream == upstream]
        if any(m.id in stopping for m in ms) and not any(_runs(state, m.id) and m.id not in stopping for m in ms):
            last.append(f"upstream {upstream} ({', '.join(m.id for m in ms if m.id in stopping)})")
    for pool in dict.fromkeys(pool for h in handlers for pool in h.pools):
        hs = [h for h in handlers if pool in h.pools]
        if any(h.id in stopping for h in hs) and not any(_runs(state, h.id) and h.id not in stopping for h in hs):
            last.append(f"pool {pool} ({', '.join(h.id for h in hs if h.id in stopping)})")
    if not last:
        return None
    return (f"Refusing to stop the last running process of {'; '.join(last)}: Galaxy would stop serving it. "
            "Start another one first, or set -e control_allow_downtime=true.")


def handler_jobs(plan: Mapping[str, Any], stopping: Sequence[ro.Process]) -> list[HandlerJobs]:
    """The job handlers being stopped, per host and Galaxy instance, as galaxy_handler_jobs takes them."""
    out = []
    for key in dict.fromkeys((p.host, p.instance) for p in stopping if p.service_type == "standalone"):
        inst = plan["instances"][key[1]]
        roster = inst.get("handlers") or {}
        entries = tuple({"name": p.server_name, "pools": list(roster.get(p.server_name, {}).get("pools") or []),
                         "tags": list(roster.get(p.server_name, {}).get("tags") or [])}
                        for p in stopping if (p.host, p.instance) == key and p.service_type == "standalone")
        out.append(HandlerJobs(host=key[0], instance=key[1], galaxy_config_file=inst.get("galaxy_config_file"),
                               python=f"{inst.get('virtualenv')}/bin/python", handlers=entries))
    return out


def held_lines(entries: Sequence[HandlerJobs], held: Sequence[Sequence[Mapping[str, Any]]]) -> list[str]:
    """Which jobs each handler being stopped holds (``held``: galaxy_handler_jobs' ``jobs``, one list an entry)."""
    out = []
    for entry, jobs in zip(entries, held):
        for h in entry.handlers:
            mine = [j for j in jobs or [] if j.get("handler") == h["name"]]
            if mine:
                out.append(f"{entry.host}: handler {h['name']} holds {len(mine)} job(s): "
                           + ", ".join(f"{j.get('id')} ({j.get('tool_id') or '?'}, {j.get('state')})" for j in mine)
                           + "; they wait for it to run again (Galaxy does not move a job from its handler)")
    return out


def _stop_does(p: ro.Member | ro.Process, runs: bool) -> str:
    if isinstance(p, ro.Member):
        return "drain from nginx, then stop" if runs else "already stopped (kept out of nginx)"
    return "stop" if runs else "already stopped"


def _item(p: ro.Member | ro.Process, state: Mapping[str, str], does: str) -> Item:
    return Item(id=p.id, host=p.host, unit=p.unit, service_type=p.service_type, state=state.get(p.id), does=does)


def _ref(p: ro.Member | ro.Process) -> dict[str, str]:
    return {"id": p.id, "host": p.host, "unit": p.unit}


def control(plan: Mapping[str, Any], action: str | None, limits: ro.Limits, allow_downtime: bool = False,
            active: Mapping[str, Sequence[str]] | None = None,
            held: Sequence[Sequence[Mapping[str, Any]]] | None = None) -> Control:
    """The whole decision. ``active``: per host, the ``systemctl is-active`` lines of :func:`probe` (None: before);
    ``held``: the jobs galaxy_handler_jobs found for each entry of ``handler_jobs`` (None: not read yet)."""
    selected, chosen, limits_problem = selection(plan, limits)
    everything: list[ro.Member | ro.Process] = list(selected) + list(chosen)
    probes = probe(plan)
    # a stopped handler's jobs wait as well: every selected handler is read, running or not
    jobs = tuple(handler_jobs(plan, chosen)) if action == "stop" else ()
    base = {"action": action, "selected": tuple(p.id for p in everything), "units_by_host": units_by_host(everything),
            "probe": tuple(probes), "handler_jobs": jobs, "held_lines": tuple(held_lines(jobs, held or []))}
    problems: dict[str, str | None] = {"limits": limits_problem, "downtime": None,
                                       "action": None if action in ACTIONS + (None,) else
                                       f"control_action must be one of {', '.join(ACTIONS)}, not {action!r}."}
    if active is None or action in (None, "restart") or limits_problem or problems["action"]:
        return Control(problems=problems, **base)
    state = states(probes, active)
    all_members = ro.members(plan, ro.Settings().ready_timeout)
    handlers = [p for p in ro.processes(plan) if p.service_type == "standalone"]
    if action == "stop":
        stopping = [p for p in everything if _runs(state, p.id)]
        if not allow_downtime:
            problems["downtime"] = downtime_problem(all_members, handlers, {p.id for p in stopping}, state)
        items = tuple(_item(p, state, _stop_does(p, _runs(state, p.id))) for p in everything)
        return Control(problems=problems, items=items, drain=tuple(m.id for m in selected),
                       stop=tuple(_ref(p) for p in stopping), **base)
    # start: what does not run starts; every selected gunicorn must answer, then is (back) in nginx
    starting = [p for p in everything if not _runs(state, p.id)]
    items = tuple(_item(p, state, ("start" if p in starting else "already running")
                        + ("; must answer, then (back) in nginx" if isinstance(p, ro.Member) else ""))
                  for p in everything)
    started_handlers = [p for p in starting if isinstance(p, ro.Process) and p.service_type == "standalone"]
    return Control(problems=problems, items=items, start=tuple(_ref(p) for p in starting),
                   health=ro.health_request(selected), undrain=tuple(m.id for m in selected),
                   ready=tuple(ro.journal_checks(started_handlers, ro.Settings())), **base)
