"""Fixtures: the stand-in venv and a throwaway PostgreSQL 15 (helpers live in standin_harness)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from standin_harness import BUILD_VENV, PG_BIN, Postgres


@pytest.fixture(scope="session")
def standin_venv() -> Path:
    if not Path("/usr/bin/python3").exists():
        pytest.skip("Debian's /usr/bin/python3 is needed to build the stand-in venv")
    out = subprocess.run([str(BUILD_VENV)], check=True, capture_output=True, text=True, timeout=600)
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 binaries are not installed")
    workdir = Path(tempfile.mkdtemp(prefix="standin-pg-"))
    os.chmod(workdir, 0o755)
    pg = Postgres(workdir)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
