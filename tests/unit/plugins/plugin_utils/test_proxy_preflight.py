"""Every proxy must take part in a rolling restart: the refusal names each one that cannot, and why."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.proxy_preflight import ProxyResult, problem, proxy_problems

HEALTHY = {"changed": False, "ok": True, "checks": {}}
PASSED = {"rc": 0, "cmd": ["nginx", "-t", "-q"], "stdout": "", "stderr": ""}


def test_every_proxy_passes():
    assert proxy_problems([ProxyResult("proxy1", True, HEALTHY, PASSED), ProxyResult("proxy2", True, HEALTHY, PASSED)]) is None


def test_an_unreachable_proxy_is_named_with_what_ssh_said():
    lost = {"unreachable": True, "changed": False,
            "msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host 10.77.0.11 port 22: No route to host"}
    msg = proxy_problems([ProxyResult("proxy1", True, HEALTHY, PASSED), ProxyResult("proxy2", False, lost, None)])
    assert msg.startswith("Rolling restart refused before anything restarted or left nginx: proxy2 is unreachable "
                          "(Failed to connect to the host via ssh: ssh: connect to host 10.77.0.11 port 22: No route to host).")
    assert "fix proxy2 (or remove a retired proxy" in msg
    assert "proxy1" not in msg


def test_a_proxy_lost_before_or_during_its_checks():
    assert problem(ProxyResult("proxy2", False, None, None)) == "proxy2 failed in the preflight (before its checks)"
    failed = {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr"}
    assert problem(ProxyResult("proxy2", False, failed, None)) == "proxy2 failed in the preflight (MODULE FAILURE See stdout/stderr)"


def test_an_nginx_configuration_that_does_not_pass_its_test():
    broken = {"rc": 1, "cmd": ["nginx", "-t", "-q"], "stdout": "",
              "stderr": 'nginx: [emerg] unknown directive "not_a_directive" in /etc/nginx/conf.d/other.conf:1\n'
                        "nginx: configuration file /etc/nginx/nginx.conf test failed\n"}
    msg = proxy_problems([ProxyResult("proxy1", True, HEALTHY, PASSED), ProxyResult("proxy2", True, HEALTHY, broken)])
    assert ("nginx's configuration on proxy2 does not pass `nginx -t -q` (nginx: [emerg] unknown directive "
            '"not_a_directive" in /etc/nginx/conf.d/other.conf:1 nginx: configuration file /etc/nginx/nginx.conf test failed)') in msg
    assert "fix proxy2 " in msg


def test_several_proxies_each_named_once():
    broken = {"rc": 1, "cmd": "nginx -t", "stdout": "bad", "stderr": ""}
    msg = proxy_problems([ProxyResult("proxy1", True, HEALTHY, broken),
                          ProxyResult("proxy2", False, {"unreachable": True, "msg": "timed out"}, None)])
    assert "nginx's configuration on proxy1 does not pass `nginx -t` (bad); proxy2 is unreachable (timed out)." in msg
    assert "fix proxy1, proxy2 " in msg


def test_a_skipped_test_or_one_lost_to_ssh_later():
    assert problem(ProxyResult("proxy1", True, HEALTHY, {"skipped": True})) is None
    assert problem(ProxyResult("proxy1", True, HEALTHY, {"unreachable": True, "msg": "reset"})) == "proxy1 is unreachable (reset)"
