"""Multi-host test bed: Debian 12 hosts booted with systemd-nspawn on one machine.

Each host is an overlayfs over a shared base root file system (built once with debootstrap),
lives in its own network namespace with a veth on the bridge ``fleetbr0`` (10.77.0.1/24), runs
systemd as PID 1 and answers root ssh with the test bed's key. Everything the test bed creates
carries its own names (cgroup ``galaxyops-testbed/<id>``, netns ``gxtb-<id>``, veth ``gxv...``,
directories under ``$FLEET_CACHE/testbed``), so teardown removes exactly that and nothing else,
also after a crash half-way. Run as root; see docs/testbed.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

CACHE = Path(os.environ.get("FLEET_CACHE", "/var/cache/galaxyops-fleet"))
TESTBED = CACHE / "testbed"
STATE_DIR = TESTBED / "state"
HOSTS_DIR = TESTBED / "hosts"
KEY = TESTBED / "id_ed25519"
LOCK = TESTBED / ".lock"

SUITE = "bookworm"
MIRROR = os.environ.get("FLEET_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Everything the hosts need at run time: they reach no package registry.
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "python3-venv",
    "python3-apt", "python3-psycopg2", "iproute2", "iputils-ping", "curl", "ca-certificates",
    "sudo", "procps", "less", "acl", "netbase", "nginx", "postgresql", "libpq5",
    # Slurm (munge, slurmctld, slurmd, client): the batch system of molecule/galaxy's job handlers
    "munge", "slurmctld", "slurmd", "slurm-client",
)
# Bump when the way the base is prepared changes (part of the base's cache key).
RECIPE = "4"
MASKED_UNITS = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer",
    "dpkg-db-backup.timer", "logrotate.timer", "e2scrub_reap.service",
)
# Installed but not started at boot: the roles under test decide.
DISABLED_UNITS = ("nginx.service", "postgresql.service", "munge.service", "slurmctld.service", "slurmd.service")

BRIDGE = "fleetbr0"
NETWORK = ipaddress.ip_network("10.77.0.0/24")
GATEWAY = ipaddress.ip_address("10.77.0.1")
FIRST_HOST = 10
NETNS_PREFIX = "gxtb-"
VETH_PREFIX = "gxv"
CGROUP_NAME = "galaxyops-testbed"
NSPAWN_RUN = Path("/run/systemd/nspawn")
OUR_MOUNTS = STATE_DIR / "mounts.json"   # machine-wide mounts the test bed made itself
DEFAULT_PREFIX = "tb"
SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
)

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$")
PREFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SEP = "--"   # id = prefix--name; prefixes never contain "--"


class TestbedError(Exception):
    """A failure the user can act on; printed without a traceback."""


def log(msg: str) -> None:
    print(f"testbed: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], check: bool = True, capture: bool = True,
        input_text: str | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, text=True, input=input_text, timeout=timeout,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip() if capture else ""
        raise TestbedError(f"{' '.join(cmd)} failed ({proc.returncode}): {detail}")
    return proc


@contextlib.contextmanager
def locked():
    TESTBED.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path, default: object) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


# ---------------------------------------------------------------- mounts and safe removal

def mount_points() -> list[str]:
    """Mount points of this mount namespace, in mount order."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            field = line.split()[4]
            points.append(field.encode().decode("unicode_escape"))
    return points


def is_mount(path: Path) -> bool:
    return str(path) in mount_points()


def unmount_below(path: Path) -> None:
    """Unmount everything at or below path, deepest first."""
    base = str(path)
    for _attempt in range(5):
        below = [p for p in mount_points() if p == base or p.startswith(base + "/")]
        if not below:
            return
        for point in sorted(set(below), key=len, reverse=True):
            if run(["umount", point], check=False).returncode != 0:
                run(["umount", "-l", point], check=False)
    raise TestbedError(f"cannot unmount everything below {path}")


def remove_tree(path: Path) -> None:
    """rm -rf that never crosses into a mount (a stale /proc or bind inside a root)."""
    if not path.exists() and not path.is_symlink():
        return
    unmount_below(path)
    run(["rm", "-rf", "--one-file-system", "--", str(path)])


def our_mounts() -> dict:
    return read_json(OUR_MOUNTS, {})  # type: ignore[return-value]


def remember_mount(key: str) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    data = our_mounts()
    data[key] = True
    write_json(OUR_MOUNTS, data)


def forget_mount(key: str) -> None:
    data = our_mounts()
    if data.pop(key, None) is not None:
        write_json(OUR_MOUNTS, data)


# ---------------------------------------------------------------- base root file system

