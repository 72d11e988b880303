"""The restart_proxy_problems filter: reads each proxy's registered results from hostvars."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.filter.restart_proxy_problems import FilterModule


def test_filter_reads_hostvars():
    flt = FilterModule().filters()["restart_proxy_problems"]
    ok = {"__galaxy_restart_preflight": {"checks": {}}, "__galaxy_restart_nginx_test": {"rc": 0}}
    assert flt(["proxy1"], {"proxy1": ok}, ["proxy1"]) == ""
    lost = {"__galaxy_restart_preflight": {"unreachable": True, "msg": "No route to host"}}
    msg = flt(["proxy1", "proxy2"], {"proxy1": ok, "proxy2": lost}, ["proxy1"])
    assert "proxy2 is unreachable (No route to host)" in msg
    assert "failed in the preflight (before its checks)" in flt(["proxy3"], {}, [])
