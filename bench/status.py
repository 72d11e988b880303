"""How long the status playbook takes on the molecule-sized fleet (4 hosts, 8 Galaxy processes).

Run as root from the repository root, with the controller venv on PATH, under the shared lock:

    source bin/env.sh && flock /tmp/fleet-heavy.lock python bench/status.py [--runs 5] [--web-hosts 2] [--keep]

Boots proxy1, web1 (2 gunicorns), web2 (3 gunicorns) and handlers1 (3 job handlers, PostgreSQL) with
the stand-in Galaxy (test bed prefix ``bstatus``, or ``$FLEET_BENCH_PREFIX``), creates the database
and deploys them with galaxyops.fleet.site, as ``bin/demo --standin`` does; then runs
galaxyops.fleet.status ``--runs`` times and prints the wall time of each run (the whole
ansible-playbook: plan, one galaxy_status call per host, merge, table) and the table of the last.
``--web-hosts N`` (N > 2) adds web3 ... webN with the configuration's default gunicorns
(``--web-hosts 22``: 24 hosts). Asserts nothing. The hosts are removed at the end (also on failure) unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTBED = ROOT / "tests" / "testbed" / "testbed"
CACHE = Path(os.environ.get("FLEET_CACHE", "/var/cache/galaxyops-fleet"))
VENV = CACHE / "standin-venv"


def run(argv: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, text=True, check=kw.pop("check", True), **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--web-hosts", type=int, default=2, help="web hosts (web1 ... webN), at least 2")
    parser.add_argument("--keep", action="store_true", help="leave the hosts up")
    parser.add_argument("--prefix", default=os.environ.get("FLEET_BENCH_PREFIX", "bstatus"))
    args = parser.parse_args()
    web = [f"web{i}" for i in range(1, max(args.web_hosts, 2) + 1)]
    hosts = ["proxy1", *web, "handlers1"]
    work = Path(tempfile.mkdtemp(prefix="galaxyops-bench-status-"))
    inv = work / "hosts.yml"
    env = dict(os.environ, FLEET_ROOT=str(ROOT), ANSIBLE_CONFIG=str(ROOT / "tests/fixtures/demo/ansible.cfg"),
               ANSIBLE_FORCE_COLOR="false")
    extra = ["-e", f"fleet_galaxy_config_file={ROOT}/molecule/fleet/files/standin-galaxy.yml",
             "-e", f"prepare_db_standin_venv={VENV}", "-e", "fleet_gunicorn_version=26.0.0"]
    inventories = ["-i", str(inv), "-i", str(ROOT / "tests/fixtures/demo/standin.yml")]
    run([str(ROOT / "tests/fixtures/standin/build-venv"), str(VENV)], env)
    try:
        run([str(TESTBED), "up", "--prefix", args.prefix, *hosts,
             "--bind-ro", f"{VENV}:{VENV}", "--inventory", str(inv), "--group", "galaxy_proxy=proxy1",
             "--group", "galaxy_web=" + ",".join(web), "--group", "galaxy_handlers=handlers1",
             "--group", "galaxy_db=handlers1"], env)
        run(["ansible-playbook", *inventories, *extra, str(ROOT / "molecule/shared/prepare_db.yml")], env,
            stdout=subprocess.DEVNULL)
        start = time.monotonic()
        run(["ansible-playbook", *inventories, *extra, "galaxyops.fleet.site"], env, stdout=subprocess.DEVNULL)
        site = time.monotonic() - start
        times, report = [], {}
        for i in range(args.runs):
            out = work / f"status-{i}.json"
            start = time.monotonic()
            res = run(["ansible-playbook", *inventories, *extra, "galaxyops.fleet.status", "-e", f"status_output={out}"],
                      env, check=False, capture_output=True)
            times.append(time.monotonic() - start)
            report = json.loads(out.read_text()) if out.exists() else {"lines": [res.stdout[-2000:]]}
        print("\n".join(report.get("lines", [])))
        print(f"\nsite playbook (deploy): {site:.1f} s")
        print(f"status playbook, {len(hosts)} hosts, {len(report.get('rows', []))} rows, {args.runs} runs: "
              + ", ".join(f"{t:.1f}" for t in times)
              + f" s (median {statistics.median(times):.1f} s, best {min(times):.1f} s); ok={report.get('ok')}")
    finally:
        if not args.keep:
            run([str(TESTBED), "down", "--prefix", args.prefix], env, check=False)


if __name__ == "__main__":
    main()
