"""Differential test: the cluster plan of a one-host inventory against Gravity 1.2.4.

For every case of ``cases/`` Gravity is run once (``conftest.gravity``) with
``process_manager: systemd`` and ``service_command_style: direct``, the style the plan follows
(every process its own unit, its real command in ExecStart). The plan of an inventory whose only
host ``h1`` is in every group must give the same unit file names, instance counts, server names,
argv and environment, and the same unit settings (user, group, working directory, umask,
timeouts, memory limits, reload).

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


def gravity_units(result: dict, run: str = "direct") -> dict[str, dict]:
    """Gravity's units of one run, in the plan's shape: unit file -> instances with their fields."""
    outcome = result["runs"][run]
    assert outcome["error"] is None, f"Gravity failed: {outcome['error']}"
    execs = result["exec"][run]
    wanted = [u for wants in outcome["targets"].values() for u in wants]
    units: dict[str, dict] = {}
    for unit_file, fields in outcome["units"].items():
        template = unit_file.endswith("@.service")
        stem = unit_file[: -len("@.service")] if template else unit_file[: -len(".service")]
        names = [u for u in wanted if (u.startswith(stem + "@") if template else u == unit_file)]
        instances = []
        for name in sorted(names, key=lambda u: int(u.rsplit("@", 1)[1][:-8]) if template else 0):
            ran = execs[name]
            assert ran["error"] is None and ran["argv"], f"galaxyctl exec failed for {name}: {ran}"
            instances.append({
                "index": int(name.rsplit("@", 1)[1][:-len(".service")]) if template else None,
                "unit": name,
                "server_name": server_name_of(ran["argv"], ran["service"]),
                "argv": ran["argv"],
                "environment": ran["environment"],
                "user": fields["user"],
                "group": fields["group"],
                "working_directory": fields["working_directory"],
                "umask": fields["umask"],
                "start_timeout": int(fields["start_timeout"]),
                "stop_timeout": int(fields["stop_timeout"]),
                "memory_limit": fields["memory_max"],
                "memory_high": fields["memory_high"],
                "reload": "hup" if fields["exec_reload"] else None,
            })
        units[unit_file] = {"template": template, "instances": instances, "exec_start": fields["argv"]}
    return units


def our_units(plan: dict, host: str = "h1") -> dict[str, dict]:
    units: dict[str, dict] = {}
    for unit_file, unit in plan["hosts"][host]["units"].items():
        instances = []
        for proc in unit["instances"]:
            instances.append({
                "index": proc.get("index"),
                "unit": proc.get("unit"),
                "server_name": proc.get("server_name"),
                "argv": list(proc.get("argv") or []),
                "environment": dict(proc.get("environment") or {}),
                "user": proc.get("user"),
                "group": proc.get("group"),
                "working_directory": proc.get("working_directory"),
                "umask": proc.get("umask"),
                "start_timeout": proc.get("start_timeout"),
                "stop_timeout": proc.get("stop_timeout"),
                "memory_limit": _memory(proc.get("memory_limit")),
                "memory_high": _memory(proc.get("memory_high")),
                "reload": proc.get("reload"),
            })
        units[unit_file] = {"template": bool(unit.get("template")), "instances": instances}
    return units


def differences(ours: dict[str, dict], theirs: dict[str, dict]) -> list[str]:
    """Every field that differs, as 'unit [index] field: ours=... gravity=...'."""
    found = []
    if set(ours) != set(theirs):
        found.append(f"unit files: ours only {sorted(set(ours) - set(theirs))}, "
                     f"gravity only {sorted(set(theirs) - set(ours))}")
    for unit_file in sorted(set(ours) & set(theirs)):
        mine, other = ours[unit_file], theirs[unit_file]
        if mine["template"] != other["template"]:
            found.append(f"{unit_file} template: ours={mine['template']} gravity={other['template']}")
        if len(mine["instances"]) != len(other["instances"]):
            found.append(f"{unit_file} instance count: ours={len(mine['instances'])} "
                         f"gravity={len(other['instances'])}")
        for position, (a, b) in enumerate(zip(mine["instances"], other["instances"])):
            for field in ("index", "unit", "server_name", "argv", "environment") + SETTING_FIELDS:
                if a[field] != b[field]:
                    found.append(f"{unit_file} [{position}] {field}: ours={a[field]!r} gravity={b[field]!r}")
    return found


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
    """The oracle itself: Gravity plans the case and `galaxyctl exec -n` answers for every unit."""
    units = gravity_units(gravity[name])
    assert units, "Gravity planned no unit"
    # exec -n and the unit file agree on the command (the oracle reads Gravity consistently)
    for unit_file, unit in units.items():
        if not unit["template"]:
            assert unit["exec_start"] == unit["instances"][0]["argv"], unit_file


@needs_core
@pytest.mark.parametrize("name", PARITY)
def test_plan_equals_gravity(name, cases, gravity):
    case = cases[name]
    ours = our_units(plan_for(case))
    theirs = gravity_units(gravity[name])
    found = differences(ours, theirs)
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
    """Gravity's default style writes one template unit: instances 1.. get instance 0's
    timeouts and memory. The plan keeps each gunicorn's own, as Gravity's direct style does."""
    template = result["runs"]["default"]["units"]["galaxy-gunicorn@.service"]
    assert (template["start_timeout"], template["memory_max"]) == ("20", "4G")
    ours = our_units(plan_for(case))
    theirs = gravity_units(result)
    assert not differences(ours, theirs)
    second = ours["galaxy-gunicorn1.service"]["instances"][0]
    assert (second["start_timeout"], second["stop_timeout"], second["memory_limit"]) == (40, 100, "6G")
    assert ours["galaxy-gunicorn2.service"]["instances"][0]["umask"] == "027"


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
    ours = our_units(plan_for(case))
    assert [u["instances"][0]["memory_limit"] for n, u in sorted(ours.items()) if "handler" in n] == ["4G", "4G"]


def _check_template_host(case, result):
    """{host} is unknown to Gravity (KeyError); the plan substitutes the inventory hostname."""
    error = result["runs"]["direct"]["error"]
    assert error is not None and "host" in error["message"]
    ours = our_units(plan_for(case))
    names = sorted(i["server_name"] for u in ours.values() for i in u["instances"] if "--server-name" in " ".join(i["argv"]))
    assert names == ["handler_h1_0", "handler_h1_1"]


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
    ours = our_units(plan_for(case, allow_unassigned_dynamic_handlers=True))
    assert not differences(ours, gravity_units(result))


def _check_missing_job_config(case, result):
    """A relative job_config_file that does not exist is ignored by Gravity; the plan refuses."""
    assert result["runs"]["direct"]["error"] is None
    problem = plan_error(case)
    assert has_problem(problem, r"job_config_file"), describe(problem)


def _check_unique_binds(case, result):
    """Gravity writes two gunicorns on one port (the second cannot start); the plan refuses."""
    theirs = gravity_units(result)
    binds = [i["argv"][i["argv"].index("-b") + 1] for n, u in theirs.items() if "gunicorn" in n for i in u["instances"]]
    assert binds == ["127.0.0.1:8080", "127.0.0.1:8080"]
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
    ours = our_units(plan_for(case))
    gunicorn = ours["galaxy-gunicorn.service"]["instances"][0]
    assert gunicorn["argv"][0] == "/srv/galaxy/venv/bin/gunicorn"
    assert (gunicorn["user"], gunicorn["working_directory"]) == ("galaxy", "/srv/galaxy/server")


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
}
HANDLER_VALIDATION_KEY = {
    "div_handler_processes_zero": "processes",
    "div_handler_processes_string": "processes",
    "div_handler_template_unknown_var": "name_template",
}
# Documented divergences that need no Gravity run of their own (asserted by other tests).
DOCUMENTED_WITHOUT_CASE = ("unit-naming",)


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
def test_unit_naming_follows_direct_style(cases, gravity):
    """Gravity's default command style names several processes of one service as a template
    (galaxy-gunicorn@.service, instances @0, @1); the plan always follows the direct style
    (galaxy-gunicorn0.service, galaxy-gunicorn1.service) because the hosts run the commands
    themselves, without galaxyctl. Everything else is equal (test_plan_equals_gravity)."""
    case = cases["gunicorn_list_2_sockets"]
    default_units = set(gravity[case.name]["runs"]["default"]["units"])
    assert "galaxy-gunicorn@.service" in default_units
    ours = set(our_units(plan_for(case)))
    assert {"galaxy-gunicorn0.service", "galaxy-gunicorn1.service"} <= ours
    assert "galaxy-gunicorn@.service" not in ours
