"""The Gravity 1.2.4 configuration model: every setting, its default, type and range.

Values are coerced the way Gravity's settings model accepts them (``workers: "2"`` is 2,
``preload: "yes"`` is true, ``bind: 8080`` is an error), so that every configuration Gravity
accepts gives the same values here. Where Gravity does not validate at all (handler entries)
or accepts nonsense (a port of 0, negative timeouts), this module is stricter.
"""

from __future__ import annotations

import re
import string
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, unknown_key
from ansible_collections.galaxyops.fleet.plugins.module_utils.galaxy_names import (
    GALAXY_POOLS,
    pool_problem,
    server_name_problem,
)

DEFAULT_INSTANCE_NAME = "_default_"
GX_IT_PROXY_MIN_VERSION = "0.0.6"
HANDLER_TEMPLATE_VARIABLES = ("name", "process", "instance_name", "host")
DEFAULT_HANDLER_POOLS = GALAXY_POOLS  # what a handler key without pools attaches to

_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_UMASK_RE = re.compile(r"^[0-7]{1,4}$")
_URL_RE = re.compile(r"^(?!unix://|fd://)[A-Za-z][A-Za-z0-9+.-]*://")
_MISSING = object()


class Field:
    """One setting: its kind, default, whether null is allowed and its lower bound."""

    __slots__ = ("kind", "default", "nullable", "minimum", "maximum", "choices", "required")

    def __init__(self, kind: str, default: Any = None, nullable: bool = False, minimum: float | None = None,
                 maximum: float | None = None, choices: tuple[str, ...] = (), required: bool = False):
        self.kind = kind
        self.default = default
        self.nullable = nullable
        self.minimum = minimum
        self.maximum = maximum
        self.choices = choices
        self.required = required


def _common(start: int, stop: int) -> dict[str, Field]:
    return {
        "umask": Field("umask", None, nullable=True),
        "start_timeout": Field("int", start, minimum=0),
        "stop_timeout": Field("int", stop, minimum=0),
        "memory_limit": Field("float", None, nullable=True, minimum=0),
        "memory_high": Field("float", None, nullable=True, minimum=0),
        "environment": Field("env", {}),
    }


GUNICORN: dict[str, Field] = {
    "enable": Field("bool", True),
    "bind": Field("bind", "localhost:8080"),
    "workers": Field("int", 1, minimum=1),
    "timeout": Field("int", 300, minimum=0),
    "extra_args": Field("str", ""),
    "preload": Field("bool", True, nullable=True),
    "restart_timeout": Field("int", 300, minimum=0),
    **_common(15, 65),
}