def base_key() -> str:
    text = "\n".join([SUITE, RECIPE, *sorted(PACKAGES)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_path() -> Path:
    return TESTBED / f"base-{base_key()}"


def ensure_key() -> None:
    if KEY.exists() and KEY.with_suffix(".pub").exists():
        return
    TESTBED.mkdir(parents=True, exist_ok=True)
    for path in (KEY, KEY.with_suffix(".pub")):
        path.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "galaxyops-testbed", "-f", str(KEY)])


def ensure_base(rebuild: bool = False) -> Path:
    base = base_path()
    if base.is_dir() and not rebuild:
        return base
    TESTBED.mkdir(parents=True, exist_ok=True)
    for stale in TESTBED.glob("base-*.tmp-*"):
        log(f"removing half-built base {stale}")
        remove_tree(stale)
    tmp = TESTBED / f"{base.name}.tmp-{os.getpid()}"
    debs = TESTBED / "debs"
    debs.mkdir(exist_ok=True)
    build_log = TESTBED / "build-base.log"
    log(f"building base root file system {base} (debootstrap {SUITE}, log in {build_log})")
    started = time.monotonic()
    cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
           f"--cache-dir={debs}", SUITE, str(tmp), MIRROR]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open(build_log, "w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
    if proc.returncode != 0:
        remove_tree(tmp)
        tail = build_log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise TestbedError("debootstrap failed:\n" + "\n".join(tail))
    prepare_base(tmp)
    if base.exists():
        old = TESTBED / f"{base.name}.tmp-old-{os.getpid()}"
        os.rename(base, old)
        os.rename(tmp, base)
        remove_tree(old)
    else:
        os.rename(tmp, base)
    log(f"base ready in {time.monotonic() - started:.0f} s")
    prune_bases(keep=base)
    return base


def prepare_base(root: Path) -> None:
    """Make every clone distinct and quiet; runs on the finished debootstrap tree."""
    unmount_below(root)   # debootstrap normally unmounts proc/sys itself
    (root / "etc/machine-id").write_text("", encoding="utf-8")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "etc/hostname").unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    dropin = root / "etc/systemd/system/ssh.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    # Keys are made at first boot, before sshd's own config test (which needs them).
    (dropin / "testbed-hostkeys.conf").write_text(
        "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n",
        encoding="utf-8")
    (root / "etc/ssh/sshd_config.d/testbed.conf").write_text(
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n", encoding="utf-8")
    # No name server is reachable: fail name lookups at once instead of timing out.
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text("# galaxyops test bed: no DNS, host names come from /etc/hosts\n", encoding="utf-8")
    run(["systemctl", f"--root={root}", "mask", *MASKED_UNITS])
    run(["systemctl", f"--root={root}", "disable", *DISABLED_UNITS])
    for path in (root / "var/lib/apt/lists").glob("*_Packages"):
        path.unlink()
    for path in (root / "var/cache/apt/archives").glob("*.deb"):
        path.unlink()
    for docs in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale"):
        remove_tree(root / docs)
        (root / docs).mkdir()
    (root / ".galaxyops-testbed-base").write_text(base_key() + "\n", encoding="utf-8")


def prune_bases(keep: Path) -> None:
    used = {h.get("base") for h in all_states()}
    for other in TESTBED.glob("base-*"):
        if other != keep and re.fullmatch(r"base-[0-9a-f]{12}", other.name) and str(other) not in used:
            log(f"removing unused base {other}")
            remove_tree(other)


# ---------------------------------------------------------------- host records

def host_id(prefix: str, name: str) -> str:
    return f"{prefix}{SEP}{name}"


def split_id(hid: str) -> tuple[str, str]:
    prefix, _sep, name = hid.partition(SEP)
    return prefix, name


def netns_name(hid: str) -> str:
    return NETNS_PREFIX + hid


def veth_name(hid: str) -> str:
    return VETH_PREFIX + hashlib.sha1(hid.encode()).hexdigest()[:11]


def cgroup_roots() -> list[Path]:
    fs = Path("/sys/fs/cgroup")
    if (fs / "cgroup.controllers").exists():          # pure cgroup v2
        return [fs]
    return [p for p in (fs / "systemd", fs / "unified") if (p / "cgroup.procs").exists()]


def cgroup_dirs(hid: str) -> list[Path]:
    return [root / CGROUP_NAME / hid for root in cgroup_roots()]


def state_file(hid: str) -> Path:
    return STATE_DIR / f"{hid}.json"


def all_states() -> list[dict]:
    states = []
    for path in sorted(STATE_DIR.glob(f"*{SEP}*.json")):
        data = read_json(path, None)
        if isinstance(data, dict):
            states.append(data)
    return states


def prefix_states(prefix: str) -> list[dict]:
    return [s for s in all_states() if s["prefix"] == prefix]


def cgroup_pids(hid: str) -> set[int]:
    pids: set[int] = set()
    for top in cgroup_dirs(hid):
        if not top.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError):
                    text = Path(dirpath, "cgroup.procs").read_text(encoding="utf-8")
                    pids.update(int(p) for p in text.split())
    return pids


