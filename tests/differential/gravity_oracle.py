"""Controller side of the Gravity oracle: the case corpus and one batched run of Gravity 1.2.4.

Each case is a folder under ``cases/`` with a ``case.yml`` (description, source, which file is
the Gravity config, what the test expects, GRAVITY_* variables for Gravity and options for the
plan where a case needs them; ``{case_dir}`` in those stands for the case's folder) and the
Galaxy/Gravity/job configuration files.
``run_gravity`` hands the cases to ``gravity_driver.py`` (run by the Python of Gravity's venv) in
a few parallel batches and returns Gravity's view of every case, keyed by case name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
DRIVER = HERE / "gravity_driver.py"
GRAVITY_VENV = Path(os.environ.get("FLEET_CACHE", "/var/cache/galaxyops-fleet")) / "gravity"
GALAXYCTL = GRAVITY_VENV / "bin" / "galaxyctl"
GRAVITY_PYTHON = GRAVITY_VENV / "bin" / "python"

# systemctl as Gravity needs it without a running systemd: show-environment answers like
# Debian 12's manager, every other call succeeds and does nothing.
STUB_SYSTEMCTL = """#!/bin/sh
if [ "$1" = "show-environment" ] || [ "$2" = "show-environment" ]; then
    echo "LANG=C.UTF-8"
    echo "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
fi
exit 0
"""


@dataclass
class Case:
    name: str
    path: Path
    config: Path
    description: str
    source: str
    expect: str = "parity"  # parity | divergence | error
    divergence: str | None = None
    gravity_env: dict[str, str] = field(default_factory=dict)
    plan_options: dict = field(default_factory=dict)

    @property
    def galaxy_config(self) -> Path:
        """The galaxy.yml Gravity reads for this case (the config itself unless it names another)."""
        data = yaml.safe_load(self.config.read_text()) or {}
        section = data.get("gravity")
        if isinstance(section, dict) and section.get("galaxy_config_file"):
            named = Path(section["galaxy_config_file"])
            return named if named.is_absolute() else (self.config.parent / named)
        return self.config


def _expand(value, case_dir: Path):
    """Replace {case_dir} in strings (paths that must be absolute but live in the checkout)."""
    if isinstance(value, str):
        return value.replace("{case_dir}", str(case_dir))
    if isinstance(value, dict):
        return {k: _expand(v, case_dir) for k, v in value.items()}
    return value


def load_cases() -> list[Case]:
    cases = []
    for folder in sorted(p for p in CASES_DIR.iterdir() if p.is_dir()):
        meta = yaml.safe_load((folder / "case.yml").read_text()) or {}
        root = folder.resolve()
        cases.append(Case(
            name=folder.name,
            path=root,
            config=root / meta.get("config", "galaxy.yml"),
            description=meta["description"],
            source=meta["source"],
            expect=meta.get("expect", "parity"),
            divergence=meta.get("divergence"),
            gravity_env={str(k): str(_expand(v, root)) for k, v in (meta.get("gravity_env") or {}).items()},
            plan_options=_expand(meta.get("plan_options") or {}, root),
        ))
    return cases


def gravity_available() -> bool:
    return GALAXYCTL.is_file() and GRAVITY_PYTHON.is_file()


def run_gravity(cases: list[Case], workdir: Path, jobs: int = 2) -> dict[str, dict]:
    """Run Gravity once for every case; ``jobs`` driver processes share the cases."""
    stub = workdir / "stub"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "systemctl").write_text(STUB_SYSTEMCTL)
    (stub / "systemctl").chmod(0o755)
    batches: list[list[Case]] = [cases[i::jobs] for i in range(jobs)]
    procs = []
    for number, batch in enumerate(b for b in batches if b):
        output = workdir / f"gravity-{number}.json"
        request = {
            "stub_dir": str(stub),
            "output": str(output),
            "cases": [
                {
                    "name": c.name,
                    "config": str(c.config),
                    "workdir": str(workdir / "work" / c.name),
                    "env": c.gravity_env,
                }
                for c in batch
            ],
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GRAVITY_", "GALAXY_"))}
        env.pop("PYTHONPATH", None)
        proc = subprocess.Popen(
            [str(GRAVITY_PYTHON), str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, cwd=str(workdir),
        )
        procs.append((proc, json.dumps(request), output))
    results: dict[str, dict] = {}
    for proc, request, output in procs:
        stdout, stderr = proc.communicate(request, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"Gravity driver failed ({proc.returncode}):\n{stdout}\n{stderr}")
        results.update(json.loads(output.read_text()))
    return results


def main() -> int:
    """Print Gravity's view of one or more cases (debugging aid): gravity_oracle.py [CASE...]."""
    wanted = set(sys.argv[1:])
    cases = [c for c in load_cases() if not wanted or c.name in wanted]
    with tempfile.TemporaryDirectory(prefix="gravity-oracle-") as tmp:
        print(json.dumps(run_gravity(cases, Path(tmp).resolve()), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
