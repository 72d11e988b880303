# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the rolling restart's timeline (galaxyops.fleet.restart_timeline and friends)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: restart_timeline
short_description: The rolling restart's steps as a timeline of phases per process (JSON data)
version_added: 0.1.0
description:
  - From events C({id, host, unit, kind, time}) (the fact C(galaxy_restart_events); kind C(drain), C(stop),
    C(start), C(ready) or C(undrain), time in seconds since the epoch), the phases of each process
    (C(drained), C(stopping), C(booting), C(ready-not-back), C(back)) with their start, end and seconds, whether they
    came in order, and one summary line a process (C(lines)).
  - Also C(restart_timeline_svg) (the same drawn as SVG, with the per-second counts of loadgen reports) and
    C(restart_timeline_hosts) (which host's journal to read). See docs/rolling-restart.md.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The events, or a timeline written before (its C(processes)).
    type: raw
    required: true
  processes:
    description: Process ids (C(HOST/UNIT)) in the order of the bars; processes with events but not listed follow.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Write the timeline as JSON
  ansible.builtin.copy:
    content: "{{ galaxy_restart_events | galaxyops.fleet.restart_timeline | to_nice_json }}"
    dest: /tmp/restart.json
    mode: "0644"
  delegate_to: localhost

- name: Draw it with the load of the bench
  ansible.builtin.copy:
    content: "{{ galaxy_restart_events | galaxyops.fleet.restart_timeline_svg(loads=[lookup('file', 'load.json') | from_json]) }}"
    dest: /tmp/restart.svg
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The timeline (C(version), C(start), C(end), C(processes), C(lines)); for C(restart_timeline_svg), SVG text.
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.galaxyops.fleet.plugins.plugin_utils import restart_timeline as rt


def _build(value, processes):
    try:
        return rt.build(rt.events_of(value), list(processes or []) or rt.process_ids(value))
    except rt.TimelineError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _timeline(value, processes=None):
    timeline = _build(value, processes)
    return {**timeline.as_dict(), "lines": rt.summary_lines(timeline)}


def _timeline_svg(value, processes=None, loads=None, title="Rolling restart"):
    timeline = _build(value, processes)
    try:
        series = [rt.load_series(report, f"loads[{n}]") for n, report in enumerate(loads or [])]
    except rt.TimelineError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return rt.svg(timeline, series, title)


def _timeline_hosts(ids, proxies=None):
    return rt.journal_hosts(ids, proxies or [])


class FilterModule:
    """galaxyops.fleet.restart_timeline, restart_timeline_svg, restart_timeline_hosts"""

    def filters(self):
        return {"restart_timeline": _timeline, "restart_timeline_svg": _timeline_svg,
                "restart_timeline_hosts": _timeline_hosts}
