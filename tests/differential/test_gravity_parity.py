"""Differential test: the cluster plan of a one-host inventory against Gravity 1.2.4.

For every case of ``cases/`` Gravity is run once (``conftest.gravity``) with
``process_manager: systemd``, in two command styles. The plan of an inventory whose only host
``h1`` is in every group must give:

- the unit files of Gravity's default style (the case's own settings, so template units
  ``NAME@.service`` for a service with several processes): the same file names, template or not,
  descriptions, and the same instances started from each (``NAME@0.service``, ...), each running
  the argv and environment ``galaxyctl exec -n -i N`` gives for that instance;
- the processes of Gravity's direct style (``service_command_style: direct``: every process its
  own unit, its real command in ExecStart), matched by server name: the same argv and
  environment as ``galaxyctl exec -n``, and the same unit settings (user, group, working
  directory, umask, timeouts, memory limits, reload), each process its own.

Cases marked ``expect: divergence`` are the deliberate divergences of docs/gravity-divergences.md:
each has its own assertion below, showing what Gravity does and what the plan does instead.
Cases marked ``expect: error`` are configurations both must reject.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest

from gravity_oracle import load_cases

try:
    from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import PlanError
    from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan
except ImportError as exc:  # the core is developed in parallel; only the comparisons need it
    build_plan = None
    PlanError = Exception
    CORE_MISSING = f"plugins/module_utils/plan.py has no build_plan yet ({exc})"
else:
    CORE_MISSING = ""

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gravity-divergences.md"
ONE_HOST = {
    "groups": {"galaxy_web": ["h1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["h1"], "galaxy_proxy": ["h1"]},
    "hostvars": {"h1": {}},
}
CASES = load_cases()
PARITY = [c.name for c in CASES if c.expect == "parity"]
DIVERGENCE = [c.name for c in CASES if c.expect == "divergence"]
ERRORS = [c.name for c in CASES if c.expect == "error"]
SETTING_FIELDS = ("user", "group", "working_directory", "umask", "start_timeout", "stop_timeout",
                  "memory_limit", "memory_high", "reload")

needs_core = pytest.mark.skipif(build_plan is None, reason=CORE_MISSING or "core present")


# ---------------------------------------------------------------------------- helpers
def plan_for(case, **options: Any) -> dict:
    """The plan of the one-host inventory, files placed where Gravity saw them."""
    opts = {"galaxy_config_path": str(case.config)}
    opts.update(case.plan_options)
    opts.update(options)
    return build_plan(galaxy_config_file=str(case.config), galaxy_config=None,
                      inventory=ONE_HOST, options=opts)


def plan_error(case, **options: Any) -> PlanError:
    with pytest.raises(PlanError) as caught:
        plan_for(case, **options)
    return caught.value


def _memory(value: Any) -> str | None:
    """Gravity's MemoryMax/MemoryHigh value for a number of GB."""
    if value in (None, 0, ""):
        return None
    number = float(value)
    return f"{int(number) if number.is_integer() else number}G"


def server_name_of(argv: list[str], service: str) -> str:
    """What Galaxy calls the process: --server-name for handlers, else Gravity's service name."""
    for arg in argv:
        if arg.startswith("--server-name="):
            return arg.split("=", 1)[1]
    return service


def _instance_number(unit: str) -> int | None:
    """N of NAME@N.service, None for a unit that is no template instance."""
    stem = unit[: -len(".service")]
    return int(stem.rsplit("@", 1)[1]) if "@" in stem else None


