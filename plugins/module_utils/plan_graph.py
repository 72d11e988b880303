"""The plan drawn: a Graphviz (DOT) picture of the fleet.

Each host is a box holding its processes (unit, server name, bind); each proxy points at the
upstream of every Galaxy instance, and the upstream at its gunicorns (with the address nginx uses);
job handlers hang off the pools and tags they serve. `dot -Tsvg` turns the text into SVG (the plan
playbook does, with `-e plan_svg=PATH`).

With a health map (``HOST/UNIT`` -> ``ok``, ``warning`` or ``failed``, the status playbook's), each
process is filled by its health instead of its service type, and says it on a last line.

Plain text from the plan dict (the output of ``build_plan``), no Graphviz needed to make it.
"""

from __future__ import annotations

from typing import Any, Mapping

# Fill colour of a process by service type.
COLOURS = {
    "gunicorn": "#cfe8fc", "standalone": "#fde2c4", "celery": "#e2f0cb", "celery-beat": "#e2f0cb",
    "tusd": "#eeeeee", "gx-it-proxy": "#eeeeee", "reports": "#eeeeee",
}
# How a service type reads in the picture (Gravity calls job handlers "standalone").
SHOWN_TYPES = {"standalone": "handler"}
PROXY_COLOUR = "#d9d2f0"
ADDRESS = "address"
POOL_COLOUR = "#fff6bf"
# Fill colour of a process by health (with a health map).
HEALTH_COLOURS = {"ok": "#b7e4b0", "warning": "#ffe08a", "failed": "#f4a3a3"}
UNKNOWN_HEALTH = "#dddddd"


def quote(text: str) -> str:
    """A DOT string literal."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node(node_id: str, label: str, indent: int = 4, **attrs: str) -> str:
    extra = "".join(f", {key}={quote(value)}" for key, value in attrs.items())
    return " " * indent + f"{quote(node_id)} [label={quote(label)}{extra}];"


def _edge(a: str, b: str, **attrs: str) -> str:
    extra = ", ".join(f"{key}={quote(value)}" for key, value in attrs.items())
    return f"  {quote(a)} -> {quote(b)}" + (f" [{extra}]" if extra else "") + ";"


def _process_label(service_type: str, proc: Mapping[str, Any]) -> str:
    lines = [proc["unit"], f"{SHOWN_TYPES.get(service_type, service_type)} {proc['server_name']}"]
    if proc.get("bind"):
        lines.append(proc["bind"])
    return "\n".join(lines)


def _proxies(plan: Mapping[str, Any]) -> list[str]:
    group = (plan.get("groups") or {}).get("proxy", "galaxy_proxy")
    return [name for name, host in plan.get("hosts", {}).items() if group in (host.get("groups") or [])]


def _fill(service_type: str, proc_id: str, health: Mapping[str, str] | None) -> tuple[str, str]:
    """The fill colour and the extra label line of a process."""
    if health is None:
        return COLOURS.get(service_type, "#ffffff"), ""
    verdict = health.get(proc_id)
    return HEALTH_COLOURS.get(verdict or "", UNKNOWN_HEALTH), "\n" + (verdict or "not seen")


def _host_cluster(index: int, name: str, host: Mapping[str, Any], proxy: bool,
                  health: Mapping[str, str] | None = None) -> list[str]:
    lines = [f"  subgraph cluster_{index} {{", f"    label={quote(f'{name} ({host.get(ADDRESS)})')};",
             '    style="rounded"; color="#888888";']
    if proxy:
        lines.append(_node(f"{name}/nginx", "nginx", shape="box", style="filled", fillcolor=PROXY_COLOUR))
    for unit in (host.get("units") or {}).values():
        for proc in unit["instances"]:
            proc_id = f"{name}/{proc['unit']}"
            fill, extra = _fill(unit["service_type"], proc_id, health)
            lines.append(_node(proc_id, _process_label(unit["service_type"], proc) + extra, shape="box",
                               style="filled,rounded", fillcolor=fill))
    if len(lines) == 3:
        lines.append(_node(f"{name}/-", "nothing to run", shape="plaintext"))
    lines.append("  }")
    return lines


def _pool_names(entry: Mapping[str, Any]) -> list[str]:
    """The pools a handler serves; a static handler's tags as `tag NAME` (a dynamic one's come from its pools)."""
    tags = [f"tag {tag}" for tag in entry.get("tags") or []] if entry.get("static") else []
    return list(entry.get("pools") or []) + tags


def _instance(name: str, inst: Mapping[str, Any], proxies: list[str]) -> list[str]:
    lines = []
    upstream = inst["upstream"]
    if upstream["members"]:
        up_id = f"upstream/{name}"
        lines.append(_node(up_id, f"upstream {upstream['name']}\n(instance {name})", indent=2, shape="box3d",
                           style="filled", fillcolor=PROXY_COLOUR))
        lines += [_edge(f"{proxy}/nginx", up_id) for proxy in proxies]
        lines += [_edge(up_id, f"{m['host']}/{m['unit']}", label=m["address"]) for m in upstream["members"]]
    pools: dict[str, list[str]] = {}
    for server_name, entry in (inst.get("handlers") or {}).items():
        for pool in _pool_names(entry) or [f"server {server_name}"]:
            pools.setdefault(pool, []).append(f"{entry['host']}/{entry['unit']}")
    for pool, targets in pools.items():
        pool_id = f"pool/{name}/{pool}"
        lines.append(_node(pool_id, f"{pool}\n(instance {name})", indent=2, shape="ellipse", style="filled",
                           fillcolor=POOL_COLOUR))
        lines += [_edge(pool_id, target, style="dashed") for target in targets]
    return lines


def dot(plan: Mapping[str, Any], title: str = "Galaxy fleet", health: Mapping[str, str] | None = None) -> str:
    """The whole plan as one DOT digraph (processes coloured by ``health`` when given)."""
    proxies = _proxies(plan)
    lines = ["digraph fleet {", "  rankdir=LR;", f"  label={quote(title)}; labelloc=t; fontsize=18;",
             '  node [fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];']
    for index, (name, host) in enumerate(plan.get("hosts", {}).items()):
        lines += _host_cluster(index, name, host, name in proxies, health)
    for name, inst in plan.get("instances", {}).items():
        lines += _instance(name, inst, proxies)
    lines.append("}")
    return "\n".join(lines) + "\n"
