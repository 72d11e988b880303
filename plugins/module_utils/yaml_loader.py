"""Read a YAML file as Galaxy and Gravity do, but refuse a key given twice in one mapping.

PyYAML (and so Galaxy and Gravity) keeps the last of two equal keys without a word, so a
second ``handling:`` or ``gunicorn:`` silently replaces the first. ``read_yaml`` reports each
such key with its key path and both lines, beside the problems of the rest of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class DuplicateKey:
    key_path: str
    first_line: int
    second_line: int

    @property
    def message(self) -> str:
        return (f"given twice (lines {self.first_line} and {self.second_line}): YAML keeps the last one "
                "silently, remove one")


def _child(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def find_duplicates(node: Any) -> list[DuplicateKey]:
    """Every key given twice in one mapping of a composed YAML node tree (a mapping's own before
    those of the mappings inside it)."""
    import yaml  # pylint: disable=import-outside-toplevel  # controller only; not at import time

    found: list[DuplicateKey] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[Any, str]] = [(node, "")]
    while stack:
        current, path = stack.pop()
        if current is None or id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        children: list[tuple[Any, str]] = []
        if isinstance(current, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    children.append((value_node, path))
                    continue
                line = key_node.start_mark.line + 1
                ident = (key_node.tag, key_node.value)
                if ident in first:
                    found.append(DuplicateKey(_child(path, key_node.value), first[ident], line))
                else:
                    first[ident] = line
                children.append((value_node, _child(path, key_node.value)))
        elif isinstance(current, yaml.SequenceNode):
            children = [(item, _child(path, index)) for index, item in enumerate(current.value)]
        stack.extend(reversed(children))
    return found


def load_yaml(path: str) -> tuple[Any, list[DuplicateKey]]:
    """(data, duplicate keys) of one YAML file; raises OSError or yaml.YAMLError."""
    import yaml  # pylint: disable=import-outside-toplevel  # controller only; not at import time

    with open(path, encoding="utf-8") as handle:
        loader = yaml.SafeLoader(handle)
        try:
            node = loader.get_single_node()
            duplicates = find_duplicates(node)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    return data, duplicates


def read_yaml(path: str, out: Collector, what: str, key: str = "", prefix: str = "") -> Any:
    """The content of ``path``, reporting a file that cannot be read or parsed and every key
    given twice (``prefix`` is put before the key paths). None when it cannot be read."""
    import yaml  # pylint: disable=import-outside-toplevel  # controller only; not at import time

    try:
        data, duplicates = load_yaml(path)
    except OSError as exc:
        out.error(path, key, f"cannot read {what}: {exc.strerror or exc}")
        return None
    except yaml.YAMLError as exc:
        out.error(path, key, f"cannot parse {what}: {exc}")
        return None
    for duplicate in duplicates:
        out.error(path, _child(prefix, duplicate.key_path), duplicate.message)
    return data
