"""Binds: parsing, health URLs, how the proxy reaches a gunicorn, and clashes on one host."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_model import Endpoint, Process
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan_network import (
    bind_clashes, clash, endpoint, instance_binds, join_host_port, local_health_url, parse_bind, service_address,
    upstream_reach)


def test_parse_bind_names_its_parts():
    bind = parse_bind("[::]:8080")
    assert (bind.kind, bind.where, bind.port) == ("tcp", "::", 8080)
    assert parse_bind("fd://3") == ("fd", "3", None)
    assert parse_bind("::1") == ("tcp", "::1", 8000)
    with pytest.raises(ValueError, match="invalid port '0'"):
        parse_bind("h:0")


def test_join_host_port_brackets_ipv6():
    assert join_host_port("::1", 80) == "[::1]:80"
    assert join_host_port("[::1]", 80) == "[::1]:80"
    assert join_host_port("h", 80) == "h:80"


def test_instance_binds_count_up_ports_and_number_sockets():
    assert instance_binds("0.0.0.0:8080", 3).binds == ["0.0.0.0:8080", "0.0.0.0:8081", "0.0.0.0:8082"]
    assert instance_binds(":8080", 2).binds == [":8080", ":8081"]
    assert instance_binds("unix:/run/g.sock", 2).binds == ["unix:/run/g-0.sock", "unix:/run/g-1.sock"]
    assert instance_binds("unix:/run/g", 2).binds == ["unix:/run/g-0", "unix:/run/g-1"]
    assert instance_binds("h:65535", 2).out_of_range == [65536]
    with pytest.raises(ValueError):
        instance_binds("h:x", 2)


def test_local_health_url_asks_a_wildcard_bind_on_loopback():
    assert local_health_url("0.0.0.0:8080", "") == "http://127.0.0.1:8080/api/version"
    assert local_health_url("[::]:8080", "/g") == "http://[::1]:8080/g/api/version"
    assert local_health_url("unix:/s", "") == {"socket": "/s", "path": "/api/version"}
    assert local_health_url("fd://3", "") is None
    assert local_health_url("h:x", "") is None


def test_upstream_reach_uses_the_host_address_for_a_wildcard():
    reach = upstream_reach("0.0.0.0:8080", "web1", "10.0.0.1", ["proxy"], "/g")
    assert (reach.address, reach.health_url, reach.problem) == (
        "10.0.0.1:8080", "http://10.0.0.1:8080/g/api/version", None)


def test_upstream_reach_refuses_loopback_and_sockets_from_another_host():
    reach = upstream_reach("localhost:8080", "web1", "10.0.0.1", ["web1", "proxy"], "")
    assert reach.address == "localhost:8080"
    assert reach.problem == ("localhost:8080 listens on the loopback interface only, so proxy host(s) proxy cannot "
                             "reach it: bind 0.0.0.0 or the host's address")
    assert upstream_reach("127.0.0.2:80", "web1", "web1", ["web1"], "").problem is None
    reach = upstream_reach("unix:/s", "web1", "web1", ["p1", "p2"], "")
    assert reach.address == "unix:/s" and "proxy host(s) p1, p2" in reach.problem
    assert upstream_reach("fd://3", "web1", "web1", [], "").problem.startswith("fd://3: file descriptor")
    assert upstream_reach("h:x", "web1", "web1", ["p"], "").address is None


def test_service_address():
    assert service_address("0.0.0.0:1080", "10.0.0.1") == "10.0.0.1:1080"
    assert service_address("localhost:1080", "10.0.0.1") == "localhost:1080"
    assert service_address("unix:/s", "h") == "unix:/s"
    assert service_address("fd://1", "h") is None


def test_endpoints_clash_on_the_same_port_of_the_same_or_a_wildcard_address():
    assert endpoint("localhost:80") == Endpoint("tcp", "127.0.0.1", 80)
    assert endpoint("unix:/run//g.sock") == Endpoint("unix", "/run/g.sock")
    assert endpoint("fd://3") is None
    assert clash(endpoint("0.0.0.0:80"), endpoint("10.0.0.1:80"))
    assert clash(endpoint("localhost:80"), endpoint("127.0.0.1:80"))
    assert not clash(endpoint("10.0.0.2:80"), endpoint("10.0.0.1:80"))
    assert not clash(endpoint("0.0.0.0:80"), endpoint("0.0.0.0:81"))
    assert clash(endpoint("unix:/a"), endpoint("unix:/a")) and not clash(endpoint("unix:/a"), endpoint("unix:/b"))


def _proc(unit, bind):
    proc = Process(unit, [], "", {}, "/", None, None, None, 0, 0, None, None, None, None, None, bind, unit=unit)
    proc.endpoint = endpoint(bind) if bind else None
    return proc


def test_bind_clashes_names_the_first_holder():
    procs = [_proc("a", "0.0.0.0:80"), _proc("b", None), _proc("c", "10.0.0.1:80"), _proc("d", "localhost:80")]
    assert [(c.process.unit, c.message) for c in bind_clashes(procs)] == [
        ("c", "c binds 10.0.0.1:80, which a already binds (0.0.0.0:80)"),
        ("d", "d binds localhost:80, which a already binds (0.0.0.0:80)")]
