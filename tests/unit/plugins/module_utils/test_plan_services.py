"""The services' helpers: ExecStart quoting, memory values, gunicorn's control socket, app config."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_services import (
    app_config, exec_start, gigabytes, no_control_socket, systemd_quote, version_tuple)


def test_systemd_quote_escapes_specifiers_and_quotes_spaces():
    assert systemd_quote("plain") == "plain"
    assert systemd_quote("100%") == "100%%"
    assert systemd_quote("$HOME") == "$$HOME"
    assert systemd_quote("a b") == '"a b"'
    assert systemd_quote('say "hi"') == '"say \\"hi\\""'
    assert systemd_quote("") == '""'
    assert exec_start(["gunicorn", "factory()", "--x", "a b"]) == 'gunicorn factory() --x "a b"'


def test_gigabytes():
    assert gigabytes(None) is None and gigabytes(0) is None
    assert gigabytes(3.0) == 3 and isinstance(gigabytes(3.0), int)
    assert gigabytes(2.5) == 2.5


def test_no_control_socket_from_gunicorn_25_1():
    assert version_tuple("25.1.0rc1") == (25, 1, 0)
    assert version_tuple("x") == ()
    assert no_control_socket("25.1.0") and no_control_socket("26")
    assert not no_control_socket("25.0.9") and not no_control_socket(None) and not no_control_socket("")


def test_app_config_keeps_what_the_services_use():
    assert app_config({"galaxy_infrastructure_url": "http://g/", "galaxy_url_prefix": "/g", "other": 1}) == {
        "galaxy_infrastructure_url": "http://g", "interactivetools_enable": None, "galaxy_url_prefix": "/g"}