def gravity_unit_files(result: dict) -> dict[str, dict]:
    """Gravity's unit files in its default command style (the case's own settings), in the plan's
    shape: file -> template, description and the units started from it (NAME@0.service, ...),
    each with the argv and environment `galaxyctl exec -n [-i N]` gives for it."""
    outcome = result["runs"]["default"]
    assert outcome["error"] is None, f"Gravity failed: {outcome['error']}"
    execs = result["exec"]["default"]
    wanted = [u for wants in outcome["targets"].values() for u in wants]
    files: dict[str, dict] = {}
    for unit_file, fields in outcome["units"].items():
        template = unit_file.endswith("@.service")
        stem = unit_file[: -len("@.service")] if template else unit_file[: -len(".service")]
        names = sorted((u for u in wanted if (u.startswith(stem + "@") if template else u == unit_file)),
                       key=lambda u: _instance_number(u) or 0)
        instances = []
        for name in names:
            ran = execs[name]
            assert ran["error"] is None and ran["argv"], f"galaxyctl exec failed for {name}: {ran}"
            instances.append({"unit": name, "index": _instance_number(name), "argv": ran["argv"],
                              "environment": ran["environment"]})
        files[unit_file] = {"template": template, "description": fields["description"], "instances": instances}
    return files


def gravity_processes(result: dict) -> dict[tuple[str, str], dict]:
    """Gravity's processes in its direct command style (one unit per process, the real command in
    ExecStart), by (target, server name): argv and environment from `galaxyctl exec -n`, settings
    from the unit."""
    outcome = result["runs"]["direct"]
    assert outcome["error"] is None, f"Gravity failed: {outcome['error']}"
    execs = result["exec"]["direct"]
    processes: dict[tuple[str, str], dict] = {}
    for unit_file, fields in outcome["units"].items():
        assert not unit_file.endswith("@.service"), f"a template in Gravity's direct style: {unit_file}"
        ran = execs[unit_file]
        assert ran["error"] is None and ran["argv"], f"galaxyctl exec failed for {unit_file}: {ran}"
        name = (fields["part_of"], server_name_of(ran["argv"], ran["service"]))
        assert name not in processes, f"two Gravity processes named {name}"
        processes[name] = {
            "argv": ran["argv"],
            "environment": ran["environment"],
            "exec_start": fields["argv"],
            "user": fields["user"],
            "group": fields["group"],
            "working_directory": fields["working_directory"],
            "umask": fields["umask"],
            "start_timeout": int(fields["start_timeout"]),
            "stop_timeout": int(fields["stop_timeout"]),
            "memory_limit": fields["memory_max"],
            "memory_high": fields["memory_high"],
            "reload": "hup" if fields["exec_reload"] else None,
        }
    return processes


def our_unit_files(plan: dict, host: str = "h1") -> dict[str, dict]:
    files: dict[str, dict] = {}
    for unit_file, unit in plan["hosts"][host]["units"].items():
        files[unit_file] = {
            "template": unit["template"],
            "description": unit["description"],
            "instances": [{"unit": p["unit"], "index": p["index"], "argv": list(p["argv"]),
                           "environment": dict(p["environment"])} for p in unit["instances"]],
        }
    return files


def our_processes(plan: dict, host: str = "h1") -> dict[tuple[str, str], dict]:
    processes: dict[tuple[str, str], dict] = {}
    for unit in plan["hosts"][host]["units"].values():
        for proc in unit["instances"]:
            name = (unit["target"], proc["server_name"])
            assert name not in processes, f"two planned processes named {name}"
            processes[name] = {
                "argv": list(proc["argv"]),
                "environment": dict(proc["environment"]),
                "user": proc["user"],
                "group": proc["group"],
                "working_directory": proc["working_directory"],
                "umask": proc["umask"],
                "start_timeout": proc["start_timeout"],
                "stop_timeout": proc["stop_timeout"],
                "memory_limit": _memory(proc["memory_limit"]),
                "memory_high": _memory(proc["memory_high"]),
                "reload": proc["reload"],
            }
    return processes


