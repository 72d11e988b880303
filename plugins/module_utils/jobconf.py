"""Galaxy's job configuration, as far as the cluster plan needs it.

Found the way Galaxy and Gravity find it: ``job_config_file`` (relative to galaxy.yml's folder),
else the inline ``job_config`` mapping, else ``job_conf.yml`` then ``job_conf.xml`` beside
galaxy.yml. Read from it: static handlers (ids, tags, environment), the assignment methods,
the default handler, which tools are sent to which handler id or tag, and which environments run
their jobs in Galaxy's local runner (whose jobs do not survive a handler restart).
"""

from __future__ import annotations

import os
from xml.etree import ElementTree
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector, unknown_key
from ansible_collections.galaxyops.fleet.plugins.module_utils.galaxy_names import server_name_problem
from ansible_collections.galaxyops.fleet.plugins.module_utils.yaml_loader import read_yaml

DEFAULT_JOB_CONFIG_FILES = ("job_conf.yml", "job_conf.xml")
DYNAMIC_ASSIGN_METHODS = ("db-skip-locked", "db-transaction-isolation")
# Galaxy's handler assignment methods (it refuses to start with any other) and what it reads of
# `handling` (YAML) or of the <handlers> attributes (XML); anything else it ignores silently.
ASSIGN_METHODS = ("mem-self", "db-self", "db-preassign") + DYNAMIC_ASSIGN_METHODS
HANDLING_KEYS = ("assign", "default", "max_grab", "processes", "ready_window_size")
XML_HANDLERS_ATTRIBUTES = ("assign_with", "default", "max_grab", "ready_window_size")
# Galaxy's local job runner: its jobs are children of the handler and end in `error` when the
# handler restarts (LocalJobRunner.recover cannot reattach to them).
LOCAL_RUNNER_LOAD = "galaxy.jobs.runners.local:LocalJobRunner"


@dataclass
class StaticHandler:
    id: str
    tags: list[str] = field(default_factory=list)
    environment: dict[str, str] | None = None


@dataclass
class ToolMapping:
    tool: str
    handler: str
    key_path: str


@dataclass
class JobConfig:
    source: str | None = None          # file on the controller, "inline" or None
    label: str = "job configuration"   # what problems name as their file
    handlers: list[StaticHandler] = field(default_factory=list)
    assign: list[str] | None = None
    default: str | None = None
    default_key_path: str = ""
    tools: list[ToolMapping] = field(default_factory=list)
    # Environments (destinations) whose runner is Galaxy's local runner; without a job
    # configuration Galaxy runs every job locally.
    local_environments: list[str] = field(default_factory=lambda: ["local"])


def _local_environments(runners: dict[str, str], environments: dict[str, str]) -> list[str]:
    """Environments (id -> runner id) that run on a runner (id -> load) loading the local runner."""
    local = {rid for rid, load in runners.items() if str(load).strip() == LOCAL_RUNNER_LOAD}
    return sorted(env for env, runner in environments.items() if runner in local)


def _split_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t).strip() for t in value if str(t).strip()]
    return [str(value)]


def locate(galaxy_section: dict, config_dir: str | None, galaxy_file: str, out: Collector) -> tuple[str | None, Any]:
    """Return (label, content) where content is a path, a dict (inline) or None."""
    job_config_file = galaxy_section.get("job_config_file")
    if not job_config_file and isinstance(galaxy_section.get("job_config"), dict):
        return f"{galaxy_file} (galaxy.job_config)", galaxy_section["job_config"]
    if job_config_file is not None and not isinstance(job_config_file, str):
        out.error(galaxy_file, "galaxy.job_config_file", "must be a string")
        return None, None
    if not job_config_file:
        if config_dir is None:
            return None, None
        for name in DEFAULT_JOB_CONFIG_FILES:
            candidate = os.path.abspath(os.path.join(config_dir, name))
            if os.path.exists(candidate):
                return candidate, candidate
        return None, None
    if os.path.isabs(job_config_file):
        if not os.path.exists(job_config_file):
            out.error(galaxy_file, "galaxy.job_config_file",
                      f"{job_config_file} does not exist on the controller")
            return None, None
        return job_config_file, job_config_file
    if config_dir is None:
        out.error(galaxy_file, "galaxy.job_config_file",
                  f"relative path {job_config_file!r} needs config_dir when galaxy_config is given inline")
        return None, None
    candidate = os.path.abspath(os.path.join(config_dir, job_config_file))
    if not os.path.exists(candidate):
        # Gravity silently ignores it (and Galaxy would fail to start): an error here.
        out.error(galaxy_file, "galaxy.job_config_file",
                  f"{candidate} does not exist (relative to galaxy.yml's folder {config_dir})")
        return None, None
    return candidate, candidate


def _unknown_methods(methods: list[str]) -> list[tuple[int, str]]:
    """(position, message) of each assignment method Galaxy does not know (it refuses to start)."""
    return [(index, f"{method!r} is no handler assignment method (Galaxy refuses to start): use one of "
             + ", ".join(ASSIGN_METHODS)) for index, method in enumerate(methods) if method.lower() not in ASSIGN_METHODS]


def _check_handler_environment(environment: dict | None, label: str, key_path: str, out: Collector) -> None:
    named = server_name_problem(environment or {})
    if named:
        out.error(label, f"{key_path}.environment.{named[0]}", named[1])


