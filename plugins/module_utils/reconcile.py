# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host reconciliation of the galaxy_systemd role: what one host's systemd units need this run.

From the host's slice of the cluster plan (``hosts[HOST].units`` and the plan's ``instances``) and
the record of what the collection installed there before, decide which units are new, which
running processes restart, which stale units drain (job handlers the plan no longer has), retire
(web processes that serve until the proxies drop them) or go at once, and which files go with
them. The record keeps, for each process unit it lists, what the process was started as (service
type, server name, pools, binds, argv), so no ``ExecStart=`` line is ever read back, except once
for the units of a record written by an earlier version of the collection (``legacy_units``).

Pure: no Ansible import, no file or process access (the module ``galaxy_units`` does that).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ansible_collections.galaxyops.fleet.plugins.module_utils.unit_record import (
    InstanceRecord, Process, Record, command_pools)

DROPIN = "50-galaxyops-fleet.conf"  # the drop-in of each template instance
DRAIN_DROPIN = "60-galaxyops-fleet-drain.conf"  # the runtime drop-in of a draining handler
RUNTIME_DIR = "/run/systemd/system"
UNLOADED = ("not-found", "bad-setting", "error")  # systemd cannot stop such a unit
RUNNING = ("active", "activating", "reloading")

_PORT = re.compile(r"^(?!unix:).*(:[0-9]+)$")
_TEMPLATE_INSTANCE = re.compile(r"@[^.]*[.]service$")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def address_key(bind: str) -> str:
    """What two binds share when they clash: the port of a TCP bind (any interface), else the socket path."""
    found = _PORT.match(bind)
    return found.group(1) if found else bind


@dataclass(frozen=True)
class Paths:
    """Where the role writes a unit's files."""

    unit_dir: str
    environment_dir: str

    def process_files(self, unit: str) -> list[str]:
        """The files of one process unit: environment file, then its drop-in and template, or its unit file."""
        files = [posixpath.join(self.environment_dir, unit + ".env")]
        if "@" in unit:
            files += [posixpath.join(self.unit_dir, unit + ".d", DROPIN),
                      posixpath.join(self.unit_dir, _TEMPLATE_INSTANCE.sub("@.service", unit))]
        else:
            files.append(posixpath.join(self.unit_dir, unit))
        return files


SCHEDULERS_POOL = "workflow-schedulers"


def drain_argv(argv: Iterable[str], pool: str) -> list[str]:
    """The command of a draining handler: without its pools, in ``pool`` (a job pool no job is addressed to).

    A workflow scheduler (a member of ``workflow-schedulers`` or ``workflow-schedulers.X``) also goes
    into the scheduler pool of the same tag (``workflow-schedulers.galaxyops-draining``): Galaxy only
    runs the request monitor of a process in a scheduler pool, and that monitor schedules the
    invocations whose ``handler`` is the process's own name; no invocation is addressed to the tag.
    """
    out: list[str] = []
    pools: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            pools.append(arg)
        elif arg == "--attach-to-pool":
            skip = True
        elif arg.startswith("--attach-to-pool="):
            pools.append(arg.split("=", 1)[1])
        else:
            out.append(arg)
    out.append(f"--attach-to-pool={pool}")
    if any(p == SCHEDULERS_POOL or p.startswith(SCHEDULERS_POOL + ".") for p in pools):
        tag = pool.split(".", 1)[1] if "." in pool else pool
        out.append(f"--attach-to-pool={SCHEDULERS_POOL}.{tag}")
    return out


@dataclass(frozen=True)
class Planned:
    """One process the plan gives the host."""

    instance: str
    unit_file: str
    template: bool
    process: Process
    tags: tuple[str, ...] = ()
    handler: bool = False  # its server name is a handler of the instance's roster


@dataclass
class HostPlan:
    """The host's slice of the plan, as the role installs it."""

    processes: list[Planned]
    targets: list[str]
    unit_files: list[str]
    instances: list[str]  # every Galaxy instance of the plan (only their units are managed)
    handler_names: set[str]  # every handler server name of the plan, on any host
    paths: Paths
    target_of: dict[str, str]  # unit file -> its target

    @property
    def units(self) -> list[str]:
        """The units to enable and start: every process, then the targets."""
        return [p.process.unit for p in self.processes] + self.targets

    def files(self, instance: str | None = None) -> list[str]:
        procs = [p for p in self.processes if instance is None or p.instance == instance]
        files = _unique([p.unit_file for p in procs] + self.targets_of(instance))
        out = [posixpath.join(self.paths.unit_dir, f) for f in files]
        out += [posixpath.join(self.paths.unit_dir, p.process.unit + ".d", DROPIN) for p in procs if p.template]
        return out + [posixpath.join(self.paths.environment_dir, p.process.unit + ".env") for p in procs]

    def targets_of(self, instance: str | None) -> list[str]:
        return _unique(self.target_of[p.unit_file] for p in self.processes if instance in (None, p.instance))

    @property
    def address_keys(self) -> set[str]:
        return {address_key(b) for p in self.processes for b in p.process.binds}