def unit_differences(plan: dict, result: dict) -> list[str]:
    """Unit files against Gravity's default command style: names, template or not, description,
    the instances started from each (names, so their number and index) and, per instance, the
    argv and environment Gravity runs for that instance (so instance N is the same process)."""
    ours, theirs = our_unit_files(plan), gravity_unit_files(result)
    found = []
    if set(ours) != set(theirs):
        found.append(f"unit files: ours only {sorted(set(ours) - set(theirs))}, "
                     f"gravity only {sorted(set(theirs) - set(ours))}")
    for unit_file in sorted(set(ours) & set(theirs)):
        mine, other = ours[unit_file], theirs[unit_file]
        for field in ("template", "description"):
            if mine[field] != other[field]:
                found.append(f"{unit_file} {field}: ours={mine[field]!r} gravity={other[field]!r}")
        names = ([i["unit"] for i in mine["instances"]], [i["unit"] for i in other["instances"]])
        if names[0] != names[1]:
            found.append(f"{unit_file} instances: ours={names[0]} gravity={names[1]}")
            continue
        for a, b in zip(mine["instances"], other["instances"]):
            for field in ("index", "argv", "environment"):
                if a[field] != b[field]:
                    found.append(f"{a['unit']} {field}: ours={a[field]!r} gravity={b[field]!r}")
    return found


def process_differences(plan: dict, result: dict) -> list[str]:
    """Processes against Gravity's direct command style, by target and server name: argv, environment and
    every unit setting (user, group, working directory, umask, timeouts, memory, reload)."""
    ours, theirs = our_processes(plan), gravity_processes(result)
    found = []
    if set(ours) != set(theirs):
        found.append(f"server names: ours only {sorted(set(ours) - set(theirs))}, "
                     f"gravity only {sorted(set(theirs) - set(ours))}")
    for name in sorted(set(ours) & set(theirs)):
        for field in ("argv", "environment") + SETTING_FIELDS:
            if ours[name][field] != theirs[name][field]:
                found.append(f"{name} {field}: ours={ours[name][field]!r} gravity={theirs[name][field]!r}")
    return found


def differences(plan: dict, result: dict) -> list[str]:
    return unit_differences(plan, result) + process_differences(plan, result)


def has_problem(error: PlanError, key_pattern: str, message_pattern: str = "") -> bool:
    for problem in getattr(error, "problems", []):
        if re.search(key_pattern, problem.key_path) and re.search(message_pattern, problem.message, re.I):
            return True
    return False


def describe(error: PlanError) -> str:
    return "\n".join(f"  {p.key_path}: {p.message}" for p in getattr(error, "problems", [])) or str(error)


# ---------------------------------------------------------------------------- the corpus
def test_corpus_is_large_enough():
    assert len(PARITY) >= 25, f"only {len(PARITY)} parity cases"
    for case in CASES:
        assert case.description and case.source, case.name
        assert case.config.is_file(), case.name
        assert case.expect in ("parity", "divergence", "error"), case.name


def test_every_divergence_is_documented():
    text = DOCS.read_text()
    anchors = set(re.findall(r"^## .*\{#([a-z0-9-]+)\}\s*$", text, re.M))
    used = {c.divergence for c in CASES if c.expect == "divergence"}
    assert None not in used, "a divergence case without its divergence id"
    assert used <= anchors, f"undocumented divergences: {sorted(used - anchors)}"
    assert anchors <= used | set(DOCUMENTED_WITHOUT_CASE), \
        f"documented divergences without a case: {sorted(anchors - used - set(DOCUMENTED_WITHOUT_CASE))}"
    assert set(DIVERGENCE_CHECKS) == used, "every divergence id needs its assertion in DIVERGENCE_CHECKS"


def test_oracle_is_gravity_1_2_4(gravity):
    assert {r["gravity_version"] for r in gravity.values()} == {"1.2.4"}


@pytest.mark.parametrize("name", PARITY)
def test_gravity_accepts_parity_case(name, gravity):
    """The oracle itself: Gravity plans the case in both styles and `galaxyctl exec -n` answers for
    every unit; both styles run the same processes."""
    files = gravity_unit_files(gravity[name])
    processes = gravity_processes(gravity[name])
    assert files and processes, "Gravity planned no unit"
    # exec -n and the direct unit file agree on the command (the oracle reads Gravity consistently)
    for server_name, proc in processes.items():
        assert proc["exec_start"] == proc["argv"], server_name
    started = sorted(i["argv"] for f in files.values() for i in f["instances"])
    assert started == sorted(p["argv"] for p in processes.values())


