"""One lane on one host: units of a step restart in one call, wait for ready, stop at the first failure."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_lane as rl


class FakeHost:
    """systemctl and journalctl of a host whose units log their ready text once restarted (unless broken)."""

    def __init__(self, broken=(), fail_call=False):
        self.now = 1000.0
        self.calls = []
        self.started = set()
        self.broken = set(broken)
        self.fail_call = fail_call
        self.files = set()

    def run(self, argv):
        self.calls.append(argv)
        if argv[:2] in (["systemctl", "restart"], ["systemctl", "reload"]):
            self.now += 2
            if self.fail_call:
                return 1, "", "Job for x failed.\n"
            self.started.update(argv[3:])
            return 0, "", ""
        if argv[:2] == ["systemctl", "show"]:
            return 0, f"InvocationID=inv-{argv[-1]}\nActiveState=active\nSubState=running\n", ""
        if argv[0] == "journalctl":
            unit = argv[-1].split("=", 1)[1][4:]
            ready = unit in self.started and unit not in self.broken
            return 0, ("booting\nGalaxy server instance 'h' is running\n" if ready else "booting\n"), ""
        if argv[:2] == ["systemctl", "is-active"]:
            return (0, "active\n", "") if argv[-1] in self.started else (3, "inactive\n", "")
        raise AssertionError(argv)

    def system(self):
        def sleep(s):
            self.now += s
        return rl.System(run=self.run, now=lambda: self.now, sleep=sleep, exists=lambda p: p in self.files,
                         remove=self.files.discard, connect=lambda h, p: p == 8080)


def unit(name, text="Galaxy server instance 'h' is running", **kw):
    return {"id": f"h1/{name}", "unit": name, "state": "restarted", "text": text, "port": None, **kw}


def step(*units):
    return {"ids": [u["id"] for u in units], "units": list(units)}


def test_a_step_restarts_its_units_in_one_call_then_the_next_step():
    host = FakeHost()
    steps = [step(unit("a.service"), unit("b.service")), step(unit("c.service"))]
    record = rl.run_lane("handlers on h1", "h1", steps, 10, 0.5, host.system())
    restarts = [c for c in host.calls if c[1] == "restart"]
    assert restarts == [["systemctl", "restart", "--", "a.service", "b.service"], ["systemctl", "restart", "--", "c.service"]]
    assert record.ok and record.done == ["h1/a.service", "h1/b.service", "h1/c.service"] and record.left == []
    first, second = record.steps
    assert first.stop < first.start <= min(first.ready.values()) and max(first.ready.values()) <= second.stop
    kinds = [(e.id, e.kind) for e in record.events]
    assert kinds[:4] == [("h1/a.service", "stop"), ("h1/b.service", "stop"), ("h1/a.service", "start"),
                         ("h1/b.service", "start")]
    assert ("h1/c.service", "ready") == kinds[-1] and all(e.host == "h1" for e in record.events)
    assert record.as_dict()["ok"] is True and record.as_dict()["events"][0]["kind"] == "stop"


def test_not_ready_stops_the_lane_naming_the_step_and_what_was_seen():
    host = FakeHost(broken=["b.service"])
    steps = [step(unit("a.service"), unit("b.service")), step(unit("c.service"))]
    record = rl.run_lane("handlers on h1", "h1", steps, 3, 1, host.system())
    assert not record.ok and record.failed_step == ["h1/a.service", "h1/b.service"] and record.left == ["h1/c.service"]
    assert record.failed_what == "not ready after restart"
    assert record.msg.startswith("lane handlers on h1 stopped at h1/a.service + h1/b.service (not ready after restart): "
                                 "h1/b.service seen from h1: active/running; last log line: booting")
    assert ["systemctl", "restart", "--", "c.service"] not in host.calls
    assert "h1/a.service" in record.steps[0].ready and "h1/b.service" not in record.steps[0].ready


def test_a_failed_call_stops_the_lane():
    host = FakeHost(fail_call=True)
    record = rl.run_lane("services on h1", "h1", [step(unit("a.service"))], 3, 1, host.system())
    assert record.failed_step == ["h1/a.service"] and record.steps[0].start is None
    assert record.failed_what == "restart"
    assert "(restart): systemctl restart -- a.service failed (rc 1): Job for x failed." in record.msg


def test_the_stop_file_ends_the_lane_before_a_step_and_is_removed_at_the_start():
    host = FakeHost()
    host.files.add("/run/stop")
    system = host.system()
    record = rl.run_lane("l", "h1", [step(unit("a.service"))], 3, 1, system, "/run/stop")
    assert record.ok and "/run/stop" not in host.files
    host.files.add("/run/stop")
    steps = [step(unit("a.service")), step(unit("b.service"))]
    original = system.run

    def run_and_fail_elsewhere(argv):
        if argv[1] == "restart":
            host.files.add("/run/stop")
        return original(argv)
    host.files.discard("/run/stop")
    record = rl.run_lane("l", "h1", steps, 3, 1, rl.System(**{**system.__dict__, "run": run_and_fail_elsewhere}),
                         "/run/stop")
    assert record.stopped and not record.ok and record.done == ["h1/a.service"] and record.left == ["h1/b.service"]
    assert record.msg == "lane l stopped before h1/b.service: another part of the restart failed"


def test_reload_port_and_active_checks():
    host = FakeHost()
    steps = [step(unit("r.service", text=None, state="reloaded")),
             step(unit("t.service", text=None, port={"host": "127.0.0.1", "port": 8080})),
             step(unit("x.service", text=None, port={"host": "127.0.0.1", "port": 9}))]
    record = rl.run_lane("services on h1", "h1", steps, 2, 1, host.system())
    assert ["systemctl", "reload", "--", "r.service"] in host.calls
    assert record.done == ["h1/r.service", "h1/t.service"]
    assert "nothing listens on 127.0.0.1:9" in record.msg


def test_calls_and_plan_text():
    s = step(unit("a.service"), unit("r.service", state="reloaded"))
    assert rl.calls(s) == [["systemctl", "restart", "--", "a.service"], ["systemctl", "reload", "--", "r.service"]]
    assert rl.plan_text([s]) == "systemctl restart -- a.service\nsystemctl reload -- r.service\n"
