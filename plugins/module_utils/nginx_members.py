# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upstream members of nginx on a proxy host: which are drained, and the configuration that says so.

Pure logic (no Ansible, no file or process access): the module ``galaxy_nginx_members`` reads the
record of drained members and the deployed configuration, asks these functions what they become,
and applies the answer.

- A member is one gunicorn of the plan (``instances.NAME.upstream.members[]``), named
  ``HOST/UNIT`` (``web1/galaxy-gunicorn@0.service``).
- The record (``galaxy_nginx_state_file``) lists the drained members; only the module writes it.
- The role's template writes each member's ``server`` line ending in ``# HOST/UNIT``; a drained
  member has `` down`` before the ``;``. Toggling that flag gives exactly what the template renders
  for the same set of drained members.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

PLAN_VERSION = 1
UPSTREAM_NAME = re.compile(r"^[A-Za-z0-9_]+$")
SERVER_LINE = re.compile(r"^(?P<head>\s*server\s+\S.*?)(?P<down> down)?;(?P<tail>\s+#\s+(?P<id>\S+)\s*)$")
RECORD_HEAD = (
    "# Managed by galaxyops.fleet (module galaxy_nginx_members): Galaxy upstream members (\"HOST/UNIT\")\n"
    "# marked down in nginx on this host. They stay out of their upstream on every run until the\n"
    "# galaxy_nginx `members` entry point puts them back (galaxy_nginx_undrain).\n"
)
TCP_ESTABLISHED = "01"


class MembersError(Exception):
    """The request cannot be applied; nothing was changed."""


@dataclass(frozen=True)
class Member:
    """One gunicorn of the plan as an upstream member of nginx."""

    id: str
    host: str
    unit: str
    address: str
    instance: str
    upstream: str

    def as_dict(self, down: Iterable[str] = ()) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "unit": self.unit, "address": self.address,
                "instance": self.instance, "upstream": self.upstream, "down": self.id in set(down)}


def plan_members(plan: Any, proxy_host: str | None = None) -> list[Member]:
    """Every upstream member of the plan, instances sorted by name, members in the plan's order.

    Refuses a plan that is not of version 1, an upstream name nginx would not take as is, two
    members with the same id, and (with ``proxy_host``) a unix socket on another host than the proxy.
    """
    if not isinstance(plan, Mapping) or plan.get("version") != PLAN_VERSION or not isinstance(plan.get("instances"), Mapping):
        raise MembersError("the plan must be a plan of version 1 from galaxyops.fleet.topology (docs/plan.md)")
    members: list[Member] = []
    for name in sorted(plan["instances"]):
        upstream = plan["instances"][name].get("upstream") or {}
        if not upstream.get("members"):
            continue
        up = str(upstream.get("name") or "")
        if not UPSTREAM_NAME.match(up):
            raise MembersError(f"instance {name}: upstream name {up!r} must be letters, digits and _ only")
        for m in upstream["members"]:
            members.append(Member(id=f"{m['host']}/{m['unit']}", host=str(m["host"]), unit=str(m["unit"]),
                                  address=str(m["address"]), instance=str(name), upstream=up))
    ids = [m.id for m in members]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise MembersError(f"members must be unique: {', '.join(twice)} appear more than once")
    elsewhere = sorted({m.host for m in members if m.address.startswith("unix:") and m.host != proxy_host})
    if proxy_host is not None and elsewhere:
        raise MembersError(f"nginx on {proxy_host} can reach a gunicorn on a unix socket only on its own host "
                           f"({', '.join(elsewhere)} are elsewhere)")
    return members


def parse_record(text: str | None) -> list[str]:
    """Members of a record: ``down: []``, or ``down:`` and one ``- ID`` per line (plain, "json" or 'single')."""
    out = []
    for line in (text or "").splitlines():
        item = line.strip()
        if not item.startswith("- "):
            continue
        value = item[2:].strip()
        if value.startswith('"'):
            value = json.loads(value)
        elif value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        out.append(value)
    return out


def render_record(down: Iterable[str]) -> str:
    """The record's text (YAML) for a set of drained members."""
    down = list(down)
    if not down:
        return RECORD_HEAD + "down: []\n"
    return RECORD_HEAD + "down:\n" + "".join(f"  - {json.dumps(m)}\n" for m in down)