def _parse_xml(path: str, out: Collector) -> JobConfig:
    conf = JobConfig(source=path, label=path)
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as exc:
        out.error(path, "", f"cannot parse job configuration: {exc}")
        return conf
    handlers = root.find("handlers")
    if handlers is not None:
        for attribute in handlers.attrib:
            if attribute not in XML_HANDLERS_ATTRIBUTES:
                out.error(path, f"job_conf.handlers.{attribute}",
                          unknown_key(attribute, XML_HANDLERS_ATTRIBUTES, "attribute"))
        assign_with = handlers.get("assign_with")
        if assign_with:
            conf.assign = [a.strip() for a in assign_with.split(",")]
            for _index, message in _unknown_methods(conf.assign):
                out.error(path, "job_conf.handlers.assign_with", message)
        conf.default = handlers.get("default")
        conf.default_key_path = "job_conf.handlers.default"
        for index, element in enumerate(handlers):
            handler_id = element.get("id")
            if not handler_id:
                out.error(path, f"job_conf.handlers.{element.tag}[{index}]", "handler without an id")
                continue
            conf.handlers.append(StaticHandler(handler_id, _split_tags(element.get("tags"))))
    plugins = root.find("plugins")
    runners = {el.get("id", ""): el.get("load", "") for el in (plugins if plugins is not None else [])
               if el.get("type", "runner") == "runner"}
    destinations = root.find("destinations")
    conf.local_environments = _local_environments(
        runners, {el.get("id", ""): el.get("runner", "") for el in (destinations if destinations is not None else [])})
    tools = root.find("tools")
    if tools is not None:
        for index, element in enumerate(tools.findall("tool")):
            handler = element.get("handler")
            if handler:
                tool_id = element.get("id") or f"#{index}"
                conf.tools.append(ToolMapping(tool_id, handler, f"job_conf.tools.tool[{tool_id}].handler"))
    return conf


def parse_mapping(data: Any, label: str, prefix: str, out: Collector) -> JobConfig:
    """Read the YAML form (a file or galaxy.job_config)."""
    conf = JobConfig(source=label, label=label)
    if data is None:
        return conf
    if not isinstance(data, dict):
        out.error(label, prefix or "(top)", "job configuration must be a mapping")
        return conf
    dot = f"{prefix}." if prefix else ""
    handling = data.get("handling") or {}
    if not isinstance(handling, dict):
        out.error(label, f"{dot}handling", "must be a mapping")
        handling = {}
    for key in handling:
        if key == "assign_with":
            out.error(label, f"{dot}handling.assign_with", "is the XML attribute (<handlers assign_with=...>): "
                      "Galaxy reads handling.assign (a list) in a YAML job configuration and ignores assign_with")
        elif key not in HANDLING_KEYS:
            out.error(label, f"{dot}handling.{key}", unknown_key(key, HANDLING_KEYS))
    assign = handling.get("assign", [])
    if not isinstance(assign, list) or not all(isinstance(a, str) for a in assign):
        # a string too: Galaxy reads it one character at a time and refuses to start
        out.error(label, f"{dot}handling.assign", f"must be a list of assignment methods, got {assign!r}")
        assign = []
    conf.assign = list(assign)
    for index, message in _unknown_methods(conf.assign):
        out.error(label, f"{dot}handling.assign.{index}", message)
    conf.default = handling.get("default")
    conf.default_key_path = f"{dot}handling.default"
    processes = handling.get("processes") or {}
    if not isinstance(processes, dict):
        out.error(label, f"{dot}handling.processes", "must be a mapping of handler ids to options")
        processes = {}
    for handler_id, options in processes.items():
        options = options or {}
        if not isinstance(options, dict):
            out.error(label, f"{dot}handling.processes.{handler_id}", "must be a mapping")
            continue
        environment = options.get("environment")
        if environment is not None and not (
                isinstance(environment, dict) and all(isinstance(v, str) for v in environment.values())):
            out.error(label, f"{dot}handling.processes.{handler_id}.environment",
                      "must be a mapping of variable names to strings")
            environment = None
        _check_handler_environment(environment, label, f"{dot}handling.processes.{handler_id}", out)
        conf.handlers.append(StaticHandler(str(handler_id), _split_tags(options.get("tags")), environment))
    runners = data.get("runners") or {}
    execution = data.get("execution") or {}
    environments = execution.get("environments") if isinstance(execution, dict) else None
    if runners or execution:  # neither: Galaxy's defaults, the local runner (kept from JobConfig)
        conf.local_environments = _local_environments(
            {str(k): v.get("load", "") for k, v in runners.items() if isinstance(v, dict)} if isinstance(runners, dict) else {},
            {str(k): str(v.get("runner", "")) for k, v in environments.items() if isinstance(v, dict)}
            if isinstance(environments, dict) else {})
    tools = data.get("tools") or []
    if not isinstance(tools, list):
        out.error(label, f"{dot}tools", "must be a list")
        tools = []
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("handler"):
            tool_id = str(tool.get("id") or f"#{index}")
            conf.tools.append(ToolMapping(tool_id, str(tool["handler"]), f"{dot}tools.{index}.handler"))
    return conf


def load_job_config(galaxy_section: dict, config_dir: str | None, galaxy_file: str, out: Collector) -> JobConfig:
    """Find and read the job configuration of one Galaxy instance."""
    label, content = locate(galaxy_section, config_dir, galaxy_file, out)
    if content is None:
        return JobConfig()
    if isinstance(content, dict):
        return parse_mapping(content, label, "galaxy.job_config", out)
    if content.endswith(".xml"):
        return _parse_xml(content, out)
    if content.endswith((".yml", ".yaml")):
        before = len(out.problems)
        data = read_yaml(content, out, "job configuration")
        if data is None and len(out.problems) > before:
            return JobConfig()
        return parse_mapping(data, content, "", out)
    out.error(galaxy_file, "galaxy.job_config_file", f"unknown job configuration file type: {content}")
    return JobConfig()
