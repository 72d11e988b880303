"""Every role's meta/argument_specs.yml against its defaults/main.yml (the CI check of drift).

- Every public variable of defaults/main.yml is declared by an entry point; every option of the
  `main` entry point has a default there, unless it is required.
- In every entry point, an option with a default has the same default as defaults/main.yml, and
  an option that defaults/main.yml sets declares that default (so `ansible-doc` and the role agree).
- Every entry point has its tasks file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
ROLE_DIRS = sorted(p for p in ROLES.iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def _specs(role: Path) -> dict:
    return _load(role / "meta" / "argument_specs.yml")["argument_specs"]


def _defaults(role: Path) -> dict:
    path = role / "defaults" / "main.yml"
    return _load(path) if path.is_file() else {}


def test_every_role_has_specs() -> None:
    roles = sorted(p.name for p in ROLES.iterdir() if (p / "tasks").is_dir())
    assert [p.name for p in ROLE_DIRS] == roles


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_specs_declare_every_default(role: Path) -> None:
    specs = _specs(role)
    declared = {name for spec in specs.values() for name in (spec.get("options") or {})}
    public = {k for k in _defaults(role) if not k.startswith("_")}
    assert sorted(public - declared) == [], "defaults/main.yml variables no entry point declares"
    options = specs["main"].get("options") or {}
    assert sorted(set(options) - public - {k for k, v in options.items() if v.get("required")}) == [], \
        "main entry point options with no default in defaults/main.yml"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_spec_defaults_match(role: Path) -> None:
    defaults = _defaults(role)
    wrong = []
    for entry, spec in _specs(role).items():
        for name, option in (spec.get("options") or {}).items():
            if name not in defaults:
                continue
            if "default" not in option:
                wrong.append(f"{entry}.{name}: no default in the spec, defaults/main.yml has {defaults[name]!r}")
            elif option["default"] != defaults[name]:
                wrong.append(f"{entry}.{name}: spec {option['default']!r} != defaults/main.yml {defaults[name]!r}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_entry_points_have_tasks(role: Path) -> None:
    missing = [e for e in _specs(role) if not (role / "tasks" / f"{e}.yml").is_file()]
    assert missing == []
