"""The restart timeline: events -> phases per process -> SVG (well-formed, one bar a process, an axis, the load)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_timeline as rt

SVG = "{http://www.w3.org/2000/svg}"
WEB = ["web1/galaxy-gunicorn@0.service", "web2/galaxy-gunicorn@0.service"]
HANDLER = "handlers1/galaxy-handler@0.service"
T0 = 1764650000.0


def web_events(pid, t, proxies=("proxy1",)):
    out = []
    for proxy in proxies:
        out.append({"id": pid, "kind": "drain", "time": t + 0.01 * proxies.index(proxy)})
    out += [{"id": pid, "kind": "stop", "time": t + 0.5}, {"id": pid, "kind": "start", "time": t + 0.8},
            {"id": pid, "kind": "ready", "time": t + 3.8}]
    for proxy in proxies:
        out.append({"id": pid, "kind": "undrain", "time": t + 4.2 + 0.01 * proxies.index(proxy)})
    return out


def events():
    return (web_events(WEB[0], T0) + web_events(WEB[1], T0 + 4.2)
            + [{"id": HANDLER, "kind": "stop", "time": T0 + 9}, {"id": HANDLER, "kind": "start", "time": T0 + 9.4},
               {"id": HANDLER, "kind": "ready", "time": T0 + 12}])


def test_phases_of_a_gunicorn_and_a_handler():
    timeline = rt.build(events(), WEB + [HANDLER])
    web, _web2, handler = timeline.processes
    assert [(p.phase, round(p.end - p.start, 2)) for p in web.phases][:4] == [
        ("drained", 0.5), ("stopping", 0.3), ("booting", 3.0), ("ready-not-back", 0.4)]
    assert web.phases[-1].phase == "back" and web.phases[-1].end == timeline.end
    assert [p.phase for p in handler.phases] == ["stopping", "booting", "back"]
    assert all(rt.ordered(p) for p in timeline.processes)
    assert timeline.start == T0 - 2 and timeline.end == T0 + 14


def test_two_proxies_draining_one_member_make_one_phase_each():
    timeline = rt.build(web_events(WEB[0], T0, proxies=("proxy1", "proxy2")))
    assert [p.phase for p in timeline.processes[0].phases] == list(rt.PHASES)
    assert timeline.processes[0].phases[0].start == T0


def test_out_of_order_steps_are_said():
    bad = [{"id": WEB[0], "kind": "start", "time": T0}, {"id": WEB[0], "kind": "stop", "time": T0 + 1}]
    timeline = rt.build(bad)
    assert not rt.ordered(timeline.processes[0])
    assert rt.summary_lines(timeline) == [f"{WEB[0]}: booting 1 s, then stopping (out of order)"]


def test_listed_processes_keep_their_order_and_show_without_events():
    timeline = rt.build(events(), [HANDLER, "web3/galaxy-gunicorn@0.service"])
    assert [p.id for p in timeline.processes] == [HANDLER, "web3/galaxy-gunicorn@0.service"] + WEB
    assert timeline.processes[1].phases == []
    assert rt.summary_lines(timeline)[1].endswith("no step seen")
    assert rt.summary_lines(timeline)[0] == f"{HANDLER}: stopping 0.4 s, booting 2.6 s, then back"


def test_json_round_trip_gives_the_same_timeline():
    data = rt.build(events(), WEB + [HANDLER]).as_dict()
    again = rt.build(rt.events_of(data), rt.process_ids(data)).as_dict()
    assert again == data
    assert data["processes"][0]["phases"][0] == {"phase": "drained", "start": T0, "end": T0 + 0.5, "from_s": 2.0,
                                                 "seconds": 0.5}
    assert all(p["ordered"] for p in data["processes"])


@pytest.mark.parametrize("bad, message", [
    ({"id": "x"}, "a list of events expected"),
    ([{"id": "web1/u", "kind": "boot", "time": 1}], "galaxy_restart_events[0].kind: 'boot' is not one of"),
    ([{"id": "web1/u", "kind": "stop"}], "galaxy_restart_events[0]: no time"),
    ([{"id": "web1/u", "kind": "stop", "time": "soon"}], "galaxy_restart_events[0].time: 'soon'"),
])
def test_bad_events_are_named(bad, message):
    with pytest.raises(rt.TimelineError, match=message.replace("[", r"\[").replace("]", r"\]")):
        rt.build(bad)


def load_report(failed_at=None):
    per_second = [[150, 0] for _second in range(30)]
    if failed_at is not None:
        per_second[failed_at] = [140, 10]
    return {"connections": "fresh", "started_epoch": T0 - 5, "per_second": per_second}


def bars(root):
    return [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("phase-")]


def test_svg_is_well_formed_with_one_bar_a_process_and_an_axis():
    timeline = rt.build(events(), WEB + [HANDLER])
    root = ET.fromstring(rt.svg(timeline))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for pid in WEB + [HANDLER]:
        assert texts.count(pid) == 1
    # 5 phases for each gunicorn, 3 for the handler, each a rect with its tooltip
    assert len(bars(root)) == 13
    assert {g.get("class") for g in bars(root)} == {f"phase-{p}" for p in rt.PHASES}
    assert bars(root)[0].find(f"{SVG}title").text.startswith(f"{WEB[0]}: drained 0.5 s")
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[:3] == ["0", "2", "4"] and ticks[-1].startswith("seconds since 2025-12-02T04:33:18")


def test_bars_stay_inside_the_plot_and_follow_time():
    root = ET.fromstring(rt.svg(rt.build(events(), WEB + [HANDLER])))
    xs = [(float(g.find(f"{SVG}rect").get("x")), float(g.find(f"{SVG}rect").get("width"))) for g in bars(root)]
    assert all(rt.LEFT <= x and x + w <= rt.WIDTH - rt.RIGHT + 1 for x, w in xs)
    first_of_row = [xs[0][0], xs[5][0], xs[10][0]]
    assert first_of_row == sorted(first_of_row)


def test_svg_with_load_draws_requests_and_failures():
    timeline = rt.build(events(), WEB + [HANDLER])
    root = ET.fromstring(rt.svg(timeline, [rt.load_series(load_report(failed_at=9))]))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 16  # the seconds inside the window
    failures = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#d62728"]
    assert len(failures) == 1 and failures[0].find(f"{SVG}title").text == "10 failed at +6 s"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "10 failed (at most 10 in one second)" in texts


def test_svg_without_failures_says_zero():
    root = ET.fromstring(rt.svg(rt.build(events()), [rt.load_series(load_report())]))
    assert "0 failed" in [t.text for t in root.iter(f"{SVG}text")]


def test_old_load_report_is_refused():
    with pytest.raises(rt.TimelineError, match="loads\\[0\\]: no per_second"):
        rt.load_series({"total": 3}, "loads[0]")


def test_svg_escapes_names():
    root = ET.fromstring(rt.svg(rt.build([{"id": "h/<u&>", "kind": "stop", "time": 1.0}]), title="a < b"))
    assert "h/<u&>" in [t.text for t in root.iter(f"{SVG}text")]


def test_journal_hosts_one_read_a_host():
    assert rt.journal_hosts(WEB + ["web1/galaxy-gunicorn@1.service", HANDLER], ["proxy1"]) == [
        {"host": "web1", "units": ["galaxy-gunicorn@0.service", "galaxy-gunicorn@1.service"], "members": False},
        {"host": "web2", "units": ["galaxy-gunicorn@0.service"], "members": False},
        {"host": "handlers1", "units": ["galaxy-handler@0.service"], "members": False},
        {"host": "proxy1", "units": [], "members": True},
    ]


def test_tick_steps_are_round():
    assert [rt.tick_step(s) for s in (5, 22, 100, 600)] == [0.5, 2, 10, 50]
