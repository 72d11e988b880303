"""nginx_serving: what counts as a site nginx serves, and when a new sandbox may restart nginx."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import nginx_serving as ns

CONFFILES = """ /etc/nginx/sites-available/default 8d3f0ae2b4b2c1fd0b2f1a1b4f4a8a11
 /etc/nginx/nginx.conf 0123456789abcdef0123456789abcdef
 /etc/nginx/snippets/old.conf ffffffffffffffffffffffffffffffff obsolete
"""


def test_shipped_sums_read_dpkg_conffiles_obsolete_included():
    sums = ns.shipped_sums(CONFFILES)
    assert sums["/etc/nginx/sites-available/default"] == "8d3f0ae2b4b2c1fd0b2f1a1b4f4a8a11"
    assert set(sums) == {"/etc/nginx/sites-available/default", "/etc/nginx/nginx.conf", "/etc/nginx/snippets/old.conf"}
    assert ns.shipped_sums("") == {}


def test_a_link_to_the_untouched_default_site_is_shipped_an_edited_one_is_not():
    sums = ns.shipped_sums(CONFFILES)
    untouched = ns.site("/etc/nginx/sites-enabled/default", "/etc/nginx/sites-available/default",
                        "8d3f0ae2b4b2c1fd0b2f1a1b4f4a8a11", sums)
    edited = ns.site("/etc/nginx/sites-enabled/default", "/etc/nginx/sites-enabled/default", "00" * 16, sums)
    dangling = ns.site("/etc/nginx/sites-enabled/gone", "/etc/nginx/sites-available/gone", "", sums)
    assert untouched.shipped and not edited.shipped and not dangling.shipped


def sites(*paths_shipped):
    return [ns.Site(path=p, shipped=s) for p, s in paths_shipped]


def test_auto_restarts_an_nginx_that_serves_only_what_it_shipped():
    found = ns.verdict(True, sites(("/etc/nginx/sites-enabled/default", True)))
    assert found.restart and found.serving == []
    assert "nothing but what its package shipped" in found.reason


def test_auto_keeps_an_nginx_that_serves_a_site_and_says_how_to_apply_the_sandbox():
    found = ns.verdict(True, sites(("/etc/nginx/sites-enabled/default", False), ("/etc/nginx/conf.d/galaxyops-fleet.conf", False)))
    assert not found.restart
    assert found.serving == ["/etc/nginx/conf.d/galaxyops-fleet.conf", "/etc/nginx/sites-enabled/default"]
    assert "/etc/nginx/sites-enabled/default" in found.reason
    assert "systemctl restart nginx" in found.reason and "galaxy_nginx_sandbox_restart: always" in found.reason


def test_a_stopped_nginx_starts_in_its_sandbox_whatever_the_policy():
    for policy in ns.POLICIES:
        assert ns.verdict(False, sites(("/etc/nginx/conf.d/a.conf", False)), policy).restart


def test_always_and_never_decide_for_a_running_nginx():
    serving = sites(("/etc/nginx/conf.d/a.conf", False))
    assert ns.verdict(True, serving, "always").restart
    assert not ns.verdict(True, [], "never").restart


def test_an_unknown_policy_is_refused_by_name():
    with pytest.raises(ValueError, match="galaxy_nginx_sandbox_restart must be one of auto, always, never"):
        ns.verdict(True, [], "sometimes")
