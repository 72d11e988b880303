"""Fixtures of the differential test: Gravity is run once per case per session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gravity_oracle import GALAXYCTL, Case, gravity_available, load_cases, run_gravity


@pytest.fixture(scope="session")
def cases() -> dict[str, Case]:
    return {c.name: c for c in load_cases()}


@pytest.fixture(scope="session")
def gravity(cases, tmp_path_factory) -> dict[str, dict]:
    """Gravity 1.2.4's view of every case (one batched run for the whole session)."""
    if not gravity_available():
        pytest.skip(f"Gravity 1.2.4 is not installed at {GALAXYCTL} (bin/setup installs it)")
    workdir = Path(tmp_path_factory.mktemp("gravity-oracle")).resolve()
    started = time.monotonic()
    results = run_gravity(list(cases.values()), workdir)
    print(f"\nGravity oracle: {len(results)} cases in {time.monotonic() - started:.1f} s")
    return results
