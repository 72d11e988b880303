"""The galaxy_nginx_members module: spec from DOCUMENTATION, check mode, diff, the real change, refusals."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.galaxyops.fleet.plugins.module_utils import nginx_members as nm
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_nginx_members as mod

W0 = "web1/galaxy-gunicorn@0.service"
W1 = "web1/galaxy-gunicorn@1.service"
PLAN = {"version": 1, "instances": {"_default_": {"upstream": {"name": "galaxy", "members": [
    {"host": "web1", "unit": "galaxy-gunicorn@0.service", "address": "127.0.0.1:8080"},
    {"host": "web1", "unit": "galaxy-gunicorn@1.service", "address": "127.0.0.1:8081"},
]}}}}
CONF = ("upstream galaxy {\n"
        f"    server 127.0.0.1:8080 max_fails=1 fail_timeout=10s;  # {W0}\n"
        f"    server 127.0.0.1:8081 max_fails=1 fail_timeout=10s;  # {W1}\n"
        "}\n")


class Exit(Exception):
    pass


def call(monkeypatch, args, check_mode=False):
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode, "_ansible_diff": True}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps(payload)))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    out = {}

    def finish(self, **kwargs):
        out.update(kwargs)
        raise Exit()

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", finish)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", lambda self, **kw: finish(self, failed=True, **kw))
    with pytest.raises(Exit):
        mod.main()
    return out


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Files of a proxy host; nginx -t and the reload are recorded instead of run."""
    paths = {"state_file": str(tmp_path / "state" / "down.yml"), "conf_file": str(tmp_path / "galaxy.conf"),
             "main_conf": str(tmp_path / "nginx.conf"), "check_command": "/bin/true", "pid_file": str(tmp_path / "pid")}
    with open(paths["conf_file"], "w", encoding="utf-8") as fh:
        fh.write(CONF)
    calls = []
    monkeypatch.setattr(mod, "nginx_test", lambda module, candidate: calls.append(("test", candidate)))
    monkeypatch.setattr(mod, "reload_nginx", lambda module: calls.append(("reload",)) or [101, 102])
    monkeypatch.setattr(mod, "wait_drained", lambda old, addresses, wait, interval: calls.append(("wait", addresses))
                        or {"drained": True, "old_workers_left": [], "connections_left": [], "after_s": 0.1})
    return paths, calls


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def test_argument_spec_is_the_documentation():
    assert mod.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(mod.DOCUMENTATION)["options"])
    for block in (mod.EXAMPLES, mod.RETURN):
        assert yaml.safe_load(block)


def test_check_mode_reports_and_touches_nothing(monkeypatch, host):
    paths, calls = host
    out = call(monkeypatch, {"plan": PLAN, "drain": [W0], **paths}, check_mode=True)
    assert out["changed"] and out["down"] == [W0] and out["record_changed"] and out["conf_changed"]
    assert not out["reloaded"] and calls == []
    assert not os.path.exists(paths["state_file"]) and read(paths["conf_file"]) == CONF
    record, conf = out["diff"]
    assert record["after"] == nm.render_record([W0]) and record["before"] == ""
    assert conf["before"] == CONF and f"fail_timeout=10s down;  # {W0}" in conf["after"]


def test_drain_writes_tests_reloads_and_waits(monkeypatch, host):
    paths, calls = host
    out = call(monkeypatch, {"plan": PLAN, "drain": [W0], "drain_wait": 5, **paths})
    assert out["changed"] and out["reloaded"] and out["old_workers"] == [101, 102]
    assert out["drain"]["drained"] is True
    assert [c[0] for c in calls] == ["test", "reload", "wait"] and calls[2][1] == ["127.0.0.1:8080"]
    assert nm.parse_record(read(paths["state_file"])) == [W0]
    assert f"10s down;  # {W0}" in read(paths["conf_file"])

    calls.clear()
    again = call(monkeypatch, {"plan": PLAN, "drain": [W0], "drain_wait": 5, **paths})
    assert not again["changed"] and not again["reloaded"] and calls == [] and again["down_before"] == [W0]

    back = call(monkeypatch, {"plan": PLAN, "undrain": [W0], **paths})
    assert back["changed"] and back["down"] == [] and read(paths["conf_file"]) == CONF
    assert read(paths["state_file"]).endswith("down: []\n")


def test_record_only_leaves_the_configuration_to_the_caller(monkeypatch, host):
    paths, calls = host
    out = call(monkeypatch, {"plan": PLAN, "drain": [W1], "update_conf": False, "proxy_host": "proxy1", **paths})
    assert out["record_changed"] and not out["conf_changed"] and calls == [] and read(paths["conf_file"]) == CONF
    assert [m["down"] for m in out["instances"]["_default_"]["members"]] == [False, True]
    assert len(out["diff"]) == 1


