# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server block of each Galaxy instance that nginx fronts: its listen, server_name, extra directives
and where its static files are.

Controller-side (the filter ``galaxyops.fleet.nginx_servers``): role galaxy_nginx's settings over the plan,
checked, so that the template only renders what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


class ServersError(ValueError):
    """The settings cannot make distinct server blocks; the message says why."""


@dataclass(frozen=True)
class Server:
    """The server block of one Galaxy instance."""

    listen: tuple[str, ...]
    server_name: str
    extra: str = ""

    @property
    def key(self) -> str:
        """What nginx tells server blocks apart by: their listen values and server name."""
        return ",".join(self.listen) + "|" + self.server_name

    def as_dict(self, static_dir: str) -> dict[str, Any]:
        return {"listen": list(self.listen), "server_name": self.server_name, "extra": self.extra,
                "static_dir": static_dir}


def _static_dir(inst: Mapping[str, Any], static_dir: str) -> str:
    """The directory nginx serves an instance's /static from: the one given, else <galaxy_root>/static."""
    if static_dir:
        return static_dir
    return f"{inst['galaxy_root']}/static" if inst.get("galaxy_root") else ""


def _server(entry: Mapping[str, Any], listen: list[str], server_name: str, where: str) -> Server:
    values = entry.get("listen", listen)
    if not isinstance(values, list):
        raise ServersError(f"{where}: listen values are lists (got {values!r})")
    return Server(listen=tuple(str(v) for v in values), server_name=str(entry.get("server_name", server_name)),
                  extra=str(entry.get("extra") or ""))


def nginx_servers(plan: Mapping[str, Any], servers: Mapping[str, Any] | None = None, listen: Any = ("80",),
                  server_name: str = "_", static_dir: str = "") -> dict[str, dict[str, Any]]:
    """Per Galaxy instance with gunicorns (sorted by name), its server block settings.

    ``static_dir`` (``galaxy_nginx_static_dir``) is where every instance's static files are; empty
    means each instance's ``<galaxy_root>/static``.

    ``servers`` (``galaxy_nginx_servers``) overrides ``listen`` / ``server_name`` per instance name. Refused:
    a listen that is not a list, an entry for an instance the plan does not have, several instances
    when one of them has no entry, and two entries with the same listen values and server name.
    """
    servers = dict(servers or {})
    if not isinstance(listen, list):
        raise ServersError(f"galaxy_nginx_listen: listen values are lists (got {listen!r})")
    planned = plan.get("instances") or {}
    fronted = sorted(name for name, inst in planned.items() if (inst.get("upstream") or {}).get("members"))
    unknown = sorted(set(servers) - set(planned))
    if unknown:
        raise ServersError(f"galaxy_nginx_servers names instances the plan does not have: {', '.join(unknown)}")
    alone = [name for name in fronted if name not in servers]
    if len(fronted) > 1 and alone:
        raise ServersError("with several Galaxy instances galaxy_nginx_servers gives each its own listen + server_name "
                           f"(missing: {', '.join(alone)})")
    blocks = {name: _server(entry or {}, listen, server_name, f"galaxy_nginx_servers.{name}")
              for name, entry in servers.items()}
    keys = [b.key for b in blocks.values()]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ServersError(f"galaxy_nginx_servers: two instances share listen + server_name {', '.join(twice)}")
    default = Server(listen=tuple(str(v) for v in listen), server_name=str(server_name))
    return {name: blocks.get(name, default).as_dict(_static_dir(planned[name], static_dir)) for name in fronted}
