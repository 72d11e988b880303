"""Binds and addresses: what a process listens on, how others reach it, and what clashes.

A bind is gunicorn's syntax (``host:port``, ``[v6]:port``, ``unix:PATH``, ``fd://N``). From it
come the process's own health URL (asked on its host), the address the proxy uses for an
upstream member (with the rule that a socket or loopback bind cannot be reached from another
host), a service's address, and the endpoint two processes of one host must not share.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import Endpoint, Process

WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]", "", "*"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"}
GUNICORN_DEFAULT_PORT = 8000
_WILDCARDS = {h.strip("[]") for h in WILDCARD_HOSTS}
_LOOPBACKS = {h.strip("[]") for h in LOOPBACK_HOSTS}


class Bind(NamedTuple):
    """A parsed bind: ("unix", path, None), ("fd", fd, None) or ("tcp", host, port)."""

    kind: str
    where: str
    port: int | None


def parse_bind(bind: str) -> Bind:
    """('unix', path, None), ('fd', fd, None) or ('tcp', host, port) for a gunicorn bind."""
    if bind.startswith("unix:"):
        return Bind("unix", bind[5:], None)
    if bind.startswith("fd://"):
        return Bind("fd", bind[5:], None)
    if bind.startswith("["):
        host, _sep, rest = bind[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif bind.count(":") == 1:
        host, port = bind.split(":")
    elif ":" in bind:
        host, port = bind, ""  # a bare IPv6 address
    else:
        host, port = bind, ""
    if not port:
        return Bind("tcp", host, GUNICORN_DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid port {port!r} in bind {bind!r}")
    return Bind("tcp", host, int(port))


def join_host_port(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


@dataclass
class InstanceBinds:
    """The binds of ``gunicorn.instances`` copies of one gunicorn, and the ports out of range."""

    binds: list[str]
    out_of_range: list[int]


def instance_binds(bind: str, count: int) -> InstanceBinds:
    """Consecutive ports (or numbered sockets) for ``count`` copies of a gunicorn. ValueError: bad bind."""
    kind, where, port = parse_bind(bind)
    result = InstanceBinds([], [])
    for i in range(count):
        if kind == "unix":
            stem, ext = os.path.splitext(where)
            result.binds.append(f"unix:{stem}-{i}{ext}" if ext == ".sock" else f"unix:{where}-{i}")
        elif kind == "tcp":
            result.binds.append(join_host_port(where, port + i) if where else f":{port + i}")
            if port + i > 65535:
                result.out_of_range.append(port + i)
        else:
            result.binds.append(bind)
    return result


def local_health_url(bind: str, url_prefix: str) -> Any:
    """How a gunicorn's own host asks it for /api/version: a URL, a socket request or None."""
    try:
        kind, where, port = parse_bind(bind)
    except ValueError:
        return None
    path = f"{url_prefix}/api/version"
    if kind == "unix":
        return {"socket": where, "path": path}
    if kind == "fd":
        return None
    stripped = where.strip("[]")
    if stripped in ("", "0.0.0.0", "*"):
        where = "127.0.0.1"
    elif stripped == "::":
        where = "::1"
    return f"http://{join_host_port(where.strip('[]'), port)}{path}"


@dataclass
class Reach:
    """How the proxy reaches a gunicorn, and why it cannot (None when it can)."""

    address: str | None = None
    health_url: Any = None
    problem: str | None = None


def upstream_reach(bind: str, host: str, host_address: str, proxies: list[str], url_prefix: str) -> Reach:
    """The address and health URL of a gunicorn on ``host`` seen from the proxy hosts."""
    try:
        kind, where, port = parse_bind(bind)
    except ValueError:
        return Reach()  # the bind's own problem is reported with the process
    remote_proxies = [p for p in proxies if p != host]
    remote = ", ".join(remote_proxies)
    if kind == "unix":
        reach = Reach(f"unix:{where}", {"socket": where, "path": f"{url_prefix}/api/version"})
        if remote_proxies:
            reach.problem = (f"unix socket {bind} cannot be reached from proxy host(s) {remote}: a socket "
                             "bind needs the proxy on the same host")
        return reach
    if kind == "fd":
        return Reach(problem=f"{bind}: file descriptor binds cannot be placed in an upstream")
    reach = Reach()
    if where.strip("[]") in _WILDCARDS or where.strip("[]") == host_address.strip("[]"):
        target = host_address
    else:
        target = where
        if (where.strip("[]").lower() in _LOOPBACKS or where.startswith("127.")) and remote_proxies:
            reach.problem = (f"{bind} listens on the loopback interface only, so proxy host(s) {remote} "
                             "cannot reach it: bind 0.0.0.0 or the host's address")
    reach.address = join_host_port(target.strip("[]"), port)
    reach.health_url = f"http://{reach.address}{url_prefix}/api/version"
    return reach


def service_address(bind: str, host_address: str) -> str | None:
    """The address of a tusd, gx-it-proxy or reports process (a wildcard bind: the host's address)."""
    try:
        kind, where, port = parse_bind(bind)
    except ValueError:
        return None
    if kind == "unix":
        return f"unix:{where}"
    if kind == "tcp":
        target = host_address if where.strip("[]") in _WILDCARDS else where
        return join_host_port(target.strip("[]"), port)
    return None


def _normal_host(host: str) -> str:
    host = host.strip("[]").lower()
    if host in ("localhost", "ip6-localhost"):
        return "127.0.0.1"
    return host


def endpoint(bind: str) -> Endpoint | None:
    """What ``bind`` listens on (None for a file descriptor). ValueError: a bad bind."""
    kind, where, port = parse_bind(bind)
    if kind == "unix":
        return Endpoint("unix", os.path.normpath(where))
    if kind == "fd":
        return None
    return Endpoint("tcp", _normal_host(where), port)


def clash(a: Endpoint, b: Endpoint) -> bool:
    """Whether two endpoints of one host cannot both listen (a wildcard takes the port on every address)."""
    if a.kind != b.kind:
        return False
    if a.kind == "unix":
        return a.where == b.where
    if a.port != b.port:
        return False
    return a.where in _WILDCARDS or b.where in _WILDCARDS or a.where == b.where


@dataclass
class Clash:
    process: Process   # the process that cannot listen
    message: str


def bind_clashes(processes: Iterable[Process]) -> list[Clash]:
    """Each process of one host whose endpoint an earlier one already takes (the first one named)."""
    taken: list[Process] = []
    clashes = []
    for proc in processes:
        if proc.endpoint is None:
            continue
        for other in taken:
            if clash(proc.endpoint, other.endpoint):
                clashes.append(Clash(proc, f"{proc.unit} binds {proc.bind}, which {other.unit} already binds "
                                           f"({other.bind})"))
                break
        taken.append(proc)
    return clashes