@pytest.mark.parametrize("args, message", [
    ({"drain": ["web9/x.service"]}, "unknown: web9/x.service"),
    ({"drain_wait": -1}, "must not be negative"),
    ({"plan": {"version": 2}}, "version 1"),
])
def test_refusals_change_nothing(monkeypatch, host, args, message):
    paths, calls = host
    out = call(monkeypatch, {"plan": PLAN, **paths, **args})
    assert out["failed"] and message in out["msg"]
    assert calls == [] and not os.path.exists(paths["state_file"])


def test_missing_configuration(monkeypatch, host):
    paths, _calls = host
    os.unlink(paths["conf_file"])
    out = call(monkeypatch, {"plan": PLAN, "drain": [W0], **paths})
    assert out["failed"] and "does not exist (run the galaxy_nginx role first)" in out["msg"]


class FakeModule:
    def __init__(self, params, rc=0, err=""):
        self.params, self.rc, self.err, self.commands = params, rc, err, []

    def run_command(self, argv):
        self.commands.append(argv)
        return self.rc, "", self.err


def test_nginx_refusal_is_reported(tmp_path):
    params = {"check_command": "/bin/sh", "conf_file": "/etc/nginx/conf.d/x.conf", "main_conf": "/etc/nginx/nginx.conf"}
    refusing = FakeModule(params, rc=1, err='unknown directive "x"\n')
    with pytest.raises(nm.MembersError, match='nginx refuses the new configuration, nothing changed: unknown directive "x"$'):
        mod.nginx_test(refusing, "x;\n")
    (argv,) = refusing.commands
    assert argv[0] == "/bin/sh" and argv[2:] == ["/etc/nginx/conf.d/x.conf", "/etc/nginx/nginx.conf"]
    assert not os.path.exists(argv[1])  # the candidate is removed
    mod.nginx_test(FakeModule(params), "ok;\n")
    with pytest.raises(nm.MembersError, match="cannot run /nonexistent"):
        mod.nginx_test(FakeModule({**params, "check_command": "/nonexistent"}), "")


def test_reload_needs_a_running_nginx(tmp_path):
    with pytest.raises(nm.MembersError, match="nginx does not run"):
        mod.reload_nginx(FakeModule({"pid_file": str(tmp_path / "none")}))


def test_write_atomic(tmp_path):
    target = tmp_path / "d" / "f"
    mod.write_atomic(str(target), "one\n")
    mod.write_atomic(str(target), "two\n")
    assert target.read_text() == "two\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    assert os.listdir(target.parent) == ["f"]


def test_new_member_joins_down_then_is_admitted(monkeypatch, host):
    paths, calls = host
    with open(paths["conf_file"], "w", encoding="utf-8") as fh:
        fh.write(CONF.replace(f"    server 127.0.0.1:8081 max_fails=1 fail_timeout=10s;  # {W1}\n", ""))
    held = call(monkeypatch, {"plan": PLAN, "update_conf": False, "hold_new": True, "proxy_host": "proxy1", **paths})
    assert held["new"] == [W1] and held["joining"] == [W1] and held["joined_at_once"] == [] and held["record_changed"]
    assert [(m["down"], m["joining"]) for m in held["instances"]["_default_"]["members"]] == [(False, False), (True, True)]
    assert calls == [] and nm.parse_joining(read(paths["state_file"])) == [W1]

    with open(paths["conf_file"], "w", encoding="utf-8") as fh:  # what the role's template renders from that
        fh.write(CONF.replace(f"10s;  # {W1}", f"10s down;  # {W1}"))
    admitted = call(monkeypatch, {"plan": PLAN, "admit": [W0, W1], **paths})
    assert admitted["admitted"] == [W1] and admitted["joining"] == [] and admitted["reloaded"]
    assert [c[0] for c in calls] == ["test", "reload"] and read(paths["conf_file"]) == CONF
    assert nm.parse_joining(read(paths["state_file"])) == []


def test_check_mode_holds_new_members_and_writes_nothing(monkeypatch, host):
    paths, calls = host
    os.unlink(paths["conf_file"])
    out = call(monkeypatch, {"plan": PLAN, "update_conf": False, "hold_new": True, **paths}, check_mode=True)
    assert out["joined_at_once"] == [W0, W1] and out["joining"] == [] and not out["changed"]
    assert calls == [] and not os.path.exists(paths["state_file"])


def test_a_process_that_exits_while_its_proc_file_is_read_is_gone_not_an_error(monkeypatch, tmp_path):
    # reading /proc/PID/stat of an nginx worker that exits at that moment fails with ESRCH
    # (the molecule/rolling failure: "[Errno 3] No such process" while a member was put back)
    class Exiting:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr("builtins.open", lambda *a, **k: Exiting())
    assert mod.read_text("/proc/4242/stat") is None
    monkeypatch.setattr(mod.os, "listdir", lambda path: ["4242", "self"])
    assert mod.children(1) == set()
