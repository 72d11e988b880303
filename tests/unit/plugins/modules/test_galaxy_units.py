"""Unit tests of the galaxy_units module: systemctl show parsing, the legacy command read, query and record."""

from __future__ import annotations

import json

from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_units as gu
from ansible_collections.galaxyops.fleet.plugins.module_utils import reconcile as rc
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan

GROUPS = {"galaxy_web": ["h1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["h1"], "galaxy_proxy": ["h1"], "all": ["h1"]}


def plan(handlers):
    config = {"gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}, "handlers": {"handler": {"processes": handlers}}},
              "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}}}
    return build_plan(galaxy_config=config, inventory={"groups": GROUPS, "hostvars": {}}, options={})


class FakeModule:
    def __init__(self, tmp_path, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in gu.ARGUMENT_SPEC.items()}
        self.params.update(unit_dir=str(tmp_path / "units"), environment_dir=str(tmp_path / "env"),
                           path=str(tmp_path / "state" / "systemd-units.yml"))
        self.params.update(params)
        self.check_mode = check_mode
        self.commands = []

    def run_command(self, argv):
        self.commands.append(argv)
        units = argv[argv.index("--") + 1:]
        return 0, "\n\n".join(f"ActiveState=active\nId={u}\nLoadState=loaded" for u in units) + "\n", ""

    def atomic_move(self, src, dest):
        import os
        os.replace(src, dest)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_parse_show_reads_blocks_by_id_whatever_the_property_order():
    text = "LoadState=loaded\nId=a.service\nActiveState=active\n\nId=b@0.service\nActiveState=inactive\nLoadState=not-found\n"
    assert gu.parse_show(text) == {"a.service": rc.UnitStatus("loaded", "active"),
                                   "b@0.service": rc.UnitStatus("not-found", "inactive")}


def test_read_command_takes_the_last_exec_start_and_undoes_systemd_quoting(tmp_path):
    unit = tmp_path / "u.service"
    unit.write_text('[Service]\nExecStart=\nExecStart=/v/galaxy-main "--server-name=a b" 100%% $$HOME\n')
    assert gu.read_command(str(unit)) == ["/v/galaxy-main", "--server-name=a b", "100%", "$HOME"]
    assert gu.read_command(str(tmp_path / "missing")) is None


def test_query_then_record_then_nothing_left(tmp_path):
    old, new = plan(3), plan(1)
    first = FakeModule(tmp_path, state="recorded", units=old["hosts"]["h1"]["units"], instances=old["instances"])
    written = gu.run(first)
    assert written["changed"] and json.loads((tmp_path / "state/systemd-units.yml").read_text().split("\n", 3)[3])
    assert gu.run(FakeModule(tmp_path, state="recorded", record=written["record"], units=old["hosts"]["h1"]["units"],
                             instances=old["instances"]))["changed"] is False

    query = FakeModule(tmp_path, record=written["record"], units=new["hosts"]["h1"]["units"], instances=new["instances"])
    out = gu.run(query)
    assert out["changed"] is False
    assert [e["name"] for e in out["draining"]["entries"]] == ["handler_1", "handler_2"]
    assert out["remove"]["units"] == ["galaxy-handler@0.service"]
    assert len(query.commands) == 1 and "galaxy-handler@2.service" in query.commands[0]

    check = FakeModule(tmp_path, check_mode=True, state="recorded", record=written["record"],
                       units=new["hosts"]["h1"]["units"], instances=new["instances"], forget=out["remove"]["units"])
    before = (tmp_path / "state/systemd-units.yml").read_text()
    result = gu.run(check)
    assert result["changed"] and result["diff"]["before"] == before != result["diff"]["after"]
    assert (tmp_path / "state/systemd-units.yml").read_text() == before
    assert "galaxy-handler@2.service" in result["record"]["instances"]["_default_"]["units"]


def test_a_legacy_record_reads_the_unit_files_once(tmp_path):
    old, new = plan(2), plan(1)
    record = gu.run(FakeModule(tmp_path, check_mode=True, state="recorded", units=old["hosts"]["h1"]["units"],
                               instances=old["instances"]))["record"]
    for inst in record["instances"].values():
        del inst["processes"]
    dropin = tmp_path / "units/galaxy-handler@1.service.d/50-galaxyops-fleet.conf"
    dropin.parent.mkdir(parents=True)
    dropin.write_text("[Service]\nExecStart=/v/galaxy-main -c g.yml --server-name=handler_1\n")
    out = gu.run(FakeModule(tmp_path, record=record, units=new["hosts"]["h1"]["units"], instances=new["instances"]))
    assert [e["name"] for e in out["draining"]["entries"]] == ["handler_1"]
    assert out["remove"]["units"] == ["galaxy-handler@0.service"]  # no command line: stopped at once, as before


class GravityHost(FakeModule):
    """A host where Gravity 1.2.4 ran one gunicorn, celery and two handlers (systemd mode)."""

    def run_command(self, argv):
        if argv[:2] == ["systemctl", "list-units"]:
            self.commands.append(argv)
            return 0, ("galaxy-gunicorn.service loaded active running Galaxy gunicorn\n"
                       "galaxy-handler@0.service loaded active running Galaxy handler\n"
                       "galaxy-monitor.service loaded active running not Gravity's\n"), ""
        return super().run_command(argv)


def test_query_sorts_gravitys_units_for_the_take_over(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    exec_start = "ExecStart=/srv/galaxy/venv/bin/galaxyctl exec {}\n"
    (units / "galaxy-gunicorn.service").write_text("[Service]\n" + exec_start.format("gunicorn"))
    (units / "galaxy-handler@.service").write_text("[Service]\n" + exec_start.format("-i %i handler"))
    (units / "galaxy.target").write_text("[Unit]\nWants=galaxy-gunicorn.service galaxy-handler@0.service\n")
    (units / "galaxy-monitor.service").write_text("[Service]\nExecStart=/usr/local/bin/monitor\n")
    (units / "nginx.service").write_text("[Service]\nExecStart=/usr/sbin/nginx\n")
    new = plan(2)
    module = GravityHost(tmp_path, units=new["hosts"]["h1"]["units"], instances=new["instances"],
                         replace_units=[])
    out = gu.run(module)["takeover"]
    # the plan writes galaxy-gunicorn.service, galaxy-handler@.service and galaxy.target itself: adopted
    assert out["adopt"] == ["galaxy-gunicorn.service", "galaxy-handler@.service", "galaxy.target"]
    assert out["replace"] == [] and out["conflicts"] == []
    assert out["gravity"] == ["galaxy-gunicorn.service", "galaxy-handler@.service", "galaxy.target"]
    named = GravityHost(tmp_path, units={}, instances=new["instances"], replace_units=["galaxy-monitor.service"])
    out = gu.run(named)["takeover"]
    assert out["replace"] == ["galaxy-gunicorn.service", "galaxy-handler@.service", "galaxy-monitor.service",
                              "galaxy.target"]
    assert out["stop"] == ["galaxy-gunicorn.service", "galaxy-handler@0.service", "galaxy-monitor.service"]
    assert "nginx.service" not in str(out)


def test_takeover_state_names_conflicts_and_changes_nothing(tmp_path):
    units = tmp_path / "units"
    units.mkdir()
    # a hand-written unit at a name the plan writes, not Gravity's and not named to replace: a conflict
    (units / "galaxy-gunicorn.service").write_text("[Service]\nExecStart=/usr/local/bin/my-galaxy-web\n")
    before = sorted(p.name for p in units.iterdir())
    new = plan(1)
    module = GravityHost(tmp_path, state="takeover", units=new["hosts"]["h1"]["units"], instances=new["instances"])
    out = gu.run(module)
    assert out["changed"] is False and set(out) == {"changed", "takeover"}
    assert out["takeover"]["conflicts"] == ["galaxy-gunicorn.service"] and out["takeover"]["adopt"] == []
    assert sorted(p.name for p in units.iterdir()) == before and not (tmp_path / "state").exists()
    # named by the admin, the same file is adopted; the collection's own file is no conflict either
    named = GravityHost(tmp_path, state="takeover", units=new["hosts"]["h1"]["units"], instances=new["instances"],
                        replace_units=["galaxy-gunicorn*"])
    assert gu.run(named)["takeover"]["adopt"] == ["galaxy-gunicorn.service"]
    (units / "galaxy-gunicorn.service").write_text("# Ansible managed\n# galaxyops-fleet unit: Galaxy instance x\n")
    assert gu.run(module)["takeover"]["conflicts"] == []
