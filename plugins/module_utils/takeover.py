# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take-over: units on a host that the collection did not write, and what becomes of them.

Gravity 1.2.4 in systemd mode writes ``galaxy[-INSTANCE]-SERVICE[@].service`` units whose
``ExecStart=`` runs ``galaxyctl exec`` and a ``galaxy[-INSTANCE].target`` that wants them;
sites with hand-written units (usegalaxy.eu's ``galaxy-gunicorn@.service``,
``galaxy-handler@.service``) name them in ``fleet_replace_units`` (glob patterns). ``takeover``
sorts the unit files found on the host:

- ``adopt``: a unit file of that kind whose name the plan gives the host too: the collection
  writes its own file there, and the running process restarts into it with the rolling restart;
- ``replace``: one the plan does not have: its running units stop once the planned units serve,
  then its file is kept aside and its name masked (a ``/dev/null`` link, so a later ``galaxyctl
  update`` writes into nothing and ``systemctl start`` refuses it; the role's entry point
  ``replace`` does it);
- ``conflicts``: a unit file the plan would overwrite that is neither the collection's, nor
  Gravity's, nor named to replace: refused, never touched.

Any other unit is left alone. Pure: the module galaxy_units reads the files and systemd's state.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# what the collection's own unit files begin with (templates start with ansible_managed, then this)
OWN_MARKER = "galaxyops-fleet"
_GRAVITY_NAME = re.compile(r"^galaxy(-[A-Za-z0-9_.-]+)?(@)?\.(service|target)$")


@dataclass(frozen=True)
class UnitFile:
    """A unit file found in the unit directory."""

    name: str        # file name: galaxy-gunicorn.service, galaxy-handler@.service, galaxy.target
    text: str        # its content ("" for a link to /dev/null: masked)
    masked: bool = False


def _values(text: str, key: str) -> list[str]:
    """Every value of ``key=`` in a unit file (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.split("=", 1)[1].strip() for line in joined.splitlines() if line.strip().startswith(key + "=")]


def runs_galaxyctl(text: str) -> bool:
    """Whether a service's ExecStart= runs ``galaxyctl ... exec`` (Gravity's default command style)."""
    for value in _values(text, "ExecStart"):
        try:
            argv = shlex.split(value.lstrip("-@:+!"))
        except ValueError:
            continue
        if argv and argv[0].rsplit("/", 1)[-1] == "galaxyctl" and "exec" in argv[1:]:
            return True
    return False


def runs_handler(text: str) -> bool:
    """Whether a service runs a Galaxy job handler (``galaxy-main``, ``--server-name``, Gravity's ``exec handler``)."""
    for value in _values(text, "ExecStart"):
        if "galaxy-main" in value or "--server-name" in value:
            return True
        if runs_galaxyctl(f"ExecStart={value}") and re.search(r"\bexec\b.*\bhandler", value):
            return True
    return False


def is_own(text: str) -> bool:
    """A unit file the collection wrote (its marker in the first comment lines)."""
    head = [line for line in text.splitlines()[:6] if line.startswith("#")]
    return any(OWN_MARKER in line for line in head)


def gravity_files(files: Iterable[UnitFile]) -> list[str]:
    """Unit files Gravity 1.2.4 wrote: services running galaxyctl exec, and targets wanting only such units."""
    by_name = {f.name: f for f in files if not f.masked}
    services = {n for n, f in by_name.items() if n.endswith(".service") and _GRAVITY_NAME.match(n)
                and runs_galaxyctl(f.text)}
    targets = []
    for name, unit in by_name.items():
        if not name.endswith(".target") or not _GRAVITY_NAME.match(name) or is_own(unit.text):
            continue
        wants = [w for value in _values(unit.text, "Wants") for w in value.split()]
        templates = {re.sub(r"@[^.]*\.service$", "@.service", w) for w in wants}
        if wants and templates <= services:
            targets.append(name)
    return sorted(services) + sorted(targets)


def named(name: str, patterns: Iterable[str]) -> bool:
    """Whether a unit (file, or an instance of a template file) matches one of the admin's patterns."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass
class Takeover:
    """What becomes of the units the collection did not write."""

    adopt: list[str] = field(default_factory=list)      # unit files the plan writes over
    replace: list[str] = field(default_factory=list)    # unit files to stop, disable and mask
    stop: list[str] = field(default_factory=list)       # running units of ``replace`` (template instances too)
    conflicts: list[str] = field(default_factory=list)  # unit files the plan would overwrite, not to be touched
    gravity: list[str] = field(default_factory=list)    # every unit file recognised as Gravity's
    handlers: list[str] = field(default_factory=list)   # of ``replace``, those that run job handlers

    def lines(self) -> list[str]:
        """What the take-over does on the host, a sentence per kind, for the play's output."""
        out = []
        if self.adopt:
            out.append(f"adopts {', '.join(self.adopt)}: the collection writes its own unit file there, and the "
                       "rolling restart moves each running process into it, one at a time")
        if self.replace:
            running = f" (running: {', '.join(self.stop)})" if self.stop else ""
            out.append(f"replaces {', '.join(self.replace)}{running}, which the plan does not have: once every planned "
                       "unit serves, it stops, its file is kept in the collection's state directory and its name masked")
        if self.handlers:
            out.append(f"{', '.join(self.handlers)} run job handlers: the jobs and workflow invocations they had not "
                       "started once stopped are orphans, handed back by galaxyops.fleet.orphans -e orphans_release=true "
                       "(docs/handler-changes.md)")
        if self.conflicts:
            out.append(f"refuses to overwrite {', '.join(self.conflicts)}: neither the collection's nor Gravity's, "
                       "and not named in galaxy_systemd_replace_units")
        return out

    def as_dict(self) -> dict:
        return {"adopt": self.adopt, "replace": self.replace, "stop": self.stop, "conflicts": self.conflicts,
                "gravity": self.gravity, "handlers": self.handlers, "lines": self.lines()}


def _file_of(unit: str) -> str:
    return re.sub(r"@[^.]+\.(service|target)$", r"@.\1", unit)


def takeover(files: Iterable[UnitFile], planned_files: Iterable[str], recorded: Iterable[str],
             active: Mapping[str, str], patterns: Iterable[str] = ()) -> Takeover:
    """Sort the unit files of a host (``files``) against the planned unit files, the units the
    collection recorded (its own, left to the reconciliation) and ``active`` (unit -> systemd's
    active state, template instances included)."""
    files = list(files)
    patterns = list(patterns)
    planned = set(planned_files)
    own = set(recorded) | {f.name for f in files if is_own(f.text)}
    gravity = gravity_files(files)
    out = Takeover(gravity=gravity)
    for unit in files:
        name = unit.name
        if name in own or unit.masked:
            continue
        told = name in gravity or named(name, patterns)
        if name in planned:
            (out.adopt if told else out.conflicts).append(name)
        elif told:
            out.replace.append(name)
            if runs_handler(unit.text):
                out.handlers.append(name)
    replaced = set(out.replace)
    out.stop = sorted(u for u, state in active.items() if state in ("active", "activating", "reloading")
                      and (u in replaced or _file_of(u) in replaced))
    return out
