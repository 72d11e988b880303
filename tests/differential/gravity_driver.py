"""Drive Gravity 1.2.4 as an oracle: run by the Python of Gravity's own venv, never imported by pytest.

Reads a JSON request on stdin ({"stub_dir", "output", "cases": [{"name", "config", "workdir",
"env"}]}) and writes one JSON result per case to "output". For each case it runs, in this process,
the same click entry point as `galaxyctl`:

- `galaxyctl --no-user -c CONFIG update` twice, with GRAVITY_SYSTEMD_UNIT_PATH pointing into the
  case's work dir and a stub `systemctl` first on PATH: once with the case's own settings (the unit
  names Gravity's systemd mode gives, templates included) and once with
  GRAVITY_SERVICE_COMMAND_STYLE=direct (one unit per process, with its real ExecStart and
  Environment lines; an environment variable only fills keys the config leaves unset);
- `galaxyctl --no-user -c CONFIG exec -n [-i N] INSTANCE SERVICE` for every process of the first
  run, with PATH set to systemd's default search path, to read the exact argv and environment.

Running in-process keeps the oracle fast (one interpreter per batch of cases instead of one per
command). `exec` creates Gravity's data dir before printing; the oracle only lets Gravity create
directories inside the case's work dir, so nothing is written elsewhere on the controller.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import os
import re
import shlex
import sys
import traceback

# What `systemctl show-environment` reports on Debian 12 (the stub prints the same).
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GALAXYCTL = "/var/cache/galaxyops-fleet/gravity/bin/galaxyctl"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SCRUB_PREFIXES = ("GRAVITY_", "GALAXY_")
SCRUB_NAMES = ("VIRTUAL_ENV", "XDG_CONFIG_HOME")


class Guard:
    """Only lets Gravity create directories below one root (and the root's parents); records the others."""

    def __init__(self) -> None:
        self.root = "/nonexistent"
        self.skipped: list[str] = []
        self._real = os.makedirs

    def makedirs(self, name, *args, **kwargs):
        path = os.path.abspath(os.fspath(name))
        inside = path == self.root or path.startswith(self.root + os.sep)
        ancestor = self.root.startswith(path.rstrip(os.sep) + os.sep)
        if inside or ancestor:
            return self._real(name, *args, **kwargs)
        self.skipped.append(path)
        return None


GUARD = Guard()
os.makedirs = GUARD.makedirs  # type: ignore[assignment]

from gravity.cli import galaxyctl  # noqa: E402  (after the guard: gravity must see it)
from gravity.config_manager import ConfigManager  # noqa: E402
from gravity.state import ServiceList  # noqa: E402


def call_galaxyctl(args: list[str]) -> dict:
    """Run one galaxyctl command in-process; return its output and any error."""
    out, err = io.StringIO(), io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            galaxyctl.main(args=args, prog_name="galaxyctl", standalone_mode=False)
        except Exception as exc:  # the oracle records Gravity's failures, it never hides them
            kind = "click" if exc.__class__.__name__ == "ClickException" else "traceback"
            message = exc.format_message() if kind == "click" else str(exc)
            error = {"kind": kind, "type": type(exc).__name__, "message": ANSI.sub("", message)}
            if kind == "traceback":
                error["traceback"] = traceback.format_exc()
    return {"stdout": ANSI.sub("", out.getvalue()), "stderr": ANSI.sub("", err.getvalue()), "error": error}


def parse_unit(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line[0] in ";#[":
            continue
        key, _, value = line.partition("=")
        fields.setdefault(key, []).append(value)
    return fields


def unit_environment(values: list[str]) -> dict[str, str]:
    env = {}
    for item in values:
        name, _, quoted = item.partition("=")
        words = shlex.split(quoted)
        env[name] = words[0] if words else ""
    return env


def first(fields: dict[str, list[str]], key: str):
    values = fields.get(key)
    return values[0] if values else None


def read_units(unit_dir: str) -> tuple[dict, dict]:
    units: dict[str, dict] = {}
    targets: dict[str, list[str]] = {}
    if not os.path.isdir(unit_dir):
        return units, targets
    for name in sorted(os.listdir(unit_dir)):
        with open(os.path.join(unit_dir, name)) as fh:
            fields = parse_unit(fh.read())
        if name.endswith(".target"):
            targets[name] = (first(fields, "Wants") or "").split()
            continue
        units[name] = {
            "description": first(fields, "Description"),
            "part_of": first(fields, "PartOf"),
            "umask": first(fields, "UMask"),
            "user": first(fields, "User"),
            "group": first(fields, "Group"),
            "working_directory": first(fields, "WorkingDirectory"),
            "start_timeout": first(fields, "TimeoutStartSec"),
            "stop_timeout": first(fields, "TimeoutStopSec"),
            "memory_max": first(fields, "MemoryMax"),
            "memory_high": first(fields, "MemoryHigh"),
            "exec_reload": first(fields, "ExecReload"),
            "exec_start": first(fields, "ExecStart"),
            "argv": shlex.split(first(fields, "ExecStart") or ""),
            "environment": unit_environment(fields.get("Environment", [])),
        }
    return units, targets


def parse_exec_output(stdout: str) -> dict:
    result: dict = {"working_directory": None, "argv": None, "environment": None}
    for line in stdout.splitlines():
        if line.startswith("Working directory: "):
            result["working_directory"] = line[len("Working directory: "):]
        elif line.startswith("Executing: "):
            words = shlex.split(line[len("Executing: "):])
            env = {}
            while words and ENV_NAME.match(words[0]):
                name, _, value = words.pop(0).partition("=")
                env[name] = value
            result["argv"] = words
            result["environment"] = env
    return result


def service_catalogue(config_file: str) -> list[dict]:
    """Gravity's own view of the services: names, types and per-process server names."""
    catalogue = []
    manager = ConfigManager(config_file=[config_file], user_mode=False)
    for config in manager.get_configs():
        for service in config.services:
            children = service.services if isinstance(service, ServiceList) else [service]
            catalogue.append({
                "instance_name": config.instance_name,
                "service_name": service.service_name,
                "service_type": children[0].service_type,
                "count": service.count,
                "children": [
                    {"service_name": c.service_name, "server_name": c.settings.get("server_name")}
                    for c in children
                ],
            })
    return catalogue


def exec_all(config: str, targets: dict[str, list[str]]) -> dict[str, dict]:
    """`galaxyctl exec -n` for every unit a target wants: the exact argv and environment."""
    found: dict[str, dict] = {}
    for target, wants in targets.items():
        instance = "_default_" if target == "galaxy.target" else target[len("galaxy-"):-len(".target")]
        prefix = target[:-len(".target")] + "-"
        for unit in wants:
            if not unit.startswith(prefix):
                continue
            base, _, index = unit[len(prefix):-len(".service")].partition("@")
            args = ["--no-user", "-c", config, "exec", "-n"]
            if index:
                args += ["-i", index]
            args += [instance, base]
            outcome = call_galaxyctl(args)
            found[unit] = {**parse_exec_output(outcome["stdout"]), "service": base,
                           "error": outcome["error"], "stderr": outcome["stderr"]}
    return found


def run_case(case: dict, stub_dir: str) -> dict:
    workdir = case["workdir"]
    config = case["config"]
    GUARD.root = workdir
    GUARD._real(workdir, exist_ok=True)
    GUARD.skipped = []
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(SCRUB_PREFIXES) and k not in SCRUB_NAMES}
    base_env["GRAVITY_PROCESS_MANAGER"] = "systemd"
    base_env.update(case.get("env") or {})
    result: dict = {"runs": {}, "exec": {}, "catalogue": None, "catalogue_error": None}
    saved = dict(os.environ)
    try:
        for run, extra in (("default", {}), ("direct", {"GRAVITY_SERVICE_COMMAND_STYLE": "direct"})):
            unit_dir = os.path.join(workdir, f"units-{run}")
            os.environ.clear()
            os.environ.update(base_env)
            os.environ.update(extra)
            os.environ["GRAVITY_SYSTEMD_UNIT_PATH"] = unit_dir
            os.environ["PATH"] = f"{stub_dir}:{SYSTEMD_PATH}"
            outcome = call_galaxyctl(["--no-user", "-c", config, "update"])
            units, targets = read_units(unit_dir)
            result["runs"][run] = {**outcome, "units": units, "targets": targets}
        # exec (and the catalogue) with each run's settings, PATH as systemd would set it
        for run, extra in (("default", {}), ("direct", {"GRAVITY_SERVICE_COMMAND_STYLE": "direct"})):
            os.environ.clear()
            os.environ.update(base_env)
            os.environ.update(extra)
            os.environ["PATH"] = SYSTEMD_PATH
            outcome = result["runs"][run]
            if outcome["error"] is not None:
                continue
            if run == "default":
                try:
                    result["catalogue"] = service_catalogue(config)
                except Exception as exc:
                    result["catalogue_error"] = f"{type(exc).__name__}: {exc}"
            result["exec"][run] = exec_all(config, outcome["targets"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    result["skipped_dirs"] = sorted(set(GUARD.skipped))
    result["gravity_version"] = importlib.metadata.version("gravity")
    return result


def main() -> int:
    request = json.load(sys.stdin)
    sys.argv[0] = GALAXYCTL  # Gravity writes sys.argv[0] into gravity-style ExecStart lines
    results = {case["name"]: run_case(case, request["stub_dir"]) for case in request["cases"]}
    with open(request["output"], "w") as fh:
        json.dump(results, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
