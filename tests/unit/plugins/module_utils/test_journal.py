"""journalctl's command line and its JSON output read into records."""

from __future__ import annotations

import json

from ansible_collections.galaxyops.fleet.plugins.module_utils import journal

UNITS = ["galaxy-gunicorn@0.service", "galaxy-handler@0.service"]


def entry(t, message, **fields):
    return json.dumps({"__REALTIME_TIMESTAMP": str(t), "__CURSOR": f"c{t}", "MESSAGE": message, **fields})


def test_argv_units_since_grep_lines():
    assert journal.argv(UNITS, since="-1h", grep="error", lines=5) == [
        "journalctl", "--no-pager", "-o", "json", "--all", "-u", UNITS[0], "-u", UNITS[1],
        "--since", "-1h", "--grep", "error", "-n", "5"]


def test_argv_after_cursor_drops_the_line_count():
    cmd = journal.argv(UNITS, lines=5, after_cursor="c9")
    assert cmd[-2:] == ["--after-cursor", "c9"] and "-n" not in cmd


def test_records_from_json_lines():
    out = [entry(10, "Booting worker", _SYSTEMD_UNIT=UNITS[0], PRIORITY="6"),
           "-- No entries --",
           entry(11, "Started galaxy-handler@0.service", _SYSTEMD_UNIT="init.scope", UNIT=UNITS[1]),
           entry(12, [104, 105, 255], _SYSTEMD_UNIT=UNITS[0]),
           "{not json"]
    recs = journal.records(out, UNITS)
    assert [(r.time_us, r.unit, r.message, r.priority) for r in recs] == [
        (10, UNITS[0], "Booting worker", 6),
        (11, UNITS[1], "Started galaxy-handler@0.service", None),
        (12, UNITS[0], "hi\ufffd", None)]
    assert recs[-1].cursor == "c12"
