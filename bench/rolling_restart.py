"""Rolling restart under load: this collection against Gravity 1.2.4's `galaxyctl graceful`.

Run as root from the repository root, with the controller venv on PATH:

    source bin/env.sh && python bench/rolling_restart.py [--boot-delay 20] [--rate 150]

Boots its own test bed hosts (prefix ``bench``, or ``$FLEET_BENCH_PREFIX``): proxy1, web1 and web2
(this collection: 2 gunicorns each and one job handler each, deployed with galaxyops.fleet.site)
and gweb1 (Gravity: a gunicorn list of 2 with ``process_manager: systemd``, Gravity's venv bound
read-only at its own path). The stand-in Galaxy's web processes take ``--boot-delay`` seconds to
load (their port stays closed meanwhile, as with real Galaxy), handlers ``--handler-boot-delay``.

Both restarts run behind the same nginx on proxy1: the collection's through its own upstream (port
80, galaxy_nginx), Gravity's through an upstream with nginx's default proxy settings (port 8000).
During each restart two load generators run at once, each at ``--rate`` requests per second:
strict (a new connection per request, nothing resent) and keep-alive with browser-like resend of a
request whose reused connection closed before any response byte.

Boot-to-healthy of a process: from its unit's start (ExecMainStartTimestampMonotonic) to the log
line that says it is ready (gunicorn: the stand-in's ``ready, listening``, i.e. its socket
accepts; handler: ``Galaxy server instance '...' is running``), both from the host's journal; only
processes started during the restart count. Restart wall time: the restart command, start to end.

Prints a table and asserts nothing. The hosts are removed at the end, also on failure.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTBED = ROOT / "tests" / "testbed" / "testbed"
LOADGEN = ROOT / "tests" / "loadgen" / "loadgen.py"
CACHE = Path(os.environ.get("FLEET_CACHE", "/var/cache/galaxyops-fleet"))
STANDIN = CACHE / "standin-venv"
GRAVITY = CACHE / "gravity"
GRAVITY_CONFIG = "/srv/gravity/galaxy.yml"


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    kw.setdefault("text", True)
    return subprocess.run(argv, **kw)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.prefix = args.prefix
        self.work = Path(tempfile.mkdtemp(prefix="galaxyops-bench-"))
        self.hosts: dict[str, dict] = {}
        self.env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True",
                        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_FORCE_COLOR="false",
                        ANSIBLE_NOCOLOR="true")

    # -- test bed -----------------------------------------------------------------------------
    def up(self) -> None:
        run([str(ROOT / "tests" / "fixtures" / "standin" / "build-venv")], stdout=subprocess.DEVNULL)
        gravity_real = os.path.realpath(GRAVITY)
        standin = f"{STANDIN}:{STANDIN}"
        spec = [
            {"name": "proxy1"},
            {"name": "web1", "binds_ro": [standin]},
            {"name": "web2", "binds_ro": [standin]},
            # Gravity's scripts name the venv's real path in their #! lines: bind it at both paths
            {"name": "gweb1", "binds_ro": [standin, f"{gravity_real}:{gravity_real}", f"{gravity_real}:{GRAVITY}"]},
        ]
        out = run([str(TESTBED), "up", "--prefix", self.prefix, "--spec", "-", "--json"], input=json.dumps(spec),
                  capture_output=True)
        self.hosts = {h["name"]: h for h in json.loads(out.stdout)["hosts"]}

    def down(self) -> None:
        subprocess.run([str(TESTBED), "down", "--prefix", self.prefix], check=False, stdout=subprocess.DEVNULL)

    def ssh(self, host: str, command: str, **kw) -> subprocess.CompletedProcess:
        h = self.hosts[host]
        return run(["ssh", "-q", "-i", h["identity_file"], "-p", str(h["port"]), "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"{h['user']}@{h['address']}", command],
                   capture_output=True, **kw)

    # -- this collection ----------------------------------------------------------------------
    def write_inventory(self) -> Path:
        config = self.work / "galaxy.yml"
        config.write_text(json.dumps({
            "gravity": {
                "galaxy_root": f"{STANDIN}/server", "virtualenv": str(STANDIN),
                "galaxy_user": "galaxy", "galaxy_group": "galaxy",
                "gunicorn": {"bind": "0.0.0.0:8080", "workers": 1, "restart_timeout": 120},
                "celery": {"enable": False, "enable_beat": False},
                "handlers": {"handler": {"processes": 1, "pools": ["job-handlers"]}},
            },
            "galaxy": {
                "data_dir": "/srv/galaxy/data", "id_secret": "bench-not-a-secret",
                "standin_boot_delay": self.args.boot_delay, "standin_handler_boot_delay": self.args.handler_boot_delay,
                "job_config": {"handling": {"assign": ["db-skip-locked"]}},
            },
        }, indent=2))
        inventory = {"all": {
            "vars": {"ansible_user": "root", "fleet_galaxy_config_file": str(config), "fleet_gunicorn_version": "26.0.0"},
            "hosts": {name: {"ansible_host": h["address"], "ansible_port": h["port"],
                             "ansible_ssh_private_key_file": h["identity_file"]} for name, h in self.hosts.items()},
            "children": {
                "galaxy_proxy": {"hosts": {"proxy1": {}}},
                "galaxy_web": {"hosts": {"web1": {"fleet_gravity": {"gunicorn": {"instances": 2}}},
                                         "web2": {"fleet_gravity": {"gunicorn": {"instances": 2}}}}},
                "galaxy_handlers": {"hosts": {"web1": {}, "web2": {}}},
            },
        }}
        path = self.work / "inventory.json"
        path.write_text(json.dumps(inventory, indent=2))
        return path

    def deploy(self, inventory: Path) -> None:
        out = run(["ansible-playbook", "-i", str(inventory), "galaxyops.fleet.site", "-e", "fleet_restart=rolling"],
                  env=self.env, check=False,
                  capture_output=True, cwd=self.work)
        if out.returncode != 0:
            raise RuntimeError("site playbook failed:\n" + out.stdout[-3000:] + out.stderr[-2000:])

    # -- Gravity --------------------------------------------------------------------------------
    def gravity_setup(self) -> None:
        config = {
            "gravity": {
                "process_manager": "systemd", "galaxy_root": "/srv/gravity/server", "virtualenv": str(STANDIN),
                "galaxy_user": "galaxy",
                "gunicorn": [{"bind": "0.0.0.0:8080", "workers": 1}, {"bind": "0.0.0.0:8081", "workers": 1}],
                "celery": {"enable": False, "enable_beat": False},
            },
            "galaxy": {"data_dir": "/srv/gravity/data", "id_secret": "bench-not-a-secret",
                       "standin_boot_delay": self.args.boot_delay},
        }
        text = json.dumps(config, indent=2)
        # Gravity's health check reads Galaxy's version from GALAXY_ROOT/lib/galaxy/version.py: its root is a
        # copy of the stand-in's with that file (a namespace directory: the stand-in's own galaxy package still wins)
        self.ssh("gweb1", "id galaxy >/dev/null 2>&1 || useradd --system --create-home --home-dir /srv/gravity galaxy; "
                          "install -d -o galaxy -g galaxy /srv/gravity/data; rm -rf /srv/gravity/server; "
                          f"cp -a {STANDIN}/server /srv/gravity/server; mkdir -p /srv/gravity/server/lib/galaxy; "
                          "cat > /srv/gravity/server/lib/galaxy/version.py <<'EOF'\n"
                          'VERSION_MAJOR = "26.1"\nVERSION_MINOR = "2"\nVERSION = VERSION_MAJOR + "." + VERSION_MINOR\nEOF\n'
                          f"cat > {GRAVITY_CONFIG} <<'EOF'\n{text}\nEOF\n"
                          f"{GRAVITY}/bin/galaxyctl -c {GRAVITY_CONFIG} update && "
                          f"{GRAVITY}/bin/galaxyctl -c {GRAVITY_CONFIG} restart")
        address = self.hosts["gweb1"]["address"]
        # nginx's defaults, as in front of a Gravity install: no keepalive, default retries and passive checks
        conf = (f"upstream bench_gravity {{\n    server {address}:8080;\n    server {address}:8081;\n}}\n"
                "server {\n    listen 8000;\n    location / {\n        proxy_pass http://bench_gravity;\n    }\n}\n")
        self.ssh("proxy1", f"cat > /etc/nginx/conf.d/bench-gravity.conf <<'EOF'\n{conf}EOF\n"
                           "nginx -t -q && systemctl reload nginx")

    # -- measurements ---------------------------------------------------------------------------
    def wait_healthy(self, urls: list[str], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                done = subprocess.run(["curl", "-sf", "-m", "2", url], capture_output=True, check=False)
                if done.returncode == 0 and b"version_major" in done.stdout:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not healthy after {timeout} s")
                time.sleep(0.5)

    def boot_times(self, host: str, units: list[str], since_monotonic: float) -> dict[str, dict[str, float]]:
        """unit -> {boot: seconds from its main process start to its ready log line, stop: seconds the old
        process took to stop (ActiveExit to InactiveEnter), start and ready: kernel monotonic times}, for the
        units started after since_monotonic."""
        script = (
            "import json, subprocess, sys\n"
            "out = {}\n"
            "for unit in sys.argv[2:]:\n"
            "    props = dict(l.split('=', 1) for l in subprocess.run(['systemctl', 'show', '-p',\n"
            "        'InvocationID,ExecMainStartTimestampMonotonic,ActiveExitTimestampMonotonic,'\n"
            "        'InactiveEnterTimestampMonotonic', unit], capture_output=True, text=True).stdout.split())\n"
            "    start = int(props.get('ExecMainStartTimestampMonotonic') or 0) / 1e6\n"
            "    stop = max(0, int(props.get('InactiveEnterTimestampMonotonic') or 0)\n"
            "              - int(props.get('ActiveExitTimestampMonotonic') or 0)) / 1e6\n"
            "    if start < float(sys.argv[1]):\n"
            "        continue\n"
            "    lines = subprocess.run(['journalctl', '-o', 'json', '_SYSTEMD_INVOCATION_ID=' + props['InvocationID']],\n"
            "        capture_output=True, text=True).stdout.splitlines()\n"
            "    for line in lines:\n"
            "        entry = json.loads(line)\n"
            "        msg = entry.get('MESSAGE') or ''\n"
            "        if isinstance(msg, str) and ('ready, listening' in msg or 'is running' in msg):\n"
            "            ready = int(entry['__MONOTONIC_TIMESTAMP']) / 1e6\n"
            "            out[unit] = {'boot': ready - start, 'stop': stop, 'start': start, 'ready': ready}\n"
            "            break\n"
            "print(json.dumps(out))\n"
        )
        done = self.ssh(host, shlex.join(["python3", "-c", script, str(since_monotonic), *units]))
        return json.loads(done.stdout)

    def under_load(self, url: str, restart: list[str], units: dict[str, list[str]]) -> dict:
        """Run restart (a command) while both load generators run; return the figures."""
        stop = self.work / "stop"
        stop.unlink(missing_ok=True)
        loads = {}
        procs = {}
        for mode, extra in (("strict", ["--fresh-connections", "--retry-stale", "none"]),
                            ("keep-alive", ["--retry-stale", "all"])):
            report = self.work / f"load-{mode}.json"
            loads[mode] = report
            procs[mode] = subprocess.Popen(
                [sys.executable, str(LOADGEN), url, "-c", "8", "--rate", str(self.args.rate), *extra,
                 "--stop-file", str(stop), "--duration", "1800", "--report", str(report)],
                stdout=subprocess.DEVNULL)
        time.sleep(3)
        before = time.monotonic()
        started = time.monotonic()
        rc, output, waits = self.timed(restart)
        wall = time.monotonic() - started
        time.sleep(2)
        stop.touch()
        for proc in procs.values():
            proc.wait(timeout=120)
        records = {}
        for host, host_units in units.items():
            records.update({f"{host}/{u}": r for u, r in self.boot_times(host, host_units, before).items()})
        boots = {k: r["boot"] for k, r in records.items()}
        result = {"rc": rc, "wall": wall, "boots": boots, "waits": waits, "lanes": lanes(records),
                  "loads": {mode: json.loads(path.read_text()) for mode, path in loads.items()}}
        if rc != 0:
            result["output"] = output[-2000:]
        return result

    def timed(self, argv: list[str]) -> tuple[int, str, float | None]:
        """Run argv; return its exit code, output and, for ansible-playbook, the seconds spent in the
        role's "Wait until ..." tasks (waiting for processes to boot) from the time each task line appeared."""
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env,
                                cwd=self.work)
        lines, marks = [], []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("TASK ["):
                marks.append((time.monotonic(), line))
        rc = proc.wait()
        marks.append((time.monotonic(), ""))
        waits = None
        if len(marks) > 1:
            waits = sum(t2 - t1 for (t1, name), (t2, _n) in zip(marks, marks[1:]) if ": Wait until " in name)
        return rc, "".join(lines), waits

    def main(self) -> int:
        rows = []
        try:
            self.up()
            inventory = self.write_inventory()
            self.deploy(inventory)
            self.gravity_setup()
            proxy = self.hosts["proxy1"]["address"]
            self.wait_healthy([f"http://{self.hosts[h]['address']}:{p}/api/version"
                               for h in ("web1", "web2", "gweb1") for p in (8080, 8081)])
            units = ["galaxy-gunicorn@0.service", "galaxy-gunicorn@1.service", "galaxy-handler.service"]
            extra = [arg for value in self.args.restart_arg for arg in ("-e", value)]
            rows.append(("galaxyops.fleet rolling_restart (2 web hosts x 2 gunicorns + 2 handlers"
                         + (", " + " ".join(self.args.restart_arg) if extra else "") + ")", self.under_load(
                f"http://{proxy}", ["ansible-playbook", "-i", str(inventory), "galaxyops.fleet.rolling_restart", *extra],
                {"web1": units, "web2": units})))
            gweb1 = self.hosts["gweb1"]
            rows.append(("Gravity 1.2.4 galaxyctl graceful (1 web host x 2 gunicorns)", self.under_load(
                f"http://{proxy}:8000",
                ["ssh", "-q", "-i", gweb1["identity_file"], "-p", str(gweb1["port"]), "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", f"root@{gweb1['address']}",
                 f"{GRAVITY}/bin/galaxyctl -c {GRAVITY_CONFIG} graceful"],
                {"gweb1": units[:2]})))
        finally:
            if not self.args.keep:
                self.down()
                shutil.rmtree(self.work, ignore_errors=True)
        self.print_table(rows)
        return 0

    def print_table(self, rows: list[tuple[str, dict]]) -> None:
        print(f"stand-in boot delay {self.args.boot_delay} s (handlers {self.args.handler_boot_delay} s); "
              f"load: 8 clients x 2 modes, {self.args.rate} requests/s each, GET /api/version + POST /api/echo")
        print()
        print("| restart | requests strict | failed strict | requests keep-alive | failed keep-alive (resent) "
              "| p99 ms strict / keep-alive | restart wall s | sum boot-to-healthy s | ratio |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, r in rows:
            strict, keep = r["loads"]["strict"], r["loads"]["keep-alive"]
            boot = sum(r["boots"].values())
            ratio = f"{r['wall'] / boot:.2f}" if boot else "-"
            print(f"| {name}{'' if r['rc'] == 0 else ' (FAILED rc=' + str(r['rc']) + ')'} | {strict['total']:,} "
                  f"| {strict['failed']} | {keep['total']:,} | {keep['failed']} ({keep['stale_retries']}) "
                  f"| {strict['latency_ms']['p99']} / {keep['latency_ms']['p99']} | {r['wall']:.1f} | {boot:.1f} "
                  f"| {ratio} |")
        print()
        for name, r in rows:
            print(f"{name}: boot-to-healthy " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r["boots"].items())))
            if r["lanes"]:
                longest = max(r["lanes"].values())
                print(f"  lanes (sum of stop + boot s): " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["lanes"].items()))
                      + f"; wall {r['wall']:.1f} s = {r['wall'] / longest:.2f} x the longest lane ({longest:.1f} s, "
                      "target 1.15 or less)")
            if r["waits"] is not None:
                print(f"  of the wall time, {r['waits']:.1f} s in the role's waits for processes to be ready, "
                      f"{r['wall'] - r['waits']:.1f} s everything else (playbook start, plan, checks, drains, restarts)")
            for mode in ("strict", "keep-alive"):
                load = r["loads"][mode]
                if load["failed"]:
                    print(f"  {mode} failures: {load['failures']} window {load['failure_window_s']} s")
            if r.get("output"):
                print("  output: " + r["output"][-800:])


