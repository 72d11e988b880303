"""What the control playbook does: selection, refusals, drains, idempotent starts."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import control as ctl
from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_order as ro
from ansible_collections.galaxyops.fleet.tests.unit.plugins.plugin_utils.test_restart_order import make_plan

PLAN = make_plan()  # web1: 2 gunicorns, web2: 3, handlers1: handler_0, handler_1 (job-handlers), scheduler_0


def active(plan=None, down=()):
    """Every planned unit runs except ``down`` (HOST/UNIT)."""
    plan = PLAN if plan is None else plan
    return {e["host"]: ["inactive" if f"{e['host']}/{u}" in down else "active" for u in e["units"]]
            for e in ctl.probe(plan)}


def decide(action, down=(), allow=False, plan=None, **limits):
    plan = PLAN if plan is None else plan
    lim = ro.Limits(**{k: tuple(v) for k, v in limits.items()})
    return ctl.control(plan, action, lim, allow, active(plan, down))


G = "galaxy-gunicorn@{}.service"


def test_probe_lists_every_planned_unit_per_host():
    probes = {e["host"]: e["units"] for e in ctl.probe(PLAN)}
    assert probes["web1"] == [G.format(0), G.format(1)]
    assert probes["web2"] == [G.format(i) for i in range(3)]
    assert len(probes["handlers1"]) == 3 and "proxy1" not in probes


def test_states_read_in_probe_order_and_missing_lines_are_unknown():
    probes = [{"host": "web1", "units": ["a.service", "b.service"]}]
    assert ctl.states(probes, {"web1": ["active\n"]}) == {"web1/a.service": "active", "web1/b.service": "unknown"}


def test_without_states_only_the_selection():
    c = ctl.control(PLAN, None, ro.Limits(hosts=("web1",)), False, None)
    assert c.units_by_host == {"web1": (G.format(0), G.format(1))}
    assert c.stop == () and c.start == () and c.problems["limits"] is None


def test_stop_one_gunicorn_drains_it_first():
    c = decide("stop", units=["web1/" + G.format(0)])
    assert c.drain == ("web1/" + G.format(0),)
    assert [s["id"] for s in c.stop] == ["web1/" + G.format(0)]
    assert c.problems["downtime"] is None
    assert c.lines() == ["web1/galaxy-gunicorn@0.service: drain from nginx, then stop"]
    assert c.to_dict()["changes"] is True


def test_stop_every_gunicorn_is_refused_naming_the_upstream():
    c = decide("stop", services=["gunicorn"])
    assert "upstream galaxy" in c.problems["downtime"] and "control_allow_downtime" in c.problems["downtime"]
    assert decide("stop", services=["gunicorn"], allow=True).problems["downtime"] is None


def test_stop_the_last_running_gunicorn_is_refused_even_when_others_are_planned():
    others = ["web1/" + G.format(1)] + [f"web2/{G.format(i)}" for i in range(3)]
    c = decide("stop", down=others, units=["web1/" + G.format(0)])
    assert "web1/galaxy-gunicorn@0.service" in c.problems["downtime"]


def test_stopping_what_is_stopped_changes_nothing_and_is_not_refused():
    every = [f"web1/{G.format(i)}" for i in range(2)] + [f"web2/{G.format(i)}" for i in range(3)]
    c = decide("stop", down=every, services=["gunicorn"])
    assert c.stop == () and c.problems["downtime"] is None
    assert c.to_dict()["changes"] is False
    assert c.items[0].does == "already stopped (kept out of nginx)"


def test_stop_the_last_handler_of_a_pool_is_refused_and_jobs_are_reported():
    c = decide("stop", services=["scheduler"])
    assert "pool" in c.problems["downtime"] and "scheduler_0" not in c.problems["downtime"]
    c = decide("stop", units=["handlers1/galaxy-handler@0.service"])
    assert c.problems["downtime"] is None
    (jobs,) = c.handler_jobs
    assert jobs.host == "handlers1" and [h["name"] for h in jobs.handlers] == ["handler_0"]
    assert jobs.handlers[0]["pools"] == ["job-handlers"] and jobs.python.endswith("/bin/python")


def test_start_starts_what_does_not_run_and_puts_every_gunicorn_back():
    down = ["web2/" + G.format(1)]
    c = decide("start", down=down, hosts=["web2"])
    assert [s["id"] for s in c.start] == down
    assert c.undrain == tuple(f"web2/{G.format(i)}" for i in range(3))
    assert [t["id"] for t in c.health["targets"]] == list(c.undrain)
    assert c.items[1].does == "start; must answer, then (back) in nginx"


def test_start_of_running_things_changes_nothing():
    c = decide("start")
    assert c.start == () and c.to_dict()["changes"] is False
    assert all(i.does.startswith("already running") for i in c.items)


def test_unknown_limits_and_actions_are_problems():
    problem = decide("stop", hosts=["web9", "proxy1"], services=["handlers", "celery"]).problems["limits"]
    assert problem == ("Limits must name what the plan runs: control_hosts: web9, proxy1 (the plan has: web1, web2, "
                       "handlers1).")
    assert "control_units: nope.service (the plan has: galaxy-gunicorn@0.service, web1/galaxy-gunicorn@0.service" \
        in decide("stop", units=["nope.service"]).problems["limits"]
    c = ctl.control(PLAN, "graceful", ro.Limits(), False, active())
    assert "start, stop, restart" in c.problems["action"] and c.stop == ()


def test_restart_only_checks_the_limits():
    c = decide("restart", hosts=["web1"])
    assert c.stop == () and c.start == () and c.selected == ("web1/" + G.format(0), "web1/" + G.format(1))


def test_held_jobs_are_named_per_handler_even_when_it_is_already_stopped():
    c = decide("stop", down=["handlers1/galaxy-handler@0.service"], units=["handlers1/galaxy-handler@0.service"])
    assert c.stop == () and len(c.handler_jobs) == 1
    jobs = [{"id": 12, "tool_id": "cat1", "state": "running", "handler": "handler_0"},
            {"id": 13, "tool_id": "cat1", "state": "queued", "handler": "handler_1"}]
    lines = ctl.held_lines(c.handler_jobs, [jobs])
    assert lines == ["handlers1: handler handler_0 holds 1 job(s): 12 (cat1, running); they wait for it to run again "
                     "(Galaxy does not move a job from its handler)"]
    assert ctl.held_lines(c.handler_jobs, [[]]) == []


def test_started_handlers_are_waited_for_in_their_journal():
    c = decide("start", down=["handlers1/galaxy-handler@1.service"], hosts=["handlers1"])
    unit = {"id": "handlers1/galaxy-handler@1.service", "unit": "galaxy-handler@1.service",
            "text": "Galaxy server instance 'handler_1' is running"}
    restart = ["systemctl", "restart", "--", "galaxy-handler@1.service"]
    assert c.ready == ({"host": "handlers1", "restart": restart, "units": [unit]},)
