"""Names Galaxy reads from a process's settings: the handler pools it attaches to and the server
name it runs as (galaxy-main's ``--server-name``, or a web or celery process's environment)."""

from __future__ import annotations

import re

GALAXY_POOLS = ("job-handlers", "workflow-schedulers")
SERVER_NAME_VARIABLE = "GALAXY_CONFIG_SERVER_NAME"
SERVER_NAME_OVERRIDE = "GALAXY_CONFIG_OVERRIDE_SERVER_NAME"
# Galaxy processes that take their server name from the environment (handlers get --server-name).
SERVER_NAME_FROM_ENVIRONMENT = ("gunicorn", "celery", "celery-beat")
_POOL_RE = re.compile(r"^(job-handlers|workflow-schedulers)(\.[^\s.]\S*)?$")


def pool_problem(pool: str) -> str | None:
    """Why Galaxy would never use a handler pool name, or None for a real pool."""
    if _POOL_RE.match(pool):
        return None
    base = pool.split(".", 1)[0]
    near = [p + pool[len(base):] for p in GALAXY_POOLS if p.replace("-", "_") == base.replace("-", "_").lower()]
    hint = f" (did you mean {near[0]!r}?)" if near and _POOL_RE.match(near[0]) else ""
    return (f"{pool!r} is no Galaxy pool, so the handler would never get work: use "
            f"{', '.join(GALAXY_POOLS)} or POOL.TAG{hint}")


def server_name_problem(environment: dict[str, str]) -> tuple[str, str] | None:
    """(variable, why) when a handler's environment names the server, which galaxy-main decides."""
    if SERVER_NAME_OVERRIDE in environment:
        return SERVER_NAME_OVERRIDE, ("would make Galaxy run the handler under another name than its "
                                      "--server-name, which job assignment relies on: name handlers with "
                                      "name_template (or the job configuration's ids) instead")
    if SERVER_NAME_VARIABLE in environment:
        return SERVER_NAME_VARIABLE, ("is ignored: galaxy-main sets it from its --server-name; name handlers "
                                      "with name_template (or the job configuration's ids) instead")
    return None


def environment_server_name(default: str, environment: dict[str, str], galaxy: dict | None) -> str:
    """The server name a Galaxy web or celery process runs as: GALAXY_CONFIG_OVERRIDE_SERVER_NAME,
    else (when the environment sets GALAXY_CONFIG_SERVER_NAME) galaxy.yml's server_name, which
    Galaxy prefers to it, else that variable; ``default`` when the environment sets neither."""
    if environment.get(SERVER_NAME_OVERRIDE):
        return environment[SERVER_NAME_OVERRIDE]
    if environment.get(SERVER_NAME_VARIABLE):
        configured = (galaxy or {}).get("server_name")
        return configured if isinstance(configured, str) and configured else environment[SERVER_NAME_VARIABLE]
    return default