@needs_core
@pytest.mark.parametrize("name", PARITY)
def test_plan_equals_gravity(name, cases, gravity):
    found = differences(plan_for(cases[name]), gravity[name])
    assert not found, f"{name}: {len(found)} difference(s) from Gravity 1.2.4:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("name", ERRORS)
def test_gravity_rejects_error_case(name, gravity):
    assert gravity[name]["runs"]["direct"]["error"] is not None


@needs_core
@pytest.mark.parametrize("name", ERRORS)
def test_plan_rejects_error_case(name, cases):
    key = {
        "error_gunicorn_workers_zero": r"gunicorn\.workers",
        "error_celery_pool_unknown": r"celery\.pool",
        "error_reports_config_missing": r"reports",
        "error_tusd_without_infrastructure_url": r"tusd|galaxy_infrastructure_url",
        "error_gx_it_proxy_without_interactivetools": r"gx_it_proxy|interactivetools_enable",
    }[name]
    error = plan_error(cases[name])
    assert has_problem(error, key), f"no problem under {key!r}:\n{describe(error)}"


# ---------------------------------------------------------------------------- divergences
def _check_per_instance_settings(case, result):
    """Gravity's default style writes one template unit for the three gunicorns, so instances 1
    and 2 run with instance 0's timeouts, memory and umask (their own values are lost; only its
    direct style keeps them). The plan has the same template unit and instances, and keeps each
    instance's own values (the roles write them into per-instance drop-ins)."""
    template = result["runs"]["default"]["units"]["galaxy-gunicorn@.service"]
    assert (template["start_timeout"], template["stop_timeout"], template["memory_max"], template["umask"]) \
        == ("20", "65", "4G", "022"), "Gravity's template no longer takes instance 0's values"
    direct = gravity_processes(result)
    second = direct[("galaxy.target", "gunicorn1")]
    assert (second["start_timeout"], second["memory_limit"]) == (40, "6G")
    plan = plan_for(case)
    assert not differences(plan, result)
    unit = plan["hosts"]["h1"]["units"]["galaxy-gunicorn@.service"]
    assert unit["template"] and [p["index"] for p in unit["instances"]] == [0, 1, 2]
    first, second, third = unit["instances"]
    assert (first["start_timeout"], first["stop_timeout"], first["memory_limit"]) == (20, 65, 4)
    assert (second["unit"], second["start_timeout"], second["stop_timeout"], second["memory_limit"]) \
        == ("galaxy-gunicorn@1.service", 40, 100, 6)
    assert (third["unit"], third["umask"]) == ("galaxy-gunicorn@2.service", "027")


def _handler_rejected(key: str) -> Callable:
    def check(case, result):
        error = result["runs"]["default"]["error"]
        assert error is not None and error["kind"] == "traceback", \
            f"Gravity no longer crashes here: {error}"
        problem = plan_error(case)
        assert has_problem(problem, rf"gravity\.handlers\.handler\.{key}$"), describe(problem)
    check.__doc__ = (f"Gravity crashes with a Python traceback (its direct style may instead drop the handlers "
                     f"silently); the plan names gravity.handlers.handler.{key}.")
    return check


def _check_numeric_memory(case, result):
    """Gravity crashes on an integer handler memory_limit (int has no is_integer before 3.12);
    the plan takes it as the number of GB it is."""
    error = result["runs"]["direct"]["error"]
    assert error is not None and "is_integer" in error["message"]
    ours = our_processes(plan_for(case))
    assert [p["memory_limit"] for (_t, n), p in sorted(ours.items()) if "handler" in n] == ["4G", "4G"]


