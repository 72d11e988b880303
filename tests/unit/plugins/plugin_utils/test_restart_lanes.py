"""Capacity-based web steps and the background lanes of the restart order."""

from __future__ import annotations

import math

import pytest

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_lanes as rl

from ansible_collections.galaxyops.fleet.tests.unit.plugins.plugin_utils.test_restart_order import make_plan, order, step_ids

G = "galaxy-gunicorn@{}.service"


@pytest.mark.parametrize("text,expected", [("2", rl.Capacity(2, False)), (3, rl.Capacity(3, False)),
                                           ("25%", rl.Capacity(25, True)), (" 100 % ", rl.Capacity(100, True))])
def test_parse_capacity(text, expected):
    assert rl.parse_capacity(text) == expected


@pytest.mark.parametrize("text", ["0", "0%", "101%", "-1", "two", "", "1.5", True])
def test_parse_capacity_refuses(text):
    assert rl.parse_capacity(text) is None


def test_a_percentage_rounds_down_and_is_at_least_one():
    assert [rl.Capacity(25, True).of(n) for n in (1, 4, 5, 8, 40)] == [1, 1, 1, 2, 10]
    assert rl.Capacity(2, False).of(5) == 2


def test_max_unavailable_two_restarts_two_gunicorns_of_different_hosts_at_once():
    o = order(max_unavailable="2")
    assert step_ids(o) == [[f"web1/{G.format(0)}", f"web2/{G.format(0)}"], [f"web1/{G.format(1)}", f"web2/{G.format(1)}"],
                           [f"web2/{G.format(2)}"]]
    assert [s.drain_first for s in o.steps] == [True, False, False]
    assert list(o.steps[0].next_ids) == [f"web1/{G.format(1)}", f"web2/{G.format(1)}"]
    assert o.problems.downtime is None and o.problems.limits is None


@pytest.mark.parametrize("gunicorns,value", [((2, 2, 2, 2, 2), "3"), ((2,) * 10, "25%"), ((3, 1, 4), "1"), ((2,) * 20, "10%")])
def test_steps_grow_with_members_over_capacity(gunicorns, value):
    o = order(make_plan(gunicorns=gunicorns), max_unavailable=value)
    members = sum(gunicorns)
    cap = rl.parse_capacity(value).of(members)
    assert len(o.steps) == math.ceil(members / cap)
    assert all(len(s.ids) <= cap for s in o.steps)
    assert sorted(i for s in o.steps for i in s.ids) == sorted(m.id for m in o.steps for m in m.members)
    assert len({i for s in o.steps for i in s.ids}) == members


def test_a_capacity_that_empties_an_upstream_is_refused_unless_downtime_is_allowed():
    o = order(max_unavailable="5")
    assert o.problems.downtime == (
        "galaxy_restart_max_unavailable 5 would take every gunicorn of upstream galaxy (5 member(s)) out at once: "
        "lower it (restart_max_unavailable), add gunicorns, or set galaxy_restart_allow_downtime "
        "(-e restart_allow_downtime=true).")
    assert order(max_unavailable="100%").problems.downtime is not None
    assert order(max_unavailable="5", allow_downtime=True).problems.downtime is None
    assert order(max_unavailable="4").problems.downtime is None


def test_a_bad_max_unavailable_or_lanes_is_a_limits_problem():
    assert "got '0%'" in order(max_unavailable="0%").problems.limits
    assert "got 'sideways'" in order(lanes="sideways").problems.limits


def test_without_max_unavailable_web_batch_keeps_its_host_batches():
    assert step_ids(order(web_batch=2)) == step_ids(order(web_batch=2, max_unavailable=""))


def test_handlers_of_one_host_are_its_lane_with_the_waves_in_order():
    o = order(make_plan(celery=True))
    handlers, services = o.lanes
    assert (handlers.id, handlers.host, handlers.kind) == ("handlers on handlers1", "handlers1", "handlers")
    assert [s["ids"] for s in handlers.steps] == [list(w.ids) for w in o.waves]
    assert handlers.steps[0]["units"][0] == {
        "id": "handlers1/galaxy-handler@0.service", "unit": "galaxy-handler@0.service", "state": "restarted",
        "text": "Galaxy server instance 'handler_0' is running", "port": None}
    assert (services.id, list(services.ids)) == ("services on web1", ["web1/galaxy-celery.service"])
    assert services.steps[0]["units"][0]["text"] == " ready." and o.foreground_waves == ()
    assert handlers.stop_file != services.stop_file


def test_a_pool_on_two_hosts_keeps_its_waves_in_step_in_the_foreground():
    wave = type("W", (), {})
    proc = type("P", (), {})

    def p(host, name, pools):
        x = proc()
        x.id, x.host, x.unit, x.server_name, x.pools = f"{host}/{name}", host, name, name, pools
        return x
    a, b, c = p("h1", "a", ("i:pool",)), p("h2", "b", ("i:pool",)), p("h3", "c", ("i:other",))
    w1, w2 = wave(), wave()
    w1.processes, w2.processes = (a, c), (b,)
    lanes, rest = rl.handler_lanes([w1, w2], "{name} runs")
    assert [lane.host for lane in lanes] == ["h3"] and lanes[0].steps[0]["units"][0]["text"] == "c runs"
    assert rest == [[a], [b]]


def test_a_wave_restarts_its_handlers_of_a_host_in_one_call():
    o = order()
    assert o.waves[0].checks[0]["restart"] == ["systemctl", "restart", "--", "galaxy-handler@0.service",
                                               "galaxy-scheduler.service"]
    assert "restart" not in o.ready["handlers"][0]


def test_to_dict_gives_each_step_the_next_members():
    steps = order(max_unavailable="2").to_dict()["steps"]
    assert [m["id"] for m in steps[0]["next_members"]] == steps[1]["ids"] and steps[-1]["next_members"] == []
    assert order().to_dict()["lanes"][0]["timeout"] == 2 * (300 + rl.STEP_SLACK) + rl.STEP_SLACK
