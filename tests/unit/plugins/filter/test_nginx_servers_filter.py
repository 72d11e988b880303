"""The nginx_servers filter: the plugin_utils function, its errors as filter errors."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.galaxyops.fleet.plugins.filter.nginx_servers import FilterModule

PLAN = {"version": 1, "instances": {"one": {"upstream": {"name": "g", "members": [{"host": "w", "unit": "u", "address": "a:1"}]}}}}


def test_filter_maps_errors():
    flt = FilterModule().filters()["nginx_servers"]
    assert flt(PLAN) == {"one": {"listen": ["80"], "server_name": "_", "extra": "", "static_dir": ""}}
    assert flt(PLAN, static_dir="/srv/static")["one"]["static_dir"] == "/srv/static"
    with pytest.raises(AnsibleFilterError, match="does not have: x"):
        flt(PLAN, servers={"x": {}})