def _check_template_host(case, result):
    """{host} is unknown to Gravity (KeyError); the plan substitutes the inventory hostname."""
    error = result["runs"]["direct"]["error"]
    assert error is not None and "host" in error["message"]
    plan = plan_for(case)
    names = sorted(n for (_t, n), p in our_processes(plan).items() if "--server-name" in " ".join(p["argv"]))
    assert names == ["handler_h1_0", "handler_h1_1"]
    unit = plan["hosts"]["h1"]["units"]["galaxy-handler@.service"]
    assert [(p["unit"], p["server_name"]) for p in unit["instances"]] == [
        ("galaxy-handler@0.service", "handler_h1_0"), ("galaxy-handler@1.service", "handler_h1_1")]


def _check_unique_names(case, result):
    """Gravity's default style starts two processes with one server name (its direct style
    instead overwrites one unit with the other: a configured process is lost); the plan refuses."""
    names = [child["server_name"] for service in result["catalogue"] if service["service_type"] == "standalone"
             for child in service["children"]]
    assert len(names) != len(set(names)), f"Gravity gave unique names: {names}"
    direct = [e for e in result["exec"]["direct"].values() if any(a.startswith("--server-name=") for a in e["argv"])]
    assert len(direct) < len(names), "Gravity's direct style kept every handler process"
    problem = plan_error(case)
    assert has_problem(problem, r"handl", r"unique|duplicate"), describe(problem)


def _check_dynamic_assign(case, result):
    """Gravity only warns that dynamic handlers will get no jobs; the plan refuses unless the
    user opts out, and then plans what Gravity does."""
    assert "not configured to assign jobs to handlers" in result["runs"]["direct"]["stderr"]
    problem = plan_error(case)
    assert has_problem(problem, r"handl|assign", r"db-skip-locked|db-transaction-isolation"), describe(problem)
    assert not differences(plan_for(case, allow_unassigned_dynamic_handlers=True), result)


def _check_missing_job_config(case, result):
    """A relative job_config_file that does not exist is ignored by Gravity; the plan refuses."""
    assert result["runs"]["direct"]["error"] is None
    problem = plan_error(case)
    assert has_problem(problem, r"job_config_file"), describe(problem)


def _check_unique_binds(case, result):
    """Gravity writes two gunicorns on one port (the second cannot start); the plan refuses."""
    theirs = gravity_unit_files(result)["galaxy-gunicorn@.service"]["instances"]
    assert [i["argv"][i["argv"].index("-b") + 1] for i in theirs] == ["127.0.0.1:8080", "127.0.0.1:8080"]
    problem = plan_error(case)
    assert has_problem(problem, r"gunicorn", r"bind|port|address|clash|same"), describe(problem)


def _check_tool_handler(case, result):
    """Gravity ignores tool mappings; a tool mapped to a tag no handler has never runs. The plan refuses."""
    assert result["runs"]["direct"]["error"] is None
    problem = plan_error(case)
    assert any("bigmem" in p.message or "bigmem" in p.key_path for p in problem.problems), describe(problem)


def _check_collection_defaults(case, result):
    """Without virtualenv and galaxy_user Gravity refuses systemd; the plan uses the collection's
    defaults (/srv/galaxy/venv, galaxy, /srv/galaxy/server), the same plan Gravity makes when
    given those values (case `defaults`)."""
    error = result["runs"]["direct"]["error"]
    assert error is not None and re.search(r"virtualenv|galaxy_user", error["message"])
    gunicorn = plan_for(case)["hosts"]["h1"]["units"]["galaxy-gunicorn.service"]["instances"][0]
    assert gunicorn["argv"][0] == "/srv/galaxy/venv/bin/gunicorn"
    assert (gunicorn["user"], gunicorn["working_directory"]) == ("galaxy", "/srv/galaxy/server")