def host_plan(units: Mapping[str, Any], instances: Mapping[str, Any], paths: Paths) -> HostPlan:
    """The HostPlan of ``plan.hosts[HOST].units`` and ``plan.instances``."""
    processes: list[Planned] = []
    target_of: dict[str, str] = {}
    for unit_file, unit in units.items():
        target_of[unit_file] = unit["target"]
        roster = (instances.get(unit["instance_name"]) or {}).get("handlers") or {}
        for proc in unit.get("instances") or []:
            name = proc.get("server_name")
            entry = roster.get(name) if name else None
            bind = proc.get("bind")
            processes.append(Planned(
                instance=unit["instance_name"], unit_file=unit_file, template=bool(unit.get("template")),
                process=Process(unit=proc["unit"], service_type=unit.get("service_type"), server_name=name,
                                pools=command_pools(list(proc.get("argv") or [])),
                                binds=(bind,) if isinstance(bind, str) else (), argv=tuple(proc.get("argv") or ())),
                tags=tuple((entry or {}).get("tags") or ()), handler=entry is not None))
    names = {n for inst in instances.values() for n in ((inst or {}).get("handlers") or {})}
    plan = HostPlan(processes=processes, targets=[], unit_files=list(units), instances=list(instances),
                    handler_names=names, paths=paths, target_of=target_of)
    plan.targets = plan.targets_of(None)
    return plan


def _managed(plan: HostPlan, record: Record) -> list[tuple[str, InstanceRecord]]:
    return [(n, record.instances[n]) for n in plan.instances if n in record.instances]


def stale_units(plan: HostPlan, record: Record) -> list[str]:
    """Units recorded for the plan's instances that the plan no longer gives the host."""
    want = set(plan.units)
    return _unique(u for _name, inst in _managed(plan, record) for u in inst.units if u not in want)


def stale_files(plan: HostPlan, record: Record) -> list[str]:
    want = set(plan.files())
    return _unique(f for _name, inst in _managed(plan, record) for f in inst.files if f not in want)


def legacy_units(plan: HostPlan, record: Record) -> list[str]:
    """Stale process units whose record (an earlier version's) does not say what they were started as."""
    recorded = {u for _name, inst in _managed(plan, record) for u in inst.processes}
    return [u for u in stale_units(plan, record) if u.endswith(".service") and u not in recorded]


def with_legacy(record: Record, processes: Mapping[str, Process]) -> Record:
    """The record with what the unit files of legacy units said (see ``legacy_units``)."""
    out = Record(instances=dict(record.instances))
    for name, inst in record.instances.items():
        found = {u: processes[u] for u in inst.units if u in processes and u not in inst.processes}
        if found:
            out.instances[name] = InstanceRecord(units=inst.units, files=inst.files, handlers=inst.handlers,
                                                 processes={**inst.processes, **found})
    return out


@dataclass(frozen=True)
class UnitStatus:
    """systemd's view of a unit before this run."""

    load_state: str = "not-found"
    active_state: str = "inactive"


@dataclass
class Removal:
    """Units that go together: stop and disable ``stop``, remove ``files``, then the emptied ``dirs``."""

    units: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # what the role reports or drains, per unit

    def as_dict(self) -> dict[str, Any]:
        return {"units": self.units, "stop": self.stop, "files": self.files, "dirs": self.dirs,
                "entries": self.entries}


def _dropin_dirs(files: Iterable[str]) -> list[str]:
    return _unique(posixpath.dirname(f) for f in files if f.endswith(".d/" + DROPIN))


@dataclass
class Reconciliation:
    """What the host's units need in this run."""

    start: list[str]  # every planned unit, processes then targets
    create: list[str]  # planned units the record does not have yet
    not_loaded: list[str]  # planned units systemd does not know yet
    running: list[str]  # planned units running before this run
    restart: list[str]  # running processes whose unit, drop-in, environment or configuration changed
    remove: Removal  # stale units stopped and removed now
    retiring: Removal  # stale web processes that serve until the proxies drop them
    draining: Removal  # stale job handlers drained before they are removed
    drain_instances: list[dict[str, Any]]  # per Galaxy instance, its draining handlers {name, pools, tags}

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start, "create": self.create, "not_loaded": self.not_loaded, "running": self.running,
                "restart": self.restart, "remove": self.remove.as_dict(), "retiring": self.retiring.as_dict(),
                "draining": self.draining.as_dict(), "drain_instances": self.drain_instances}


@dataclass(frozen=True)
class Changes:
    """What the role's writes of this run changed (the restart reasons)."""

    unit_files: tuple[str, ...] = ()  # unit files: every process of the file
    processes: tuple[str, ...] = ()  # units whose drop-in or environment file changed
    instances: tuple[str, ...] = ()  # Galaxy instances whose configuration files changed


def restarts(plan: HostPlan, changes: Changes, running: Iterable[str]) -> list[str]:
    """The running processes that must restart to take their new settings, in the plan's order."""
    live = set(running)
    changed = ([p.process.unit for p in plan.processes if p.unit_file in changes.unit_files]
               + list(changes.processes)
               + [p.process.unit for p in plan.processes if p.instance in changes.instances])
    return [u for u in _unique(changed) if u in live]


