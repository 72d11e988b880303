"""nginx's passive failure marking under faults: galaxy_nginx_max_fails=0 against max_fails=1 fail_timeout=10s.

Run as root from the repository root, with the controller venv on PATH, under the shared lock:

    source bin/env.sh && flock /tmp/fleet-heavy.lock python bench/upstream_settings.py [--boot-delay 5] [--rate 100]

Boots its own test bed hosts (prefix ``upbench``, or ``$FLEET_BENCH_PREFIX``): proxy1, web1 and web2
(2 gunicorns and one job handler each, the stand-in Galaxy, deployed with galaxyops.fleet.site).
For each setting the site playbook deploys it (only nginx's configuration changes), then two
faults run, each while the load generators of bench/rolling_restart.py run (strict: a new
connection per request, nothing resent; keep-alive with browser-like resend):

- ``kill -9`` of web1's first gunicorn (its main process); systemd restarts it (``Restart=always``,
  ``RestartSec=2``); the fault ends when it answers again;
- a reboot of web2 (``systemctl reboot`` inside it; the test bed boots it again); the fault ends when
  both its gunicorns answer again.

Prints a table of requests and failures and asserts nothing. The hosts are removed at the end, also
on failure.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

import rolling_restart as rr

SETTINGS = (("max_fails=0", {"galaxy_nginx_max_fails": 0}),
            ("max_fails=1 fail_timeout=10s", {"galaxy_nginx_max_fails": 1, "galaxy_nginx_fail_timeout": "10s"}))
UNITS = ["galaxy-gunicorn@0.service", "galaxy-gunicorn@1.service"]


class UpstreamBench(rr.Bench):
    def up(self) -> None:
        rr.run([str(rr.ROOT / "tests" / "fixtures" / "standin" / "build-venv")], stdout=subprocess.DEVNULL)
        standin = f"{rr.STANDIN}:{rr.STANDIN}"
        spec = [{"name": "proxy1"}, {"name": "web1", "binds_ro": [standin]}, {"name": "web2", "binds_ro": [standin]}]
        out = rr.run([str(rr.TESTBED), "up", "--prefix", self.prefix, "--spec", "-", "--json"], input=json.dumps(spec),
                     capture_output=True)
        self.hosts = {h["name"]: h for h in json.loads(out.stdout)["hosts"]}

    def deploy_with(self, inventory, extra: dict) -> None:
        out = rr.run(["ansible-playbook", "-i", str(inventory), "galaxyops.fleet.site", "-e", json.dumps(extra)],
                     env=self.env, check=False, capture_output=True, cwd=self.work)
        if out.returncode != 0:
            raise RuntimeError("site playbook failed:\n" + out.stdout[-3000:] + out.stderr[-2000:])

    def ssh_argv(self, host: str, command: str) -> list[str]:
        h = self.hosts[host]
        return ["ssh", "-q", "-i", h["identity_file"], "-p", str(h["port"]), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"{h['user']}@{h['address']}", command]

    def until_answers(self, host: str, ports: tuple[int, ...]) -> str:
        """A shell loop (on the controller) that ends when every port of host answers /api/version."""
        checks = " && ".join(f"curl -sf -m 2 http://{self.hosts[host]['address']}:{p}/api/version >/dev/null" for p in ports)
        return f"sleep 3; until {checks}; do sleep 0.5; done"

    def faults(self) -> list[tuple[str, list[str], dict[str, list[str]]]]:
        kill = self.ssh_argv("web1", f"systemctl kill --kill-whom=main -s KILL {UNITS[0]}")
        reboot = self.ssh_argv("web2", "systemctl reboot")
        return [
            ("kill -9 of web1's gunicorn@0 (systemd restarts it)",
             ["timeout", "300", "bash", "-c", shlex.join(kill) + "; " + self.until_answers("web1", (8080,))], {"web1": UNITS[:1]}),
            ("reboot of web2", ["timeout", "300", "bash", "-c", shlex.join(reboot) + " || true; " + self.until_answers("web2", (8080, 8081))],
             {"web2": UNITS}),
        ]

    def main(self) -> int:
        rows = []
        try:
            self.up()
            inventory = self.write_inventory()
            proxy = f"http://{self.hosts['proxy1']['address']}"
            for label, extra in SETTINGS:
                self.deploy_with(inventory, extra)
                self.wait_healthy([f"http://{self.hosts[h]['address']}:{p}/api/version"
                                   for h in ("web1", "web2") for p in (8080, 8081)])
                for fault, argv, units in self.faults():
                    rows.append((label, fault, self.under_load(proxy, argv, units)))
        finally:
            if not self.args.keep:
                self.down()
                shutil.rmtree(self.work, ignore_errors=True)
        self.print_rows(rows)
        return 0

    def print_rows(self, rows: list[tuple[str, str, dict]]) -> None:
        print(f"stand-in boot delay {self.args.boot_delay} s; load: 8 clients x 2 modes, {self.args.rate} requests/s each, "
              "GET /api/version + POST /api/echo, through nginx on proxy1 (2 web hosts x 2 gunicorns)")
        print()
        print("| upstream setting | fault | requests strict | failed strict | requests keep-alive | failed keep-alive (resent) "
              "| p99 ms strict / keep-alive | fault to served s |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, fault, r in rows:
            strict, keep = r["loads"]["strict"], r["loads"]["keep-alive"]
            print(f"| {label} | {fault}{'' if r['rc'] == 0 else ' (FAILED rc=' + str(r['rc']) + ')'} | {strict['total']:,} "
                  f"| {strict['failed']} | {keep['total']:,} | {keep['failed']} ({keep['stale_retries']}) "
                  f"| {strict['latency_ms']['p99']} / {keep['latency_ms']['p99']} | {r['wall']:.1f} |")
        print()
        for label, fault, r in rows:
            for mode in ("strict", "keep-alive"):
                load = r["loads"][mode]
                if load["failed"]:
                    print(f"{label}, {fault}, {mode} failures: {load['failures']} window {load['failure_window_s']} s")
            if r.get("output"):
                print(f"{label}, {fault}: output " + r["output"][-800:])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--prefix", default=os.environ.get("FLEET_BENCH_PREFIX", "upbench"), help="test bed prefix")
    parser.add_argument("--boot-delay", type=float, default=5.0, help="stand-in web boot delay, seconds (default 5)")
    parser.add_argument("--handler-boot-delay", type=float, default=2.0, help="stand-in handler boot delay (default 2)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second of each load generator")
    parser.add_argument("--keep", action="store_true", help="leave the hosts up (debugging)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(UpstreamBench(parse_args()).main())
