# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether every proxy can take part in a rolling restart (galaxy_restart's preflight).

Controller-only, pure: the filter ``galaxyops.fleet.restart_proxy_problems`` gives it, per proxy
host of the play, the results of the preflight's two calls on that proxy (the health check of
every gunicorn, then the test of nginx's configuration) and whether the host is still in the play.

Every proxy takes each gunicorn out of its nginx before the gunicorn restarts. A proxy the play
lost (unreachable, or failed in the preflight) would keep sending requests to the gunicorns the
others restart; a proxy whose nginx configuration does not pass its test cannot reload, so the first
drain would fail there after the other proxies already took a gunicorn out. Either way the rolling
restart refuses before anything restarts, naming the proxy and what was seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


TASK_FAILED = "Task failed: "


@dataclass(frozen=True)
class ProxyResult:
    """One proxy host of the play: still in it, and its preflight results (None: not run there)."""

    host: str
    active: bool
    health: Mapping[str, Any] | None
    nginx_test: Mapping[str, Any] | None


def _text(result: Mapping[str, Any], *keys: str) -> str:
    """The first non-empty of the result's keys, stripped and on one line."""
    for key in keys:
        value = result.get(key)
        if value:
            text = " ".join(str(value).split())
            # ansible-core 2.19 begins its task errors so; the refusal already says what failed
            return text[len(TASK_FAILED):] if text.startswith(TASK_FAILED) else text
    return "no output"


def problem(proxy: ProxyResult) -> str | None:
    """What keeps this proxy from taking part (None: it can)."""
    health = proxy.health or {}
    if health.get("unreachable"):
        return f"{proxy.host} is unreachable ({_text(health, 'msg')})"
    if not proxy.active:
        return f"{proxy.host} failed in the preflight ({_text(health, 'msg') if health else 'before its checks'})"
    test = proxy.nginx_test
    if test is None or test.get("skipped"):
        return None
    if test.get("unreachable"):
        return f"{proxy.host} is unreachable ({_text(test, 'msg')})"
    if test.get("rc") != 0:
        cmd = test.get("cmd")
        shown = " ".join(str(c) for c in cmd) if isinstance(cmd, (list, tuple)) else str(cmd or "the nginx test")
        return f"nginx's configuration on {proxy.host} does not pass `{shown}` ({_text(test, 'stderr', 'stdout', 'msg')})"
    return None


def proxy_problems(proxies: Sequence[ProxyResult]) -> str | None:
    """The refusal naming every proxy that cannot take part, or None."""
    found = [(p.host, text) for p in proxies if (text := problem(p))]
    if not found:
        return None
    return ("Rolling restart refused before anything restarted or left nginx: "
            + "; ".join(text for _host, text in found)
            + ". Every proxy takes each gunicorn out of its nginx before the gunicorn restarts, so every proxy "
            f"must be reachable and its nginx able to reload: fix {', '.join(host for host, _what in found)} "
            "(or remove a retired proxy from the proxy group) and run the rolling restart again.")