def reconcile(plan: HostPlan, record: Record, status: Mapping[str, UnitStatus], *, drain: bool, retire: bool,
              drain_pool: str, changes: Changes = Changes()) -> Reconciliation:
    """Every decision about the host's units (docs/handler-changes.md, docs/units.md).

    A stale unit drains when it is a job handler whose server name the plan no longer has anywhere
    (with ``drain``); it retires when it is a web process none of whose addresses a planned process
    of the host takes (with ``retire``); any other stale unit is stopped and removed at once.
    """
    stale = stale_units(plan, record)
    old_files = stale_files(plan, record)
    instance_of = {u: n for n, inst in reversed(_managed(plan, record)) for u in inst.units}
    keys = plan.address_keys

    def files_of(unit: str) -> list[str]:
        return [f for f in plan.paths.process_files(unit) if f in old_files]

    def stoppable(units: list[str]) -> list[str]:
        return [u for u in units if status.get(u, UnitStatus("loaded")).load_state not in UNLOADED]

    draining, retiring = Removal(), Removal()
    for unit in stale:
        inst = record.instances[instance_of[unit]]
        proc = inst.processes.get(unit)
        if proc is None:
            continue
        if drain and proc.is_handler and proc.server_name not in plan.handler_names:
            tags = list((inst.handlers.get(unit) or {}).get("tags") or [])
            draining.units.append(unit)
            draining.files += files_of(unit)
            draining.entries.append({"unit": unit, "instance": instance_of[unit], "name": proc.server_name,
                                     "pools": list(proc.pools), "tags": tags,
                                     "argv": drain_argv(proc.argv, drain_pool),
                                     "dropin": posixpath.join(RUNTIME_DIR, unit + ".d", DRAIN_DROPIN)})
        elif retire and proc.is_web and not {address_key(b) for b in proc.binds} & keys:
            retiring.units.append(unit)
            retiring.files += files_of(unit)
            retiring.entries.append({"unit": unit, "instance": instance_of[unit], "binds": list(proc.binds)})

    retiring.stop = stoppable(retiring.units)
    retiring.dirs = _dropin_dirs(retiring.files)
    runtime = [posixpath.join(RUNTIME_DIR, u + ".d") for u in draining.units]
    draining.stop = list(draining.units)
    draining.dirs = _dropin_dirs(draining.files) + runtime
    draining.files += [posixpath.join(d, DRAIN_DROPIN) for d in runtime]

    pending = set(draining.units + retiring.units)
    now = [u for u in stale if u not in pending]
    keep_files = set(draining.files + retiring.files)
    gone = [f for f in old_files if f not in keep_files]
    remove = Removal(units=now, stop=stoppable(now), files=gone, dirs=_dropin_dirs(gone))

    by_instance: dict[str, list[dict[str, Any]]] = {}
    for entry in draining.entries:
        by_instance.setdefault(entry["instance"], []).append(
            {"name": entry["name"], "pools": entry["pools"], "tags": entry["tags"]})

    recorded = {u for _name, inst in _managed(plan, record) for u in inst.units}
    running = [u for u in plan.units if status.get(u, UnitStatus()).active_state in RUNNING]
    return Reconciliation(
        start=plan.units, create=[u for u in plan.units if u not in recorded],
        not_loaded=[u for u in plan.units if status.get(u, UnitStatus()).load_state != "loaded"],
        running=running, restart=restarts(plan, changes, running),
        remove=remove, retiring=retiring, draining=draining,
        drain_instances=[{"instance": n, "handlers": h} for n, h in by_instance.items()])


def new_record(plan: HostPlan, record: Record, forget: Iterable[str] = ()) -> Record:
    """The record once the planned units are installed and the ``forget`` units removed.

    Stale units not forgotten (still draining or serving) stay recorded with their files and what
    they were started as; instances the plan does not have are left as they are.
    """
    gone = set(forget)
    stale = [u for u in stale_units(plan, record) if u not in gone]
    old_files = set(stale_files(plan, record))
    out = Record(instances={n: i for n, i in record.instances.items() if n not in plan.instances})
    for name in plan.instances:
        old = record.instances.get(name, InstanceRecord())
        keep = [u for u in old.units if u in stale]
        procs = [p for p in plan.processes if p.instance == name]
        if not procs and not keep:
            continue
        files = plan.files(name)
        kept_files = [f for u in keep for f in plan.paths.process_files(u) if f in old_files and f not in files]
        handlers = {p.process.unit: {"server_name": p.process.server_name, "tags": list(p.tags)}
                    for p in procs if p.handler}
        handlers.update({u: old.handlers[u] for u in keep if u in old.handlers})
        processes = {p.process.unit: p.process for p in procs}
        processes.update({u: old.processes[u] for u in keep if u in old.processes})
        out.instances[name] = InstanceRecord(
            units=[p.process.unit for p in procs] + plan.targets_of(name) + keep,
            files=files + _unique(kept_files), handlers=handlers, processes=processes)
    return out
