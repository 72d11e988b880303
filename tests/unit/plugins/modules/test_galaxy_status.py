"""The galaxy_status module: its spec agrees with DOCUMENTATION; systemd's text, nginx's files and probes map to its result."""

from __future__ import annotations

import http.server
import json
import threading
from types import SimpleNamespace

import pytest
import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_status


class Version(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"version_major": "26.1", "version_minor": "2"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Version)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def member(host, unit, address):
    return {"host": host, "unit": unit, "address": address}


def plan(port):
    members = [member("web1", "galaxy-gunicorn.service", f"127.0.0.1:{port}"),
               member("web2", "galaxy-gunicorn.service", "127.0.0.1:1")]
    gunicorn = {"unit": "galaxy-gunicorn.service", "server_name": "gunicorn", "bind": f"127.0.0.1:{port}",
                "argv": ["/venv/bin/gunicorn", "-b", f"127.0.0.1:{port}"]}
    units = {"galaxy-gunicorn.service": {"instance_name": "_default_", "service_type": "gunicorn", "instances": [gunicorn]}}
    return {"version": 1, "groups": {"proxy": "galaxy_proxy"},
            "instances": {"_default_": {"unit_prefix": "galaxy", "upstream": {"name": "galaxy", "members": members}}},
            "hosts": {"web1": {"targets": ["galaxy.target"], "units": units}, "web2": {"units": {}},
                      "proxy1": {"groups": ["galaxy_proxy"], "units": {}}}}


def module(tmp_path, port, **params):
    show = (f"Id=galaxy-gunicorn.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=77\n"
            f"ExecStart={{ path=/venv/bin/gunicorn ; argv[]=/venv/bin/gunicorn -b 127.0.0.1:{port} ; x=y }}\n")
    listed = "galaxy-gunicorn.service loaded active running G\ngalaxy-stray.service loaded active running S\n"
    calls = []

    def run_command(argv, check_rc):
        calls.append(argv)
        return 0, show if argv[1] == "show" else listed, ""

    base = {"plan": plan(port), "host": "web1", "proxy": False, "database": True, "stale_after": 180, "timeout": 1,
            "unit_record": str(tmp_path / "none.yml"), "nginx_conf_file": str(tmp_path / "nginx.conf"),
            "nginx_state_file": str(tmp_path / "down.yml")}
    return SimpleNamespace(params={**base, **params}, check_mode=True, run_command=run_command, calls=calls)


def test_spec_agrees_with_documentation():
    assert galaxy_status.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(galaxy_status.DOCUMENTATION)["options"])


def test_a_web_host_reports_its_process_and_the_units_the_plan_lacks(tmp_path, port):
    mod = module(tmp_path, port)
    result = galaxy_status.run(mod)
    assert result["changed"] is False and result["errors"] == []
    (proc,) = result["processes"]
    assert (proc["unit"], proc["systemd"]["active"], proc["systemd"]["main_pid"], proc["drift"]) == (
        "galaxy-gunicorn.service", "active", 77, [])
    assert [u["unit"] for u in result["unplanned"]] == ["galaxy-stray.service"]
    assert result["probes"] == {} and result["members"] == {}
    assert [argv[1] for argv in mod.calls] == ["list-units", "show"]  # one systemctl show for every unit


def test_a_proxy_probes_every_gunicorn_and_reads_its_upstream(tmp_path, port):
    (tmp_path / "nginx.conf").write_text(f"    server 127.0.0.1:{port} max_fails=0; # web1/galaxy-gunicorn.service\n")
    result = galaxy_status.run(module(tmp_path, port, host="proxy1", proxy=True))
    assert result["processes"] == []
    assert result["probes"]["web1/galaxy-gunicorn.service"] == {
        "ok": True, "seen": "version_major 26.1", "version": "26.1.2"}
    assert result["probes"]["web2/galaxy-gunicorn.service"]["ok"] is False
    assert result["members"] == {"web1/galaxy-gunicorn.service": "serving", "web2/galaxy-gunicorn.service": "missing"}


def test_the_record_of_galaxy_units_reads_with_its_comment_header(tmp_path, port):
    from ansible_collections.galaxyops.fleet.plugins.modules.galaxy_units import HEADER

    argv = ["/venv/bin/gunicorn", "-b", f"127.0.0.1:{port}"]
    record = {"version": 2, "instances": {"_default_": {"units": ["galaxy-gunicorn.service"], "files": [],
                                                        "processes": {"galaxy-gunicorn.service": {"argv": argv}}}}}
    (tmp_path / "units.yml").write_text(HEADER + json.dumps(record, indent=2) + "\n")
    result = galaxy_status.run(module(tmp_path, port, unit_record=str(tmp_path / "units.yml")))
    assert result["errors"] == [] and result["processes"][0]["drift"] == []
    (tmp_path / "units.yml").write_text(HEADER + json.dumps(dict(record, instances={}), indent=2) + "\n")
    drift = galaxy_status.run(module(tmp_path, port, unit_record=str(tmp_path / "units.yml")))["processes"][0]["drift"]
    assert drift == ["the collection's record does not list it (not installed by the galaxy_systemd role)"]