def toggle(conf: str, down: Iterable[str], known: Iterable[str]) -> tuple[str, set[str]]:
    """``conf`` with `` down`` set exactly on the known members in ``down``; also the known ids it lists."""
    down, known = set(down), set(known)
    lines = conf.splitlines(keepends=True)
    seen = set()
    for i, line in enumerate(lines):
        body = line.rstrip("\n")
        match = SERVER_LINE.match(body)
        if not match or match["id"] not in known:
            continue
        seen.add(match["id"])
        flag = " down" if match["id"] in down else ""
        lines[i] = f"{match['head']}{flag};{match['tail']}" + line[len(body):]
    return "".join(lines), seen


@dataclass
class Change:
    """What one request does to the record and (when it updates it) the configuration."""

    down_before: list[str]
    down: list[str]
    newly_drained: list[str]
    record_before: str | None
    record_after: str
    record_changed: bool
    conf_before: str | None = None
    conf_after: str | None = None
    conf_changed: bool = False
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.record_changed or self.conf_changed

    def diff(self, state_file: str, conf_file: str) -> list[dict[str, str]]:
        """Ansible's diff: the record, then the configuration when this request updates it."""
        out = [{"before_header": state_file, "after_header": state_file,
                "before": self.record_before or "", "after": self.record_after if self.record_changed else self.record_before or ""}]
        if self.conf_after is not None:
            out.append({"before_header": conf_file, "after_header": conf_file,
                        "before": self.conf_before or "", "after": self.conf_after})
        return out


def plan_change(members: list[Member], record_text: str | None, drain: Iterable[str] = (), undrain: Iterable[str] = (),
                conf_text: str | None = None, update_conf: bool = True, conf_file: str = "the configuration") -> Change:
    """The drained set after the request (recorded - undrain + drain, members of the plan only) and its files.

    With ``update_conf`` the deployed configuration (``conf_text``) must list every member drained or
    undrained; ``down`` is set on exactly the drained members' server lines. The record is written
    when it lists someone or already exists, and differs.
    """
    known = [m.id for m in members]
    drain, undrain = set(drain), set(undrain)
    unknown = sorted((drain | undrain) - set(known))
    if unknown:
        raise MembersError(f"members must be HOST/UNIT of the plan; unknown: {', '.join(unknown)}")
    if drain & undrain:
        raise MembersError(f"a member cannot be both drained and undrained: {', '.join(sorted(drain & undrain))}")
    before = [i for i in sorted(set(parse_record(record_text))) if i in known]
    down = sorted((set(before) - undrain) | drain)
    record = render_record(down)
    change = Change(down_before=before, down=down, newly_drained=sorted(drain - set(before)),
                    record_before=record_text, record_after=record,
                    record_changed=(bool(down) or record_text is not None) and record != record_text,
                    members=[m.as_dict(down) for m in members])
    if update_conf:
        if conf_text is None:
            raise MembersError(f"{conf_file} does not exist (run the galaxy_nginx role first)")
        candidate, listed = toggle(conf_text, down, known)
        missing = sorted((drain | undrain) - listed)
        if missing:
            raise MembersError(f"{conf_file} has no upstream server for {', '.join(missing)}: "
                               "deploy this plan with the galaxy_nginx role first")
        change.conf_before, change.conf_after, change.conf_changed = conf_text, candidate, candidate != conf_text
    return change


def instances(members: list[Member], down: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per instance name, its upstream name and members (each with ``down``), as the template renders them."""
    out: dict[str, dict[str, Any]] = {}
    for m in members:
        out.setdefault(m.instance, {"upstream": m.upstream, "members": []})["members"].append(m.as_dict(down))
    return out


def stat_ppid(stat: str) -> int | None:
    """The parent PID in a ``/proc/PID/stat`` line ("PID (comm) STATE PPID ...": comm may hold spaces and parentheses)."""
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def tcp_peers(table: str, family: int) -> set[tuple[str, int]]:
    """Remote (address, port) of the established connections in ``/proc/net/tcp`` (or tcp6) text."""
    peers = set()
    for row in table.splitlines()[1:]:
        fields = row.split()
        if len(fields) < 4 or fields[3] != TCP_ESTABLISHED:
            continue
        addr_hex, port_hex = fields[2].split(":")
        raw = bytes.fromhex(addr_hex)
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
        addr = socket.inet_ntop(family, raw)
        peers.add((addr[7:] if addr.startswith("::ffff:") else addr, int(port_hex, 16)))
    return peers


def tcp_target(address: str) -> tuple[str, int] | None:
    """(host, port) of a member's TCP address (``[::1]:8080`` too); None for a unix socket or a bad address."""
    if address.startswith("unix:"):
        return None
    host, _sep, port = address.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)