def ns_pids(pid: int) -> list[str]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("NSpid:"):
                return line.split()[1:]
    except OSError:
        pass
    return []


def leader_pid(hid: str) -> int | None:
    """The container's PID 1 (systemd) as seen from the machine."""
    for pid in sorted(cgroup_pids(hid)):
        nspid = ns_pids(pid)
        if len(nspid) > 1 and nspid[-1] == "1":
            return pid
    return None


def nspawn_pids(hid: str) -> list[int]:
    found = []
    for pid in cgroup_pids(hid):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if exe.endswith("/systemd-nspawn") and len(ns_pids(pid)) == 1:
            found.append(pid)
    return found


def in_host(hid: str, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    pid = leader_pid(hid)
    if pid is None:
        raise TestbedError(f"host {hid} is not running")
    return run(["nsenter", "-t", str(pid), "-a", *cmd], check=False, timeout=timeout)


def system_state(hid: str) -> str:
    if leader_pid(hid) is None:
        return "stopped"
    try:
        proc = in_host(hid, ["systemctl", "is-system-running"], timeout=10)
    except (TestbedError, subprocess.TimeoutExpired):
        return "unknown"
    return proc.stdout.strip() or "unknown"


def ssh_ok(address: str) -> bool:
    cmd = ["ssh", "-i", str(KEY), *SSH_OPTIONS, "-o", "ConnectTimeout=3", f"root@{address}", "true"]
    return run(cmd, check=False, timeout=20).returncode == 0


def pss_mb(hid: str) -> float:
    total = 0
    for pid in cgroup_pids(hid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)


# ---------------------------------------------------------------- machine-wide network

def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def netns_list() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except OSError:
        return []


def ensure_bridge() -> None:
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addr = f"{GATEWAY}/{NETWORK.prefixlen}"
    shown = run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if addr not in shown:
        run(["ip", "addr", "add", addr, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def ensure_nspawn_run() -> None:
    """nspawn needs /run/systemd/nspawn on a tmpfs when /run itself is not one."""
    if is_mount(NSPAWN_RUN):
        return
    NSPAWN_RUN.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "galaxyops-testbed", str(NSPAWN_RUN)])
    remember_mount(str(NSPAWN_RUN))


# Each booted host's systemd, journald, logind, udev and dbus take inotify instances of root's
# per-user limit (Debian's default 128): about 21 hosts exhaust it and the next host's systemd dies
# at boot with "Failed to allocate manager object". Raised (never lowered) for every host of the
# machine, this run's included.
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
INOTIFY_PER_HOST = 16


def ensure_inotify(hosts: int) -> None:
    """Raise fs.inotify.max_user_instances to room for ``hosts`` test hosts besides the machine's own."""
    try:
        current = int(INOTIFY_INSTANCES.read_text().strip())
    except (OSError, ValueError):
        return
    wanted = 128 + INOTIFY_PER_HOST * hosts
    if current < wanted:
        INOTIFY_INSTANCES.write_text(f"{wanted}\n")
        log(f"raised fs.inotify.max_user_instances from {current} to {wanted} for {hosts} host(s)")


def ensure_netns_dir() -> None:
    if not Path("/run/netns").is_dir() or not is_mount(Path("/run/netns")):
        # "ip netns add" turns /run/netns into a mount point of its own; remember that it was us.
        remember_mount("/run/netns")


def cleanup_machine_wide() -> None:
    """Drop bridge, tmpfs, netns dir mount and parent cgroups once no host of ours is left."""
    if all_states() or any(n.startswith(NETNS_PREFIX) for n in netns_list()):
        return
    if link_exists(BRIDGE):
        run(["ip", "link", "del", BRIDGE], check=False)
    mounts = our_mounts()
    if mounts.get(str(NSPAWN_RUN)) and is_mount(NSPAWN_RUN) and not running_nspawns():
        run(["umount", str(NSPAWN_RUN)], check=False)
        forget_mount(str(NSPAWN_RUN))
    netns_dir = Path("/run/netns")
    if mounts.get("/run/netns") and not netns_list():
        if is_mount(netns_dir):
            run(["umount", str(netns_dir)], check=False)
        with contextlib.suppress(OSError):
            netns_dir.rmdir()
        forget_mount("/run/netns")
    for root in cgroup_roots():
        with contextlib.suppress(OSError):
            (root / CGROUP_NAME).rmdir()


def running_nspawns() -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "exe").endswith("/systemd-nspawn"):
                    return True
    return False


# ---------------------------------------------------------------- create