def lanes(records: dict[str, dict[str, float]]) -> dict[str, float]:
    """The lanes of a restart and each one's sum of stop + boot seconds: the gunicorns (one lane: their
    steps follow each other; units whose start..ready overlap are one step, counted once, by the longest),
    and the other units per host (handlers and services run as a lane of their host)."""
    groups: dict[str, list[dict[str, float]]] = {}
    for unit_id, r in records.items():
        host, _sep, unit = unit_id.partition("/")
        groups.setdefault("gunicorns" if "gunicorn" in unit else f"others on {host}", []).append(r)
    out = {}
    for lane, rs in groups.items():
        total, step_end, step_cost = 0.0, None, 0.0
        for r in sorted(rs, key=lambda r: r["start"]):
            if step_end is not None and r["start"] < step_end:
                step_cost, step_end = max(step_cost, r["stop"] + r["boot"]), max(step_end, r["ready"])
                continue
            total += step_cost
            step_cost, step_end = r["stop"] + r["boot"], r["ready"]
        out[lane] = round(total + step_cost, 2)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--prefix", default=os.environ.get("FLEET_BENCH_PREFIX", "bench"), help="test bed prefix")
    parser.add_argument("--boot-delay", type=float, default=20.0, help="stand-in web boot delay, seconds (default 20)")
    parser.add_argument("--handler-boot-delay", type=float, default=10.0, help="stand-in handler boot delay (default 10)")
    parser.add_argument("--rate", type=float, default=150.0, help="requests per second of each load generator")
    parser.add_argument("--keep", action="store_true", help="leave the hosts up (debugging)")
    parser.add_argument("--restart-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="extra var of the collection's restart (repeatable), e.g. restart_max_unavailable=2")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(Bench(parse_args()).main())
