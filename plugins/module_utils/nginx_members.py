# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upstream members of nginx on a proxy host: which are drained, and the configuration that says so.

Pure logic (no Ansible, no file or process access): the module ``galaxy_nginx_members`` reads the
record of drained members and the deployed configuration, asks these functions what they become,
and applies the answer.

- A member is one gunicorn of the plan (``instances.NAME.upstream.members[]``), named
  ``HOST/UNIT`` (``web1/galaxy-gunicorn@0.service``).
- The record (``galaxy_nginx_state_file``) lists the drained members and the joining ones; only the
  module writes it.
- A joining member is new to its upstream (in the plan, not in the deployed configuration): it is
  written ``down`` until it answers from every proxy and the site playbook's last play admits it.
  When none of its upstream's other members is up (a first deploy, a new instance), it is in at
  once: nothing else could serve.
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
JOINING_HEAD = (
    "# New members, down until they answer from every proxy (the site playbook's last play admits them).\n"
)
RECORD_KEY = re.compile(r"^(?P<key>[a-z_]+):")
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

    def as_dict(self, down: Iterable[str] = (), joining: Iterable[str] = ()) -> dict[str, Any]:
        """The member as the template renders it: ``down`` when drained or joining."""
        join = self.id in set(joining)
        return {"id": self.id, "host": self.host, "unit": self.unit, "address": self.address,
                "instance": self.instance, "upstream": self.upstream, "down": self.id in set(down) or join,
                "joining": join}


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


def parse_sections(text: str | None) -> dict[str, list[str]]:
    """Lists of a record per key: ``KEY: []``, or ``KEY:`` and one ``- ID`` per line (plain, "json" or 'single')."""
    out: dict[str, list[str]] = {}
    key = "down"
    for line in (text or "").splitlines():
        head = RECORD_KEY.match(line)
        if head:
            key = head["key"]
            out.setdefault(key, [])
            continue
        item = line.strip()
        if not item.startswith("- "):
            continue
        value = item[2:].strip()
        if value.startswith('"'):
            value = json.loads(value)
        elif value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        out.setdefault(key, []).append(value)
    return out


def parse_record(text: str | None) -> list[str]:
    """Drained members of a record."""
    return parse_sections(text).get("down", [])


def parse_joining(text: str | None) -> list[str]:
    """Joining members of a record (none in a record written before joining existed)."""
    return parse_sections(text).get("joining", [])


def _yaml_list(key: str, items: list[str]) -> str:
    if not items:
        return f"{key}: []\n"
    return f"{key}:\n" + "".join(f"  - {json.dumps(m)}\n" for m in items)


def render_record(down: Iterable[str], joining: Iterable[str] = ()) -> str:
    """The record's text (YAML) for a set of drained and joining members (no ``joining`` key when none)."""
    text = RECORD_HEAD + _yaml_list("down", list(down))
    joining = list(joining)
    return text + (JOINING_HEAD + _yaml_list("joining", joining) if joining else "")


def listed(conf: str | None) -> set[str]:
    """Ids of the members that have a server line in ``conf``, up or down."""
    return {m["id"] for m in map(SERVER_LINE.match, (conf or "").splitlines()) if m}


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


@dataclass(frozen=True)
class Joining:
    """Which members wait to join their upstream after a request, and why the others do not."""

    before: list[str]
    after: list[str]
    new: list[str]
    admitted: list[str]
    at_once: list[str]


def plan_joining(members: list[Member], before: Iterable[str], down: Iterable[str], listed_ids: Iterable[str] | None,
                 admit: Iterable[str] = (), undrain: Iterable[str] = ()) -> Joining:
    """Joining members after a request.

    Recorded joining members stay joining until admitted (``admit``: they answer from every proxy) or
    undrained. With ``listed_ids`` (the members the deployed configuration lists; empty when there is
    none), every member of the plan it does not list is new and joins too. Then, per upstream, when
    no member would be up (each is drained or joining), its joining members are in at once
    (``at_once``): nothing else could serve, so waiting would only refuse requests.
    """
    known = [m.id for m in members]
    before = [i for i in sorted(set(before)) if i in known]
    let_in = set(admit) | set(undrain)
    new = [] if listed_ids is None else [i for i in known if i not in set(listed_ids) and i not in before]
    joining = (set(before) - let_in) | set(new)
    admitted = sorted((set(before) & set(admit)) - set(undrain))
    held = set(down) | joining
    at_once: set[str] = set()
    for upstream in dict.fromkeys(m.upstream for m in members):
        ids = [m.id for m in members if m.upstream == upstream]
        if all(i in held for i in ids):
            at_once |= joining & set(ids)
    return Joining(before=before, after=sorted(joining - at_once), new=sorted(new), admitted=admitted,
                   at_once=sorted(at_once))


@dataclass
class Change:
    """What one request does to the record and (when it updates it) the configuration."""

    down_before: list[str]
    down: list[str]
    newly_drained: list[str]
    joining: Joining
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
                conf_text: str | None = None, update_conf: bool = True, conf_file: str = "the configuration",
                admit: Iterable[str] = (), hold_new: bool = False) -> Change:
    """The drained and joining sets after the request and their files.

    Drained: recorded - undrain + drain, members of the plan only. Joining: see ``plan_joining``;
    with ``hold_new`` and not ``update_conf`` (the role renders the whole configuration), members
    that ``conf_text`` (the deployed configuration, None when there is none) does not list are new.
    With ``update_conf`` the deployed configuration must list every member drained or undrained;
    ``down`` is set on exactly the drained and joining members' server lines, and only joining
    members it lists are admitted. The record is written when it lists someone or already exists,
    and differs.
    """
    known = [m.id for m in members]
    drain, undrain = set(drain), set(undrain)
    unknown = sorted((drain | undrain) - set(known))
    if unknown:
        raise MembersError(f"members must be HOST/UNIT of the plan; unknown: {', '.join(unknown)}")
    if drain & undrain:
        raise MembersError(f"a member cannot be both drained and undrained: {', '.join(sorted(drain & undrain))}")
    if update_conf and conf_text is None:
        raise MembersError(f"{conf_file} does not exist (run the galaxy_nginx role first)")
    in_conf = listed(conf_text)
    before = [i for i in sorted(set(parse_record(record_text))) if i in known]
    down = sorted((set(before) - undrain) | drain)
    joining = plan_joining(members, parse_joining(record_text), down,
                           in_conf if hold_new and not update_conf else None,
                           admit=set(admit) & in_conf if update_conf else admit, undrain=undrain)
    record = render_record(down, joining.after)
    change = Change(down_before=before, down=down, newly_drained=sorted(drain - set(before)), joining=joining,
                    record_before=record_text, record_after=record,
                    record_changed=(bool(down) or bool(joining.after) or record_text is not None) and record != record_text,
                    members=[m.as_dict(down, joining.after) for m in members])
    if update_conf:
        candidate, seen = toggle(conf_text, set(down) | set(joining.after), known)
        missing = sorted((drain | undrain) - seen)
        if missing:
            raise MembersError(f"{conf_file} has no upstream server for {', '.join(missing)}: "
                               "deploy this plan with the galaxy_nginx role first")
        change.conf_before, change.conf_after, change.conf_changed = conf_text, candidate, candidate != conf_text
    return change


def instances(members: list[Member], down: Iterable[str], joining: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Per instance name, its upstream name and members (each with ``down`` and ``joining``), as the template renders them."""
    out: dict[str, dict[str, Any]] = {}
    for m in members:
        out.setdefault(m.instance, {"upstream": m.upstream, "members": []})["members"].append(m.as_dict(down, joining))
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