CELERY: dict[str, Field] = {
    "enable": Field("bool", True),
    "enable_beat": Field("bool", True),
    "concurrency": Field("int", 2, minimum=0),
    "loglevel": Field("enum", "DEBUG", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    "queues": Field("str", "celery,galaxy.internal,galaxy.external"),
    "pool": Field("enum", "threads", choices=("prefork", "eventlet", "gevent", "solo", "processes", "threads")),
    "extra_args": Field("str", ""),
    **_common(10, 10),
}

TUSD: dict[str, Field] = {
    "enable": Field("bool", False),
    "tusd_path": Field("str", "tusd"),
    "host": Field("str", "localhost"),
    "port": Field("int", 1080, minimum=1, maximum=65535),
    "upload_dir": Field("str", required=True),
    "hooks_http": Field("str", "/api/upload/hooks"),
    "hooks_enabled_events": Field("str", "pre-create"),
    "extra_args": Field("str", ""),
    **_common(10, 10),
}

REPORTS: dict[str, Field] = {
    "enable": Field("bool", False),
    "config_file": Field("str", "reports.yml"),
    "bind": Field("bind", "localhost:9001"),
    "workers": Field("int", 1, minimum=1),
    "timeout": Field("int", 300, minimum=0),
    "url_prefix": Field("str", None, nullable=True),
    "extra_args": Field("str", ""),
    **_common(10, 10),
}

GX_IT_PROXY: dict[str, Field] = {
    "enable": Field("bool", False),
    "version": Field("str", f">={GX_IT_PROXY_MIN_VERSION}"),
    "ip": Field("str", "localhost"),
    "port": Field("int", 4002, minimum=1, maximum=65535),
    "sessions": Field("str", "database/interactivetools_map.sqlite"),
    "verbose": Field("bool", True),
    "forward_ip": Field("str", None, nullable=True),
    "forward_port": Field("int", None, nullable=True, minimum=1, maximum=65535),
    "reverse_proxy": Field("bool", False, nullable=True),
    **_common(10, 10),
}

TOP: dict[str, Field] = {
    "process_manager": Field("enum", None, nullable=True, choices=("supervisor", "systemd", "multiprocessing")),
    "service_command_style": Field("enum", "gravity", choices=("gravity", "direct", "_exec")),
    "use_service_instances": Field("bool", True),
    "umask": Field("umask", "022"),
    "memory_limit": Field("float", None, nullable=True, minimum=0),
    "memory_high": Field("float", None, nullable=True, minimum=0),
    "galaxy_config_file": Field("str", None, nullable=True),
    "galaxy_root": Field("str", None, nullable=True),
    "galaxy_user": Field("str", None, nullable=True),
    "galaxy_group": Field("str", None, nullable=True),
    "log_dir": Field("str", None, nullable=True),
    "log_namespace": Field("str", None, nullable=True),
    "virtualenv": Field("str", None, nullable=True),
    "app_server": Field("enum", "gunicorn", choices=("gunicorn",)),
    "instance_name": Field("str", DEFAULT_INSTANCE_NAME),
}

SECTIONS: dict[str, dict[str, Field]] = {
    "gunicorn": GUNICORN,
    "celery": CELERY,
    "tusd": TUSD,
    "reports": REPORTS,
    "gx_it_proxy": GX_IT_PROXY,
}
LIST_SECTIONS = ("gunicorn", "tusd")

HANDLER: dict[str, Field] = {
    "processes": Field("strict_int", 1, minimum=1),
    "pools": Field("pools", None),
    "name_template": Field("template", None, nullable=True),
    "umask": Field("umask", None, nullable=True),
    "start_timeout": Field("int", 20, minimum=0),
    "stop_timeout": Field("int", 65, minimum=0),
    "memory_limit": Field("float", None, nullable=True, minimum=0),
    "memory_high": Field("float", None, nullable=True, minimum=0),
    "environment": Field("env", {}),
}

# Collection extension: gunicorn.instances (only with a single gunicorn object).
GUNICORN_EXTENSIONS = {"instances": Field("strict_int", None, nullable=True, minimum=1)}


def _describe(field: Field) -> str:
    kinds = {
        "int": "an integer",
        "strict_int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
        "env": "a mapping of variable names to strings",
        "pools": "a list of pool names",
        "template": "a string",
        "umask": "an octal string such as \"022\"",
        "bind": "host:port, [IPv6]:port, host or unix:/path (not a URL)",
    }
    if field.kind == "enum":
        text = "one of: " + ", ".join(c for c in field.choices if not c.startswith("_"))
    else:
        text = kinds[field.kind]
    if field.minimum is not None and field.maximum is not None:
        text += f" from {field.minimum:g} to {field.maximum:g}"
    elif field.minimum is not None:
        text += f" >= {field.minimum:g}"
    if field.nullable:
        text += " (or null)"
    return text


def coerce(field: Field, value: Any) -> tuple[bool, Any]:
    """Return (ok, value) after coercing ``value`` the way Gravity's model does."""
    if value is None:
        return field.nullable, None
    kind = field.kind
    result: Any = _MISSING
    if kind == "int":
        if isinstance(value, bool):
            result = int(value)
        elif isinstance(value, int):
            result = value
        elif isinstance(value, float) and value.is_integer():
            result = int(value)
        elif isinstance(value, str) and _INT_RE.match(value):
            result = int(value)
    elif kind == "strict_int":
        if isinstance(value, int) and not isinstance(value, bool):
            result = value
    elif kind == "float":
        if isinstance(value, (int, float)):
            result = float(value)
        elif isinstance(value, str):
            try:
                result = float(value)
            except ValueError:
                result = _MISSING
    elif kind == "bool":
        if isinstance(value, bool):
            result = value
        elif isinstance(value, (int, float)) and value in (0, 1):
            result = bool(value)
        elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            result = value.strip().lower() in _TRUE
    elif kind in ("str", "template"):
        if isinstance(value, str):
            result = value
    elif kind == "umask":
        if isinstance(value, str) and _UMASK_RE.match(value):
            result = value
    elif kind == "bind":
        if isinstance(value, str) and value.strip() and not _URL_RE.match(value) and not any(
                c.isspace() for c in value):
            result = value
    elif kind == "enum":
        if isinstance(value, str) and value in field.choices:
            result = value
    elif kind == "env":
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            result = dict(value)
    elif kind == "pools":
        if (isinstance(value, list) and value
                and all(isinstance(p, str) and p and not any(c.isspace() for c in p) for p in value)):
            result = list(value)
    if result is _MISSING:
        return False, None
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if field.minimum is not None and result < field.minimum:
            return False, None
        if field.maximum is not None and result > field.maximum:
            return False, None
    return True, result


def validate_fields(schema: dict[str, Field], raw: Any, file: str, path: str, out: Collector,
                    host: str | None = None, extensions: dict[str, Field] | None = None) -> dict[str, Any] | None:
    """Validate one mapping against ``schema``; return the settings with defaults filled in."""
    if not isinstance(raw, dict):
        out.error(file, path, "must be a mapping", host)
        return None
    known = dict(schema)
    if extensions:
        known.update(extensions)
    result: dict[str, Any] = {}
    for key, field in known.items():
        if key not in raw:
            if field.required:
                out.error(file, f"{path}.{key}", "is required", host)
                result[key] = ""
                continue
            default = field.default
            result[key] = dict(default) if isinstance(default, dict) else default
            continue
        ok, value = coerce(field, raw[key])
        if not ok:
            hint = ""
            if field.kind == "umask" and isinstance(raw[key], int) and not isinstance(raw[key], bool):
                hint = " (YAML reads an unquoted 022 as the number 18: quote it)"
            out.error(file, f"{path}.{key}", f"must be {_describe(field)}, got {raw[key]!r}{hint}", host)
            # keep the structure complete (the default) so later checks still run
            value = dict(field.default) if isinstance(field.default, dict) else field.default

        result[key] = value
    for key in raw:
        if key not in known:
            # Gravity ignores it silently: a typo (`proceses`) would drop the setting unseen
            out.error(file, f"{path}.{key}", unknown_key(key, known), host)
    return result


def template_problem(template: str) -> str | None:
    """Why a handler name_template cannot be expanded, or None when it can."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"invalid template {template!r}: {exc}"
    for _literal, name, _spec, _conversion in parsed:
        if name is None:
            continue
        base = re.split(r"[.\[]", name, maxsplit=1)[0]
        if base == "" or base.isdigit():
            return f"positional field {{{name}}} in {template!r}; use one of: " + ", ".join(
                "{" + v + "}" for v in HANDLER_TEMPLATE_VARIABLES)
        if base not in HANDLER_TEMPLATE_VARIABLES:
            return f"unknown variable {{{base}}} in {template!r}; known: " + ", ".join(
                "{" + v + "}" for v in HANDLER_TEMPLATE_VARIABLES)
        if base != name:
            return f"attribute or index access {{{name}}} in {template!r} is not supported"
    return None


def validate_handlers(raw: Any, file: str, path: str, out: Collector, host: str | None = None) -> dict[str, dict]:
    """Validate ``gravity.handlers`` (Gravity itself does not, and crashes on bad entries)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        out.error(file, path, "must be a mapping of handler names to settings", host)
        return {}
    handlers: dict[str, dict] = {}
    for key, entry in raw.items():
        key_path = f"{path}.{key}"
        if not isinstance(key, str) or not key:
            out.error(file, key_path, "handler names must be non-empty strings", host)
            continue
        if entry is None:
            entry = {}
        settings = validate_fields(HANDLER, entry, file, key_path, out, host)
        if settings is None:
            continue
        template = settings.get("name_template")
        if template is not None:
            problem = template_problem(template)
            if problem:
                out.error(file, f"{key_path}.name_template", problem, host)
                continue
        for index, pool in enumerate(settings["pools"] or ()):
            problem = pool_problem(pool)
            if problem:
                out.error(file, f"{key_path}.pools.{index}", problem, host)
        named = server_name_problem(settings["environment"])
        if named:
            out.error(file, f"{key_path}.environment.{named[0]}", named[1], host)
        handlers[key] = settings
    return handlers


def validate_gravity(raw: Any, file: str, path: str, out: Collector, host: str | None = None) -> dict[str, Any] | None:
    """Validate one Gravity section (one Galaxy instance). Returns the complete settings."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        out.error(file, path, "must be a mapping (or a list of mappings, one per Galaxy instance)", host)
        return None
    schema_keys = set(TOP) | set(SECTIONS) | {"handlers"}
    top_raw = {k: v for k, v in raw.items() if k in TOP}
    settings = validate_fields(TOP, top_raw, file, path, out, host) or {}
    for key in raw:
        if key not in schema_keys and not (isinstance(key, str) and key.startswith("__")):
            out.error(file, f"{path}.{key}", unknown_key(key, schema_keys), host)
    for name, schema in SECTIONS.items():
        value = raw.get(name)
        section_path = f"{path}.{name}"
        if value is None:
            if name == "tusd":
                value = {"upload_dir": ""}
            else:
                value = {}
        if isinstance(value, list) and name in LIST_SECTIONS:
            items = []
            for index, item in enumerate(value):
                item_settings = validate_fields(schema, item, file, f"{section_path}.{index}", out, host)
                if item_settings is not None:
                    items.append(item_settings)
            settings[name] = items
        elif isinstance(value, dict):
            extensions = GUNICORN_EXTENSIONS if name == "gunicorn" else None
            settings[name] = validate_fields(schema, value, file, section_path, out, host, extensions=extensions)
        else:
            expected = "a mapping or a list of mappings" if name in LIST_SECTIONS else "a mapping"
            out.error(file, section_path, f"must be {expected}, got {type(value).__name__}", host)
            settings[name] = None
    settings["handlers"] = validate_handlers(raw.get("handlers"), file, f"{path}.handlers", out, host)
    return settings
