"""Helpers: the stand-in venv, a throwaway PostgreSQL 15 and stand-in processes on this machine."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BUILD_VENV = REPO / "tests" / "fixtures" / "standin" / "build-venv"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def http(method: str, url: str, body: dict | None = None, timeout: float = 10):
    """(status, headers, decoded JSON) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.headers, json.loads(resp.read())


class Postgres:
    """A PostgreSQL 15 cluster in a temporary folder, owned by the postgres user, on 127.0.0.1."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def _as_pg(self, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        cmd = list(argv) if os.geteuid() != 0 else ["runuser", "-u", PG_USER, "--", *argv]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60, **kwargs)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.workdir, PG_USER, PG_USER)
        self._as_pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", PG_USER, "--no-sync")
        cmd = [str(PG_BIN / "postgres"), "-D", str(self.data), "-k", str(self.workdir), "-h", "127.0.0.1",
               "-p", str(self.port), "-c", "fsync=off", "-c", "max_connections=60"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        log = open(self.workdir / "postgres.log", "wb")  # noqa: SIM115 - kept open for the server's life
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                                        check=False).returncode == 0, 30, "postgres to accept connections")
        self.psql("CREATE ROLE galaxy LOGIN", db="postgres")
        self.psql("CREATE DATABASE galaxy OWNER galaxy", db="postgres")

    def psql(self, sql: str, db: str = "galaxy", user: str = PG_USER) -> str:
        out = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                              "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
                             check=True, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def session(self, db: str = "galaxy") -> subprocess.Popen:
        """An interactive psql whose transactions the test drives through stdin."""
        return subprocess.Popen([str(PG_BIN / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                 "-p", str(self.port), "-U", PG_USER, "-d", db],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @property
    def url(self) -> str:
        return f"postgresql://galaxy@127.0.0.1:{self.port}/galaxy"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Proc:
    """A stand-in process in its own session (so its workers are signalled and reaped with it)."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str], log: Path):
        self.name = name
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._fh, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self) -> None:
        """SIGTERM first (a gunicorn master reaps its own workers), then SIGKILL whatever is left in the session."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.popen.poll() is None:
            self.popen.wait(10)
        self._fh.close()


class Fleet:
    """Starts stand-in processes with Gravity's command lines (systemd, service_command_style: direct)."""

    def __init__(self, venv: Path, workdir: Path, galaxy_yml: Path):
        self.venv = venv
        self.root = venv / "server"
        self.workdir = workdir
        self.galaxy_yml = galaxy_yml
        self.procs: list[Proc] = []

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {"PATH": f"{self.venv}/bin/:/usr/bin:/bin", "VIRTUAL_ENV": str(self.venv), "LANG": "C.UTF-8"}
        env.update(extra)
        return env

    def gunicorn(self, port: int, workers: int = 1) -> Proc:
        argv = [f"{self.venv}/bin/gunicorn", "galaxy.webapps.galaxy.fast_factory:factory()", "--timeout", "300",
                "--pythonpath", "lib", "-k", "galaxy.webapps.galaxy.workers.Worker", "-b", f"127.0.0.1:{port}",
                f"--workers={workers}", "--config", "python:galaxy.web_stack.gunicorn_config", "--preload",
                "--no-control-socket"]
        env = self._env({"PYTHONPATH": "lib", "GALAXY_CONFIG_FILE": str(self.galaxy_yml)})
        return self._start(f"gunicorn-{port}", argv, env)

    def handler(self, name: str, pools: list[str], installed: bool = True) -> Proc:
        head = [f"{self.venv}/bin/galaxy-main"] if installed else [f"{self.venv}/bin/python", "./scripts/galaxy-main"]
        argv = [*head, "-c", str(self.galaxy_yml), f"--server-name={name}", *(f"--attach-to-pool={p}" for p in pools)]
        return self._start(name, argv, self._env({}))

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(name, argv, self.root, env, self.workdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


def write_galaxy_yml(path: Path, galaxy: dict) -> Path:
    path.write_text(yaml.safe_dump({"gravity": {"process_manager": "systemd"}, "galaxy": galaxy}))
    return path