def parse_bind(text: str) -> str:
    src, sep, dst = text.partition(":")
    if not sep or not src.startswith("/") or not dst.startswith("/"):
        raise TestbedError(f"bind {text!r}: expected /SRC:/DST")
    if not Path(src).exists():
        raise TestbedError(f"bind {text!r}: {src} does not exist on this machine")
    return f"{src}:{dst}"


def normalize_spec(item: dict, prefix: str, bind_ro: list[str], bind_rw: list[str]) -> dict:
    name = str(item.get("name", ""))
    if not NAME_RE.match(name):
        raise TestbedError(f"host name {name!r}: use lower-case letters, digits and '-' (max 30)")
    address = item.get("address")
    if address:
        ip = ipaddress.ip_address(str(address))
        if ip not in NETWORK or ip == GATEWAY or ip in (NETWORK.network_address, NETWORK.broadcast_address):
            raise TestbedError(f"address {address}: must be a host address in {NETWORK} other than {GATEWAY}")
        address = str(ip)
    return {
        "name": name,
        "prefix": prefix,
        "id": host_id(prefix, name),
        "address": address or None,
        "binds_ro": sorted({parse_bind(b) for b in [*bind_ro, *(item.get("binds_ro") or [])]}),
        "binds": sorted({parse_bind(b) for b in [*bind_rw, *(item.get("binds") or [])]}),
    }


def assign_addresses(specs: list[dict]) -> None:
    taken: dict[str, str] = {}
    current = {s["id"]: s for s in all_states()}
    requested = {s["id"] for s in specs}
    for hid, st in current.items():
        if hid not in requested:
            taken[st["address"]] = hid
    for spec in specs:
        if spec["address"]:
            owner = taken.get(spec["address"])
            if owner and owner != spec["id"]:
                raise TestbedError(f"address {spec['address']} is already used by {owner}")
            taken[spec["address"]] = spec["id"]
    for spec in specs:
        if spec["address"]:
            continue
        old = current.get(spec["id"], {}).get("address")
        if old and old not in taken:
            spec["address"] = old
        else:
            for host in NETWORK.hosts():
                if int(host) - int(NETWORK.network_address) >= FIRST_HOST and str(host) not in taken:
                    spec["address"] = str(host)
                    break
            else:
                raise TestbedError(f"no free address left in {NETWORK}")
        taken[spec["address"]] = spec["id"]


def condition(st: dict, spec: dict) -> str:
    """'ready', 'booting' (keep and wait) or 'bad' (replace) for an existing host."""
    same = all(st.get(k) == spec[k] for k in ("address", "binds", "binds_ro")) and st.get("base") == str(base_path())
    if not same or st.get("phase") != "started":
        return "bad"
    if not is_mount(Path(st["root"])) or not Path("/run/netns", st["netns"]).exists():
        return "bad"
    if not nspawn_pids(st["id"]):
        return "bad"
    state = system_state(st["id"])
    if state in ("running", "degraded"):
        return "ready"
    return "booting" if state in ("initializing", "starting", "unknown", "stopped") else "bad"


