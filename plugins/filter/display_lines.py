# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.display_lines (tables and reports in ansible-playbook's output)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: display_lines
short_description: Lines of a table or report in the form that reads best in ansible-playbook's output
version_added: 0.1.0
description:
  - "With the default callback's YAML result format (C(callback_result_format = yaml)), the lines joined into one
    string, which the callback prints as a literal block, one row a line, where it would fold each long line of a
    list; with any other format, the list unchanged (JSON prints one quoted string a line)."
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: The lines.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Show the fleet, one line a process
  ansible.builtin.debug:
    msg: "{{ status.lines | galaxyops.fleet.display_lines }}"
"""

RETURN = r"""
_value:
  description: One string of lines (YAML output) or the list of lines.
  type: raw
"""

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.display import for_display


def _display_lines(lines):
    return for_display(lines)


class FilterModule:
    """galaxyops.fleet.display_lines"""

    def filters(self):
        return {"display_lines": _display_lines}