REFUSED_KEY = {
    "div_refused_handler_key_typo": r"gravity\.handlers\.handler\.proceses",
    "div_refused_umask_not_octal": r"gravity\.gunicorn\.umask",
    "div_refused_bind_url": r"gravity\.gunicorn\.bind",
    "div_refused_pool_name": r"gravity\.handlers\.handler\.pools\.0",
    "div_refused_duplicate_key": r"gravity\.gunicorn",
    "div_refused_handler_server_name_env": r"gravity\.handlers\.handler\.environment\.GALAXY_CONFIG_SERVER_NAME",
    "div_refused_yaml_assign_with": r"handling\.assign_with",
    "div_refused_assign_method": r"handling\.assign\.0",
}


def _check_refused(case, result):
    """Gravity accepts the input without a word (and Galaxy, or the process, then misreads or
    ignores it); the plan refuses it, naming the key."""
    for style in ("default", "direct"):
        assert result["runs"][style]["error"] is None, f"Gravity now rejects {case.name}: {result['runs'][style]}"
    problem = plan_error(case)
    assert has_problem(problem, rf"^{REFUSED_KEY[case.name]}$"), describe(problem)


DIVERGENCE_CHECKS: dict[str, Callable] = {
    "per-instance-settings": _check_per_instance_settings,
    "handler-validation": None,  # set per case below (the key differs)
    "handler-numeric-memory": _check_numeric_memory,
    "name-template-host": _check_template_host,
    "unique-handler-names": _check_unique_names,
    "dynamic-needs-db-assign": _check_dynamic_assign,
    "missing-job-config-file": _check_missing_job_config,
    "unique-binds": _check_unique_binds,
    "tool-handler-exists": _check_tool_handler,
    "collection-defaults": _check_collection_defaults,
    "refused-misread-input": _check_refused,
}
HANDLER_VALIDATION_KEY = {
    "div_handler_processes_zero": "processes",
    "div_handler_processes_string": "processes",
    "div_handler_template_unknown_var": "name_template",
}
# Documented divergences that need no Gravity run of their own (asserted by other tests).
DOCUMENTED_WITHOUT_CASE: tuple[str, ...] = ()


@needs_core
@pytest.mark.parametrize("name", DIVERGENCE)
def test_divergence(name, cases, gravity):
    case = cases[name]
    if case.divergence == "handler-validation":
        check = _handler_rejected(HANDLER_VALIDATION_KEY[name])
    else:
        check = DIVERGENCE_CHECKS[case.divergence]
    check(case, gravity[name])


@needs_core
def test_unit_files_follow_default_style(cases, gravity):
    """Several processes of one service share a template unit, as in Gravity's default style,
    while each process keeps the command and settings of Gravity's direct style."""
    case = cases["gunicorn_list_2_sockets"]
    plan = plan_for(case)
    units = plan["hosts"]["h1"]["units"]
    assert set(gravity[case.name]["runs"]["default"]["units"]) == set(units)
    assert "galaxy-gunicorn@.service" in units and "galaxy-gunicorn0.service" not in units
    instances = units["galaxy-gunicorn@.service"]["instances"]
    assert [(p["index"], p["unit"], p["server_name"]) for p in instances] == [
        (0, "galaxy-gunicorn@0.service", "gunicorn0"), (1, "galaxy-gunicorn@1.service", "gunicorn1")]
    members = plan["instances"]["_default_"]["upstream"]["members"]
    assert [(m["unit"], m["index"]) for m in members] == [("galaxy-gunicorn@0.service", 0),
                                                          ("galaxy-gunicorn@1.service", 1)]
    assert not process_differences(plan, gravity[case.name])


@needs_core
def test_command_style_direct_names_units_per_process(cases, gravity):
    """A configuration that sets service_command_style: direct gets Gravity's names for it: one
    unit per process (galaxy-gunicorn0.service, galaxy-handler_0.service), no template."""
    case = cases["direct_style"]
    units = plan_for(case)["hosts"]["h1"]["units"]
    assert set(units) == set(gravity[case.name]["runs"]["default"]["units"])
    assert {"galaxy-gunicorn0.service", "galaxy-handler_1.service"} <= set(units)
    assert not any(u["template"] for u in units.values())