def hosts_file(prefix: str) -> str:
    lines = ["# galaxyops test bed: every host of this bed", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", f"{GATEWAY}\ttestbed-gateway"]
    for st in sorted(prefix_states(prefix), key=lambda s: ipaddress.ip_address(s["address"])):
        lines.append(f"{st['address']}\t{st['name']}")
    return "\n".join(lines) + "\n"


def write_hosts_files(prefix: str) -> None:
    content = hosts_file(prefix)
    for st in prefix_states(prefix):
        target = Path(st["root"], "etc/hosts")
        if is_mount(Path(st["root"])):
            target.unlink(missing_ok=True)   # never follow a link planted inside a host
            target.write_text(content, encoding="utf-8")


def create_host(spec: dict, base: Path) -> dict:
    hid = spec["id"]
    hdir = HOSTS_DIR / hid
    st = dict(spec, base=str(base), dir=str(hdir), root=str(hdir / "root"), netns=netns_name(hid),
              veth=veth_name(hid), phase="creating", created=time.time())
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    write_json(state_file(hid), st)   # first: so that down finds a half-made host
    for sub in ("upper", "work", "root"):
        (hdir / sub).mkdir(parents=True, exist_ok=True)
    root = Path(st["root"])
    run(["mount", "-t", "overlay", f"testbed-{hid}", "-o",
         f"lowerdir={base},upperdir={hdir / 'upper'},workdir={hdir / 'work'}", str(root)])
    (root / "etc/hostname").write_text(spec["name"] + "\n", encoding="utf-8")
    (root / "etc/machine-id").write_text(uuid.uuid4().hex + "\n", encoding="utf-8")
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(KEY.with_suffix(".pub").read_text(encoding="utf-8"), encoding="utf-8")
    os.chmod(ssh_dir / "authorized_keys", 0o600)

    ensure_netns_dir()
    ns, veth = st["netns"], st["veth"]
    if not Path("/run/netns", ns).exists():
        run(["ip", "netns", "add", ns])
    if not link_exists(veth):
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    run(["ip", "-n", ns, "addr", "replace", f"{spec['address']}/{NETWORK.prefixlen}", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", ns, "route", "replace", "default", "via", str(GATEWAY)])

    procs_files = []
    for cg in cgroup_dirs(hid):
        cg.mkdir(parents=True, exist_ok=True)
        procs_files.append(str(cg / "cgroup.procs"))
    nspawn = ["systemd-nspawn", "--quiet", "--boot", f"--directory={root}", f"--machine={hid}",
              f"--hostname={spec['name']}", f"--network-namespace-path=/run/netns/{ns}",
              "--register=no", "--keep-unit", "--console=passive", "--resolv-conf=off",
              "--timezone=off", "--link-journal=no"]
    nspawn += [f"--bind-ro={b}" for b in spec["binds_ro"]]
    nspawn += [f"--bind={b}" for b in spec["binds"]]
    # A small loop per host: nspawn exits 133 when the host reboots; boot it again then.
    loop = 'while :; do "$@"; rc=$?; [ "$rc" -eq 133 ] || exit "$rc"; done'

    def join_cgroups() -> None:
        for path in procs_files:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(str(os.getpid()))

    with open(hdir / "console.log", "a", encoding="utf-8") as out:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with,subprocess-popen-preexec-fn
            ["/bin/bash", "-c", loop, "testbed-launcher", *nspawn],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, preexec_fn=join_cgroups)
    st.update(phase="started", launcher_pid=proc.pid)
    write_json(state_file(hid), st)
    return st


def wait_ready(states: list[dict], timeout: float) -> None:
    pending = {st["id"]: st for st in states}
    booted: set[str] = set()
    deadline = time.monotonic() + timeout
    while pending:
        for hid, st in list(pending.items()):
            if hid not in booted:
                if not cgroup_pids(hid):
                    raise TestbedError(f"host {hid} exited while booting: {console_tail(st)}")
                if system_state(hid) in ("running", "degraded"):
                    booted.add(hid)
            if hid in booted and ssh_ok(st["address"]):
                del pending[hid]
        if not pending:
            break
        if time.monotonic() > deadline:
            details = "; ".join(f"{h}: {system_state(h)}" for h in pending)
            raise TestbedError(f"hosts not ready after {timeout:.0f} s ({details}); see 'testbed status'")
        time.sleep(0.2)


def console_tail(st: dict) -> str:
    try:
        return " | ".join(Path(st["dir"], "console.log").read_text(encoding="utf-8").splitlines()[-5:])
    except OSError:
        return "(no console log)"


def host_view(st: dict, with_state: bool = True) -> dict:
    view = {"name": st["name"], "prefix": st["prefix"], "id": st["id"], "address": st["address"],
            "user": "root", "port": 22, "identity_file": str(KEY),
            "binds_ro": st["binds_ro"], "binds": st["binds"]}
    if with_state:
        view["state"] = system_state(st["id"])
        view["pid"] = leader_pid(st["id"])
    return view


def cmd_up(args: argparse.Namespace) -> int:
    items: list[dict] = []
    if args.spec:
        text = sys.stdin.read() if args.spec == "-" else Path(args.spec).read_text(encoding="utf-8")
        loaded = json.loads(text or "[]")
        if not isinstance(loaded, list):
            raise TestbedError("--spec: expected a JSON list of {name, address?, binds_ro?, binds?}")
        items += loaded
    for text in args.hosts:
        name, _sep, address = text.partition("=")
        items.append({"name": name, "address": address or None})
    if not items:
        raise TestbedError("up: name at least one host (or give --spec)")
    specs = [normalize_spec(i, args.prefix, args.bind_ro, args.bind) for i in items]
    if len({s["name"] for s in specs}) != len(specs):
        raise TestbedError("up: host names must be unique")
    started = time.monotonic()
    with locked():
        ensure_key()
        base = ensure_base()
        assign_addresses(specs)
        ensure_bridge()
        ensure_nspawn_run()
        current = {s["id"]: s for s in all_states()}
        ensure_inotify(len(set(current) | {s["id"] for s in specs}))
        fresh, kept = [], []
        for spec in specs:
            st = current.get(spec["id"])
            found = condition(st, spec) if st else "missing"
            if found == "ready":
                kept.append(st)
                continue
            if found == "booting":
                fresh.append(st)
                continue
            if st or leftovers(spec["id"]):
                log(f"{spec['id']}: replacing a stale or changed host")
                teardown([spec["id"]])
            fresh.append(create_host(spec, base))
        write_hosts_files(args.prefix)
        if fresh:
            wait_ready(fresh, args.timeout)
            log(f"{len(fresh)} host(s) up in {time.monotonic() - started:.1f} s"
                + (f", {len(kept)} kept" if kept else ""))
        elif kept:
            log(f"all {len(kept)} host(s) already up")
        result = [host_view(read_json(state_file(s["id"]), {})) for s in specs]  # type: ignore[arg-type]
        if args.inventory:
            write_inventory(Path(args.inventory), args.prefix, args.group)
    if args.json:
        print(json.dumps({"changed": bool(fresh), "hosts": result}, indent=2))
    else:
        print_table(result)
    return 0


# ---------------------------------------------------------------- teardown

def leftovers(hid: str) -> bool:
    return (state_file(hid).exists() or (HOSTS_DIR / hid).exists() or any(c.exists() for c in cgroup_dirs(hid))
            or Path("/run/netns", netns_name(hid)).exists() or link_exists(veth_name(hid)))


def known_ids(prefix: str | None) -> set[str]:
    """Every host id with anything left of it: state, directory, cgroup or network namespace."""
    ids = {s["id"] for s in all_states()}
    if HOSTS_DIR.is_dir():
        ids.update(p.name for p in HOSTS_DIR.iterdir() if SEP in p.name)
    for root in cgroup_roots():
        top = root / CGROUP_NAME
        if top.is_dir():
            ids.update(p.name for p in top.iterdir() if p.is_dir() and SEP in p.name)
    ids.update(n[len(NETNS_PREFIX):] for n in netns_list() if n.startswith(NETNS_PREFIX) and SEP in n)
    if prefix is not None:
        ids = {i for i in ids if split_id(i)[0] == prefix}
    return ids


def kill_cgroups(ids: list[str], grace: float) -> None:
    for hid in ids:
        launchers = nspawn_pids(hid)
        leader = leader_pid(hid)
        with contextlib.suppress(ProcessLookupError):
            if launchers:
                for pid in launchers:
                    os.kill(pid, signal.SIGTERM)   # nspawn halts the host cleanly on SIGTERM
            elif leader:
                os.kill(leader, signal.SIGRTMIN + 4)   # nspawn gone: ask systemd to power off
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(cgroup_pids(h) for h in ids):
        time.sleep(0.1)
    for _attempt in range(50):
        alive = {h: cgroup_pids(h) for h in ids}
        if not any(alive.values()):
            break
        for hid, pids in alive.items():
            killed = False
            for cg in cgroup_dirs(hid):
                if (cg / "cgroup.kill").exists():
                    with contextlib.suppress(OSError):
                        (cg / "cgroup.kill").write_text("1", encoding="utf-8")
                        killed = True
            if not killed:
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    else:
        raise TestbedError(f"processes survive in the cgroups of {', '.join(ids)}")
    for hid in ids:
        for cg in cgroup_dirs(hid):
            if cg.is_dir():
                for dirpath, _dirs, _files in os.walk(cg, topdown=False):
                    with contextlib.suppress(OSError):
                        os.rmdir(dirpath)


def teardown(ids: list[str], grace: float = 10.0) -> None:
    if not ids:
        return
    kill_cgroups(ids, grace)
    for hid in ids:
        hdir = HOSTS_DIR / hid
        unmount_below(hdir)
        ns = netns_name(hid)
        if Path("/run/netns", ns).exists():
            run(["ip", "netns", "del", ns], check=False)
        if link_exists(veth_name(hid)):
            run(["ip", "link", "del", veth_name(hid)], check=False)
        remove_tree(hdir)
        state_file(hid).unlink(missing_ok=True)


def cmd_down(args: argparse.Namespace) -> int:
    started = time.monotonic()
    with locked():
        if args.all:
            ids = sorted(known_ids(None))
        elif args.hosts:
            ids = sorted(host_id(args.prefix, n) for n in args.hosts)
        else:
            ids = sorted(known_ids(args.prefix))
        ids = [i for i in ids if leftovers(i)]
        prefixes = {split_id(i)[0] for i in ids}
        teardown(ids, args.grace)
        for prefix in prefixes:
            write_hosts_files(prefix)
        cleanup_machine_wide()
    log(f"removed {len(ids)} host(s) in {time.monotonic() - started:.1f} s")
    if args.json:
        print(json.dumps({"changed": bool(ids), "removed": ids}))
    return 0


def find_leftovers(prefix: str | None) -> list[str]:
    """Everything of the test bed still on the machine (for one prefix, or all)."""
    found = []
    wanted = (lambda hid: split_id(hid)[0] == prefix) if prefix else (lambda hid: True)
    for st in all_states():
        if wanted(st["id"]):
            found.append(f"state file {state_file(st['id'])}")
    if HOSTS_DIR.is_dir():
        found += [f"host directory {p}" for p in HOSTS_DIR.iterdir() if wanted(p.name)]
    found += [f"mount {m}" for m in mount_points()
              if m.startswith(str(HOSTS_DIR) + "/") and wanted(Path(m).relative_to(HOSTS_DIR).parts[0])]
    found += [f"network namespace {n}" for n in netns_list()
              if n.startswith(NETNS_PREFIX) and wanted(n[len(NETNS_PREFIX):])]
    for root in cgroup_roots():
        top = root / CGROUP_NAME
        if top.is_dir():
            for cg in top.iterdir():
                if cg.is_dir() and wanted(cg.name):
                    found.append(f"cgroup {cg} (processes: {sorted(cgroup_pids(cg.name)) or 'none'})")
    ids = known_ids(prefix)
    found += [f"veth {veth_name(i)}" for i in ids if link_exists(veth_name(i))]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if os.readlink(entry / "exe").endswith("/systemd-nspawn"):
                for arg in args:
                    text = arg.decode(errors="replace")
                    if text.startswith(f"--directory={HOSTS_DIR}/"):
                        hid = Path(text.split("=", 1)[1]).parent.name
                        if wanted(hid):
                            found.append(f"process {entry.name} (systemd-nspawn of {hid})")
    if prefix is None:
        if link_exists(BRIDGE):
            found.append(f"bridge {BRIDGE}")
        for key in our_mounts():
            if is_mount(Path(key)):
                found.append(f"mount {key}")
        found += [f"cgroup {root / CGROUP_NAME}" for root in cgroup_roots() if (root / CGROUP_NAME).exists()]
    return found


def cmd_leftovers(args: argparse.Namespace) -> int:
    found = find_leftovers(None if args.all else args.prefix)
    for item in found:
        print(item)
    if found:
        log(f"{len(found)} leftover(s); 'testbed down --all' removes them")
        return 1
    print("nothing left")
    return 0


# ---------------------------------------------------------------- inspect and use

def print_table(views: list[dict]) -> None:
    if not views:
        print("no hosts")
        return
    print(f"{'NAME':<14} {'PREFIX':<16} {'ADDRESS':<13} {'STATE':<10} {'PSS_MB':>7}  BINDS")
    for v in views:
        binds = " ".join([f"ro:{b}" for b in v["binds_ro"]] + [f"rw:{b}" for b in v["binds"]])
        mem = v.get("pss_mb", "")
        print(f"{v['name']:<14} {v['prefix']:<16} {v['address']:<13} {v.get('state', ''):<10} {mem!s:>7}  {binds}")


def cmd_status(args: argparse.Namespace) -> int:
    states = all_states() if args.all else prefix_states(args.prefix)
    views = []
    for st in states:
        view = host_view(st)
        view["pss_mb"] = pss_mb(st["id"])
        views.append(view)
    if args.json:
        print(json.dumps({"base": str(base_path()), "base_ready": base_path().is_dir(), "hosts": views}, indent=2))
    else:
        print_table(views)
        orphans = sorted(known_ids(None) - {s["id"] for s in all_states()})
        if orphans:
            print(f"leftovers without state (remove with 'down --all'): {', '.join(orphans)}")
    return 0


def resolve(prefix: str | None, name: str) -> dict:
    if SEP in name:
        st = read_json(state_file(name), None)
    elif prefix:
        st = read_json(state_file(host_id(prefix, name)), None)
    else:
        matches = [s for s in all_states() if s["name"] == name]
        if len(matches) > 1:
            raise TestbedError(f"{name} exists in several prefixes; give --prefix")
        st = matches[0] if matches else None
    if not isinstance(st, dict):
        raise TestbedError(f"no host {name}")
    return st


def ssh_command(st: dict) -> list[str]:
    return ["ssh", "-i", str(KEY), *SSH_OPTIONS, f"root@{st['address']}"]


def cmd_ssh(args: argparse.Namespace) -> int:
    st = resolve(args.prefix, args.host)
    cmd = ssh_command(st) + (["-t"] if not args.command and sys.stdin.isatty() else []) + args.command
    os.execvp(cmd[0], cmd)
    return 1


def cmd_exec(args: argparse.Namespace) -> int:
    st = resolve(args.prefix, args.host)
    pid = leader_pid(st["id"])
    if pid is None:
        raise TestbedError(f"host {st['id']} is not running")
    cmd = ["nsenter", "-t", str(pid), "-a", *(args.command or ["/bin/bash", "-l"])]
    os.execvp(cmd[0], cmd)
    return 1


def write_inventory(path: Path, prefix: str, groups: list[str]) -> None:
    states = sorted(prefix_states(prefix), key=lambda s: ipaddress.ip_address(s["address"]))
    names = {s["name"] for s in states}
    q = json.dumps   # a JSON string is a valid YAML scalar
    lines = ["# Written by tests/testbed/testbed: the test bed's hosts and how to reach them.", "all:",
             "  vars:", "    ansible_user: root", f"    ansible_ssh_private_key_file: {q(str(KEY))}",
             f"    ansible_ssh_common_args: {q(' '.join(SSH_OPTIONS[:8]))}",
             "    ansible_ssh_pipelining: true", "    ansible_python_interpreter: /usr/bin/python3",
             "  hosts:"]
    lines += [f"    {s['name']}:\n      ansible_host: {s['address']}" for s in states]
    if groups:
        lines.append("  children:")
        for text in groups:
            group, _sep, members = text.partition("=")
            wanted = [m for m in members.split(",") if m]
            missing = [m for m in wanted if m not in names]
            if not group or missing:
                raise TestbedError(f"--group {text!r}: expected GROUP=host,host of this prefix")
            lines.append(f"    {group}:\n      hosts:")
            lines += [f"        {m}:" for m in wanted]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def cmd_inventory(args: argparse.Namespace) -> int:
    write_inventory(Path(args.file), args.prefix, args.group)
    return 0


def cmd_base(args: argparse.Namespace) -> int:
    with locked():
        ensure_key()
        base = ensure_base(rebuild=args.rebuild)
    print(base)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="testbed", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def prefixed(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--prefix", default=os.environ.get("TESTBED_PREFIX", DEFAULT_PREFIX),
                        help="name of this set of hosts (default: %(default)s)")

    sp = sub.add_parser("base", help="build the base root file system if missing; print its path")
    sp.add_argument("--rebuild", action="store_true")
    sp.set_defaults(func=cmd_base)

    sp = sub.add_parser("up", help="create and boot hosts (keeps healthy ones)")
    prefixed(sp)
    sp.add_argument("hosts", nargs="*", metavar="NAME[=ADDRESS]")
    sp.add_argument("--spec", help="JSON list of {name, address?, binds_ro?, binds?} from FILE or - (stdin)")
    sp.add_argument("--bind-ro", action="append", default=[], metavar="SRC:DST", help="read-only bind on every host")
    sp.add_argument("--bind", action="append", default=[], metavar="SRC:DST", help="read-write bind on every host")
    sp.add_argument("--inventory", metavar="FILE", help="write an Ansible YAML inventory of the prefix's hosts")
    sp.add_argument("--group", action="append", default=[], metavar="GROUP=h1,h2", help="group in --inventory")
    sp.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for boot (default: %(default)s)")
    sp.add_argument("--json", action="store_true", help="print the hosts as JSON")
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser("down", help="remove hosts: named ones, or all of the prefix, or --all")
    prefixed(sp)
    sp.add_argument("hosts", nargs="*", metavar="NAME")
    sp.add_argument("--all", action="store_true", help="every host of every prefix, and leftovers")
    sp.add_argument("--grace", type=float, default=10.0, help="seconds for a clean halt before SIGKILL")
    sp.add_argument("--json", action="store_true", help="print what was removed as JSON")
    sp.set_defaults(func=cmd_down)

    sp = sub.add_parser("leftovers", help="list anything of the test bed still present; exit 1 if any")
    prefixed(sp)
    sp.add_argument("--all", action="store_true", help="every prefix, plus bridge and machine-wide mounts")
    sp.set_defaults(func=cmd_leftovers)

    for name in ("status", "list"):
        sp = sub.add_parser(name, help="show hosts, their state and memory (PSS)")
        prefixed(sp)
        sp.add_argument("--all", action="store_true", help="every prefix")
        sp.add_argument("--json", action="store_true")
        sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("ssh", help="ssh to a host as root (NAME, or PREFIX--NAME)")
    sp.add_argument("--prefix", default=os.environ.get("TESTBED_PREFIX"))
    sp.add_argument("host")
    sp.add_argument("command", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_ssh)

    sp = sub.add_parser("exec", help="run a command in a host through nsenter (no ssh needed)")
    sp.add_argument("--prefix", default=os.environ.get("TESTBED_PREFIX"))
    sp.add_argument("host")
    sp.add_argument("command", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser("inventory", help="write an Ansible YAML inventory of a prefix's hosts")
    prefixed(sp)
    sp.add_argument("file")
    sp.add_argument("--group", action="append", default=[], metavar="GROUP=h1,h2")
    sp.set_defaults(func=cmd_inventory)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "prefix", None) and not PREFIX_RE.match(args.prefix):
        print(f"testbed: --prefix {args.prefix!r}: lower-case letters, digits, single '-'", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("testbed: run as root", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except TestbedError as exc:
        print(f"testbed: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
