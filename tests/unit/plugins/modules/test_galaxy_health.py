"""The galaxy_health module: its spec agrees with DOCUMENTATION, checks map to its result."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_health


def module(**params):
    base = {"targets": None, "units": None, "deadline": 0, "interval": 0.01, "timeout": 1, "seen_from": "proxy1"}
    journal = "InvocationID=abc\nActiveState=active\nSubState=running\n"
    return SimpleNamespace(params={**base, **params}, check_mode=True,
                           run_command=lambda argv, check_rc: (0, journal if argv[0] == "systemctl" else "x ready.\n", ""))


def test_spec_agrees_with_documentation():
    assert galaxy_health.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(galaxy_health.DOCUMENTATION)["options"])


def test_unanswered_target_is_a_failure_line():
    result = galaxy_health.run(module(targets=[{"id": "web2/u", "url": "http://127.0.0.1:1/api/version"}]))
    assert result["ok"] is False and result["changed"] is False
    assert result["failures"][0].startswith("web2/u seen from proxy1: ConnectionRefusedError")
    assert result["msg"] == result["failures"][0]


def test_journal_check_passes():
    result = galaxy_health.run(module(units=[{"id": "web1/c", "unit": "galaxy-celery.service", "text": " ready."}]))
    assert result["ok"] is True and result["failures"] == [] and result["msg"] == "1 check(s) passed"
    assert result["checks"]["web1/c"]["seen"] == "active/running; logged \" ready.\""
