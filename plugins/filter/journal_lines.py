# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter galaxyops.fleet.journal_lines (the logs playbook's output)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: journal_lines
short_description: The journals of several hosts merged in time order, each line prefixed with host and unit
version_added: 0.1.0
description:
  - "Merges the records of M(galaxyops.fleet.galaxy_journal), per host, in time order (UTC), one line an entry as
    C(TIME HOST UNIT: MESSAGE)."
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  _input:
    description: Per host, the RV(galaxyops.fleet.galaxy_journal#module:records).
    type: dict
    required: true
  last:
    description: Only the newest this many entries (all when not given).
    type: int
"""

EXAMPLES = r"""
- name: Show the merged journal
  ansible.builtin.debug:
    msg: "{{ {'web1': web1_records, 'web2': web2_records} | galaxyops.fleet.journal_lines(last=50) }}"
"""

RETURN = r"""
_value:
  description: The lines, oldest first.
  type: list
  elements: str
"""

from ansible_collections.galaxyops.fleet.plugins.plugin_utils.logs import lines


def _journal_lines(by_host, last=None):
    return lines(by_host, None if last is None else int(last))


class FilterModule:
    """galaxyops.fleet.journal_lines"""

    def filters(self):
        return {"journal_lines": _journal_lines}
