"""Server blocks of the Galaxy instances nginx fronts: defaults, overrides, the checks."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.nginx_servers import ServersError, nginx_servers

GUNICORN = {"upstream": {"name": "g", "members": [{"host": "w", "unit": "u", "address": "a:1"}]}}


def plan(*names, empty=()):
    instances = {n: GUNICORN for n in names}
    instances.update({n: {"upstream": {"name": n, "members": []}} for n in empty})
    return {"version": 1, "instances": instances}


def test_one_instance_takes_the_defaults():
    assert nginx_servers(plan("b", empty=["a"]), {}, ["80", "[::]:80"], "galaxy.example.org") == {
        "b": {"listen": ["80", "[::]:80"], "server_name": "galaxy.example.org", "extra": "", "static_dir": ""}}


def test_several_instances_each_with_its_own_block():
    servers = {"two": {"server_name": "two.example.org"}, "one": {"listen": ["8080"], "extra": "gzip on;"}}
    assert nginx_servers(plan("two", "one"), servers, ["80"], "_") == {
        "one": {"listen": ["8080"], "server_name": "_", "extra": "gzip on;", "static_dir": ""},
        "two": {"listen": ["80"], "server_name": "two.example.org", "extra": "", "static_dir": ""},
    }


def test_static_dir_is_the_one_given_else_each_galaxy_root_static():
    rooted = {"version": 1, "instances": {"one": dict(GUNICORN, galaxy_root="/srv/one"),
                                          "two": dict(GUNICORN, galaxy_root="/srv/two")}}
    servers = {"one": {"listen": ["81"]}, "two": {"listen": ["82"]}}
    assert {n: s["static_dir"] for n, s in nginx_servers(rooted, servers, ["80"], "_").items()} == {
        "one": "/srv/one/static", "two": "/srv/two/static"}
    assert {n: s["static_dir"] for n, s in nginx_servers(rooted, servers, ["80"], "_", "/var/www/galaxy").items()} == {
        "one": "/var/www/galaxy", "two": "/var/www/galaxy"}


@pytest.mark.parametrize("servers, listen, message", [
    ({}, "80", "galaxy_nginx_listen: listen values are lists"),
    ({"one": {"listen": "80"}, "two": {}}, ["80"], "galaxy_nginx_servers.one: listen values are lists"),
    ({"nope": {}}, ["80"], "instances the plan does not have: nope"),
    ({"one": {"listen": ["81"]}}, ["80"], "each its own listen \\+ server_name \\(missing: two\\)"),
    ({"one": {}, "two": {"listen": ["80"]}}, ["80"], "share listen \\+ server_name 80\\|_"),
])
def test_refusals(servers, listen, message):
    with pytest.raises(ServersError, match=message):
        nginx_servers(plan("one", "two"), servers, listen, "_")
