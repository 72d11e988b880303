"""display_lines: a block of text for the YAML result format, the list for JSON."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.display import for_display

ROWS = ["host       unit                       state", "web1       galaxy-gunicorn@0.service  active/running " + "x" * 90]


def test_yaml_output_gets_one_block_and_json_the_list():
    assert for_display(ROWS, lambda: "yaml") == "\n".join(ROWS)
    assert for_display(ROWS, lambda: "json") == ROWS
    # a single line is the same either way: keep the list
    assert for_display(ROWS[:1], lambda: "yaml") == ROWS[:1]
    assert for_display([], lambda: "yaml") == []
