"""Where a plan starts: galaxy.yml or a Gravity file, read on the controller the way Gravity reads it.

``load_sources`` gives one ``Source`` per Galaxy instance: its raw ``gravity`` section, the
``galaxy`` section it runs with (read from the file a Gravity section names in
``galaxy_config_file`` when there is one) and where those files are on the controller and on the
hosts. Nothing is validated here beyond the shape of the files (see gravity_config.py); the job
configuration is found from the ``galaxy`` section by jobconf.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.yaml_loader import read_yaml


@dataclass
class Source:
    """One Galaxy instance's raw configuration as loaded from the controller."""

    gravity: Any               # the raw Gravity section (validated later)
    gravity_file: str          # the file problems with it name
    path: str                  # its key path in that file: "gravity" or "gravity.N"
    galaxy: dict               # the galaxy section
    galaxy_file: str           # the file problems with the galaxy section name
    config_dir: str | None     # galaxy.yml's folder on the controller (relative paths start there)
    host_galaxy_config: str    # galaxy.yml's path on the hosts


def host_path(host_config_path: str, named: str) -> str:
    """Where a file named in the configuration is on the hosts (relative: beside galaxy.yml)."""
    if os.path.isabs(named):
        return named
    return os.path.join(os.path.dirname(host_config_path), named)


@dataclass
class GalaxyFile:
    """The galaxy section of a galaxy.yml, the file and its folder."""

    galaxy: dict
    file: str
    config_dir: str | None


def load_named_galaxy(gravity_file: str, named: str, key: str, config_dir: str | None,
                      out: Collector) -> GalaxyFile:
    """The galaxy.yml a Gravity section names in galaxy_config_file (an empty section on problems)."""
    if os.path.isabs(named):
        path = named
    elif config_dir is not None:
        path = os.path.join(config_dir, named)
    else:
        out.error(gravity_file, key, f"relative path {named!r} needs config_dir when the configuration is inline")
        return GalaxyFile({}, named, None)
    if not os.path.exists(path):
        out.error(gravity_file, key, f"{path} does not exist: this Gravity file names it as its Galaxy configuration")
        return GalaxyFile({}, path, os.path.dirname(path))
    data = read_yaml(path, out, "the Galaxy configuration", "")
    if data is None:
        return GalaxyFile({}, path, os.path.dirname(path))
    if not isinstance(data, dict) or "galaxy" not in data:
        out.error(path, "galaxy", "missing: the file named by galaxy_config_file has no galaxy section")
        return GalaxyFile({}, path, os.path.dirname(path))
    galaxy = data.get("galaxy") or {}
    if not isinstance(galaxy, dict):
        out.error(path, "galaxy", "must be a mapping")
        galaxy = {}
    return GalaxyFile(galaxy, path, os.path.dirname(path))


def _listed_sources(label: str, gravity: list, config_dir: str | None, host_config: str,
                    out: Collector) -> list[Source]:
    """A list of Gravity sections: each names its own galaxy.yml."""
    sources = []
    for index, entry in enumerate(gravity):
        path = f"gravity.{index}"
        if not isinstance(entry, dict):
            out.error(label, path, "must be a mapping")
            continue
        named = entry.get("galaxy_config_file")
        if not isinstance(named, str) or not named:
            out.error(label, f"{path}.galaxy_config_file", "is required when several Gravity configurations are listed")
            continue
        loaded = load_named_galaxy(label, named, f"{path}.galaxy_config_file", config_dir, out)
        sources.append(Source(entry, label, path, loaded.galaxy, loaded.file, loaded.config_dir,
                              host_path(host_config, named)))
    return sources


def load_sources(galaxy_config_file: str | None, galaxy_config: Any, options: dict, out: Collector) -> list[Source]:
    """Read galaxy.yml (or a Gravity file) the way Gravity does; one Source per Galaxy instance."""
    main_file = galaxy_config_file or options.get("gravity_config_file")
    config_dir = options.get("config_dir")
    if galaxy_config is not None:
        label = main_file or "galaxy_config"
        top = galaxy_config
    elif main_file:
        label = main_file
        top = read_yaml(main_file, out, "the Galaxy/Gravity configuration")
        if top is None and out.problems:
            return []
    else:
        out.error("(options)", "galaxy_config_file", "one of galaxy_config_file, galaxy_config or "
                  "gravity_config_file is required")
        return []
    if config_dir is None and main_file:
        config_dir = os.path.dirname(os.path.abspath(main_file))
    if not isinstance(top, dict):
        out.error(label, "", "does not look like a Galaxy or Gravity configuration (not a mapping)")
        return []
    host_config = options["galaxy_config_path"]
    gravity = top.get("gravity") or {}
    if isinstance(gravity, list):
        if "galaxy" in top:
            out.error(label, "gravity", "a list of Gravity configurations next to a galaxy section is ambiguous: "
                      "set galaxy_config_file in each and remove the galaxy section")
            return []
        return _listed_sources(label, gravity, config_dir, host_config, out)
    galaxy: Any = None
    galaxy_file = label
    galaxy_dir = config_dir
    host_galaxy_config = host_config
    if "gravity" in top and "galaxy" not in top:
        named = gravity.get("galaxy_config_file") if isinstance(gravity, dict) else None
        if isinstance(named, str) and named:
            loaded = load_named_galaxy(label, named, "gravity.galaxy_config_file", config_dir, out)
            galaxy, galaxy_file, galaxy_dir = loaded.galaxy, loaded.file, loaded.config_dir
            host_galaxy_config = host_path(host_config, named)
        else:
            out.warn(f"{label}: a Gravity configuration without a galaxy section: Galaxy defaults are used")
    elif "gravity" not in top and "galaxy" in top:
        out.warn(f"{label}: no gravity section: Gravity defaults are used")
    elif "gravity" not in top and "galaxy" not in top:
        out.error(label, "", "does not look like a Galaxy or Gravity configuration (no galaxy or gravity section)")
        return []
    if galaxy is None:
        galaxy = top.get("galaxy") or {}
    if not isinstance(galaxy, dict):
        out.error(galaxy_file, "galaxy", "must be a mapping")
        galaxy = {}
    return [Source(gravity, label, "gravity", galaxy, galaxy_file, galaxy_dir, host_galaxy_config)]
