# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a report of several lines reads best in ``ansible-playbook``'s output (controller only).

The default callback prints a task's result as JSON or, with ``callback_result_format = yaml``
(``ANSIBLE_CALLBACK_RESULT_FORMAT=yaml``), as YAML. A list of lines reads well as JSON (one quoted
string a line) but YAML folds every string longer than about 100 columns, so a table's rows break
in the middle. A string of several lines is printed by the YAML format as a literal block, unfolded,
one row a line, and by the JSON format as one string full of ``\\n``. So: a block for YAML, the list
for anything else.
"""

from __future__ import annotations

from typing import Callable, Iterable

RESULT_FORMAT_OPTION = "result_format"


def callback_result_format() -> str:
    """The result format configured for ansible-core's default callback ("json" when it cannot be read)."""
    try:
        from ansible import constants
        from ansible.plugins.loader import callback_loader

        # loading the plugin's class registers its options with the configuration manager
        callback_loader.get("ansible.builtin.default", class_only=True)
        value = constants.config.get_config_value(RESULT_FORMAT_OPTION, plugin_type="callback", plugin_name="default")
    except Exception:  # noqa: BLE001 -- any trouble reading the option means the plain list
        return "json"
    return str(value or "json")


def for_display(lines: Iterable[str], result_format: Callable[[], str] = callback_result_format) -> list[str] | str:
    """``lines`` as one block of text when the output is YAML, else as the list."""
    lines = [str(line) for line in lines]
    if result_format() == "yaml" and len(lines) > 1:
        return "\n".join(lines)
    return lines
