"""Unit names as Gravity gives them, and the names of dynamic handlers."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_naming import (
    dynamic_name_template, host_variable, instance_names, unit_names, uses_service_instances, valid_name)

GRAVITY_STYLE = {"use_service_instances": True, "service_command_style": "gravity"}


def test_default_instance_is_left_out_of_names():
    names = instance_names("_default_", False)
    assert (names.unit_prefix, names.target, names.upstream_name) == ("galaxy", "galaxy.target", "galaxy")
    assert names.description("gunicorn") == "Galaxy gunicorn"
    assert names.description("gunicorn", template=True) == "Galaxy gunicorn (process %i)"


def test_named_instance_is_in_unit_target_and_upstream_names():
    names = instance_names("main.eu-1", True)
    assert (names.unit_prefix, names.target, names.upstream_name) == (
        "galaxy-main.eu-1", "galaxy-main.eu-1.target", "galaxy_main_eu_1")
    assert names.description("celery") == "Galaxy main.eu-1 celery"


def test_a_list_of_several_processes_shares_a_template_unit():
    names = unit_names("galaxy", "gunicorn", ["gunicorn0", "gunicorn2"], True, True)
    assert [(n.unit, n.unit_file, n.service_name, n.index) for n in names] == [
        ("galaxy-gunicorn@0.service", "galaxy-gunicorn@.service", "gunicorn", 0),
        ("galaxy-gunicorn@1.service", "galaxy-gunicorn@.service", "gunicorn", 1)]


def test_a_list_of_one_and_a_single_service_get_a_plain_unit():
    for as_list in (True, False):
        (name,) = unit_names("galaxy", "gunicorn", ["gunicorn1"], as_list, True)
        assert (name.unit, name.unit_file, name.index, name.problem) == (
            "galaxy-gunicorn.service", "galaxy-gunicorn.service", None, None)


def test_without_service_instances_every_process_of_a_list_has_its_own_unit():
    assert not uses_service_instances({"use_service_instances": True, "service_command_style": "direct"})
    assert not uses_service_instances({"use_service_instances": False, "service_command_style": "gravity"})
    assert uses_service_instances(GRAVITY_STYLE)
    names = unit_names("galaxy", "handler", ["handler_0", "handler_1"], True, False)
    assert [(n.unit, n.service_name, n.index) for n in names] == [
        ("galaxy-handler_0.service", "handler_0", None), ("galaxy-handler_1.service", "handler_1", None)]


def test_a_name_systemd_refuses_is_a_problem():
    (name,) = unit_names("galaxy", "main handler", ["main handler"], False, True)
    assert name.problem == "'galaxy-main handler.service' is not a valid systemd unit name"
    (name,) = unit_names("galaxy", "x@y", ["x@y"], False, True)
    assert name.problem == "'galaxy-x@y.service' is not a valid systemd unit name"


def test_dynamic_name_template():
    assert dynamic_name_template("handler", 2, None, False) == "{name}_{process}"
    assert dynamic_name_template("handler", 2, None, True) == "{name}_{host}_{process}"
    # a key ending in a digit with one process is the server name itself, unless it runs on several hosts
    assert dynamic_name_template("handler0", 1, None, False) is None
    assert dynamic_name_template("handler0", 1, None, True) == "{name}_{host}_{process}"
    assert dynamic_name_template("handler0", 2, None, False) == "{name}_{process}"
    assert dynamic_name_template("h", 1, " {name}-{process}\n", False) == "{name}-{process}"


def test_host_variable_and_valid_names():
    assert host_variable("web-1.example.org") == "web-1_example_org"
    assert valid_name("handler_0.a-b") and not valid_name("handler 0") and not valid_name("")
