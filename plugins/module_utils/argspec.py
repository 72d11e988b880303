# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs from a module's DOCUMENTATION, so that the documentation is their single source."""

from __future__ import annotations

from typing import Any, Mapping

# The keys of a documented option that an AnsibleModule argument spec understands.
SPEC_KEYS = ("type", "elements", "default", "required", "choices", "no_log", "aliases")


def spec_from_doc(options: Mapping[str, Any]) -> dict[str, Any]:
    """An argument spec from the ``options`` of a DOCUMENTATION block (suboptions included)."""
    spec: dict[str, Any] = {}
    for name, doc in options.items():
        entry = {key: doc[key] for key in SPEC_KEYS if key in doc}
        if "suboptions" in doc:
            entry["options"] = spec_from_doc(doc["suboptions"])
        spec[name] = entry
    return spec
