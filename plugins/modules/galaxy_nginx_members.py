# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take Galaxy upstream members out of nginx or put them back (galaxyops.fleet.galaxy_nginx_members)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: galaxy_nginx_members
short_description: Record which Galaxy gunicorns are out of nginx, mark them C(down), test, reload
version_added: 0.1.0
description:
  - Owns the record of drained upstream members on a proxy host (O(state_file)). A member is one gunicorn of the
    plan (C(instances.NAME.upstream.members[])), named C(HOST/UNIT), for example C(web1/galaxy-gunicorn@0.service).
  - The drained members after the call are those recorded before, without O(undrain), with O(drain); members no
    longer in the plan are dropped from the record.
  - With O(update_conf=true) (the rolling restart's seam) it sets or clears C(down) on those members' C(server) lines
    of the deployed configuration (each line ends with C(# HOST/UNIT), as the role's template writes it), tests the
    candidate with O(check_command) (C(nginx -t) in a full copy of the configuration) before it replaces the live
    file, reloads nginx, waits until nginx runs workers with the new configuration and, with O(drain_wait), until the
    newly drained members have no request in flight from this host.
  - Once nginx runs the new configuration, it writes one journal entry per member taken out or put back
    (C(SYSLOG_IDENTIFIER=galaxyops-fleet), C(GALAXYOPS_EVENT=drain) or C(undrain), C(GALAXYOPS_MEMBER)), which
    M(galaxyops.fleet.galaxy_restart_journal) reads for the restart timeline.
  - With O(update_conf=false) it only updates the record and returns RV(down) and RV(instances), from which the
    role's main entry point renders the whole configuration.
  - Joining members are new to their upstream. With O(update_conf=false) and O(hold_new=true) (the role's main entry
    point), every member of the plan that the deployed configuration (O(conf_file)) does not list yet is recorded as
    joining and returned C(down), so nginx sends it nothing while it boots; when no other member of its upstream would
    be up (a first deploy, a new Galaxy instance), it is in at once instead (RV(joined_at_once)), as nothing else could
    serve. A joining member stays C(down) on every run until O(admit) (or O(undrain)) names it; the site playbook's last
    play admits the members that answer from every proxy.
  - Also refuses a plan whose members are not unique, whose upstream names are not plain, or (with O(proxy_host)) that
    puts a gunicorn on a unix socket on another host than this proxy.
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  plan:
    description: The cluster plan from M(galaxyops.fleet.topology) (version 1).
    type: dict
    required: true
  proxy_host:
    description: This proxy's inventory name; a member on a unix socket must be on this host.
    type: str
  drain:
    description: Members (C(HOST/UNIT)) to take out of their upstream.
    type: list
    elements: str
    default: []
  undrain:
    description: Members (C(HOST/UNIT)) to put back into their upstream.
    type: list
    elements: str
    default: []
  admit:
    description:
      - Members (C(HOST/UNIT)) that answer from every proxy. Those of them that are joining (and, with O(update_conf), are
        listed in the deployed configuration) join their upstream; other names are ignored.
    type: list
    elements: str
    default: []
  hold_new:
    description:
      - With O(update_conf=false), members that O(conf_file) does not list yet are new and join (C(down)) until admitted.
      - V(false) returns them up at once.
    type: bool
    default: false
  update_conf:
    description:
      - Set C(down) in the deployed configuration, test it, replace it and reload nginx.
      - V(false) only updates the record (the caller renders the configuration from RV(instances)).
    type: bool
    default: true
  drain_wait:
    description:
      - Seconds to wait after the reload until the newly drained members' requests in flight are done (the workers of
        the old configuration have exited and no connection from this host to those members remains). 0 does not wait.
      - The wait never fails; RV(drain) says what was left at the bound.
    type: float
    default: 0
  poll_interval:
    description: Seconds between two looks while waiting.
    type: float
    default: 0.05
  state_file:
    description: The record of drained members.
    type: path
    default: /var/lib/galaxyops-fleet/nginx-members-down.yml
  conf_file:
    description: The configuration file that holds the members' C(server) lines (read with O(update_conf) or O(hold_new)).
    type: path
    default: /etc/nginx/conf.d/galaxyops-fleet.conf
  main_conf:
    description: nginx's main configuration file; the candidate is tested within a copy of its directory.
    type: path
    default: /etc/nginx/nginx.conf
  check_command:
    description: The role's configuration checker, run as C(CHECK_COMMAND CANDIDATE CONF_FILE MAIN_CONF).
    type: path
    default: /usr/local/libexec/galaxyops-fleet/nginx-check
  pid_file:
    description: nginx's PID file (its master process).
    type: path
    default: /run/nginx.pid
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the record and the configuration and reports what would change; writes, tests and reloads nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The record, and with O(update_conf) the configuration, before and after.
notes:
  - The record and the configuration are each replaced by an atomic rename, the record first. A candidate nginx refuses
    replaces nothing and fails with nginx's message.
"""

EXAMPLES = r"""
- name: Take a gunicorn out of nginx and wait until its requests in flight are done
  galaxyops.fleet.galaxy_nginx_members:
    plan: "{{ fleet_plan }}"
    drain: [web1/galaxy-gunicorn@0.service]
    drain_wait: 60

- name: Put it back
  galaxyops.fleet.galaxy_nginx_members:
    plan: "{{ fleet_plan }}"
    undrain: [web1/galaxy-gunicorn@0.service]

- name: Read the drained members, hold new members back, prune the record, render the configuration from the result
  galaxyops.fleet.galaxy_nginx_members:
    plan: "{{ fleet_plan }}"
    proxy_host: "{{ inventory_hostname }}"
    update_conf: false
    hold_new: true
  register: front

- name: Let the new members that answer from every proxy join their upstream
  galaxyops.fleet.galaxy_nginx_members:
    plan: "{{ fleet_plan }}"
    admit: [web1/galaxy-gunicorn@2.service]
"""

RETURN = r"""
down:
  description: Drained members after the call (sorted).
  returned: always
  type: list
  elements: str
  sample: [web1/galaxy-gunicorn@0.service]
down_before:
  description: Drained members recorded before the call (members of the plan only).
  returned: always
  type: list
  elements: str
joining:
  description: Joining members after the call (sorted); each is C(down) in RV(instances).
  returned: always
  type: list
  elements: str
  sample: [web1/galaxy-gunicorn@2.service]
joining_before:
  description: Joining members recorded before the call (members of the plan only).
  returned: always
  type: list
  elements: str
new:
  description: With O(hold_new), the members of the plan that the deployed configuration did not list.
  returned: always
  type: list
  elements: str
admitted:
  description: Joining members that joined their upstream through O(admit).
  returned: always
  type: list
  elements: str
joined_at_once:
  description: Joining members that are up at once because no other member of their upstream is up.
  returned: always
  type: list
  elements: str
instances:
  description: Per Galaxy instance with gunicorns, C(upstream) (its name) and C(members) (C(id), C(host), C(unit),
    C(address), C(down), C(joining)), in the plan's order.
  returned: always
  type: dict
  sample: {_default_: {upstream: galaxy, members: [{id: web1/galaxy-gunicorn@0.service, address: "10.0.0.1:8080", down: false,
                                                     joining: false}]}}
record_changed:
  description: Whether the record was (in check mode, would be) written.
  returned: always
  type: bool
conf_changed:
  description: Whether the configuration was (in check mode, would be) replaced.
  returned: always
  type: bool
reloaded:
  description: Whether nginx was reloaded.
  returned: always
  type: bool
old_workers:
  description: PIDs of the nginx workers that ran the previous configuration (they finish their requests and exit).
  returned: always
  type: list
  elements: int
reload_s:
  description: Seconds from the start of the call until nginx ran the new configuration.
  returned: when reloaded
  type: float
drain:
  description: With O(drain_wait), C(drained), C(old_workers_left), C(connections_left) and C(after_s); else null.
  returned: always
  type: dict
"""

import os
import socket
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.galaxyops.fleet.plugins.module_utils import nginx_members as nm
from ansible_collections.galaxyops.fleet.plugins.module_utils import restart_journal as rj

# Kept equal to DOCUMENTATION by tests/unit/plugins/modules/test_galaxy_nginx_members.py (no PyYAML on the hosts).
ARGUMENT_SPEC = {
    "plan": {"type": "dict", "required": True},
    "proxy_host": {"type": "str"},
    "drain": {"type": "list", "elements": "str", "default": []},
    "undrain": {"type": "list", "elements": "str", "default": []},
    "admit": {"type": "list", "elements": "str", "default": []},
    "hold_new": {"type": "bool", "default": False},
    "update_conf": {"type": "bool", "default": True},
    "drain_wait": {"type": "float", "default": 0},
    "poll_interval": {"type": "float", "default": 0.05},
    "state_file": {"type": "path", "default": "/var/lib/galaxyops-fleet/nginx-members-down.yml"},
    "conf_file": {"type": "path", "default": "/etc/nginx/conf.d/galaxyops-fleet.conf"},
    "main_conf": {"type": "path", "default": "/etc/nginx/nginx.conf"},
    "check_command": {"type": "path", "default": "/usr/local/libexec/galaxyops-fleet/nginx-check"},
    "pid_file": {"type": "path", "default": "/run/nginx.pid"},
}
RELOAD_TIMEOUT = 10


def read_text(path: str) -> str | None:
    """The file's text, or None when it is gone: also a /proc/PID file of a process that exits while
    it is read (the read then fails with ESRCH, ProcessLookupError: an old nginx worker, at any moment)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def write_atomic(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def nginx_test(module: AnsibleModule, candidate: str) -> None:
    p = module.params
    if not os.access(p["check_command"], os.X_OK):
        raise nm.MembersError(f"cannot run {p['check_command']} (run the galaxy_nginx role first)")
    fd, tmp = tempfile.mkstemp(prefix="galaxyops-nginx-members.", suffix=".conf")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(candidate)
        rc, out, err = module.run_command([p["check_command"], tmp, p["conf_file"], p["main_conf"]])
    finally:
        os.unlink(tmp)
    if rc != 0:
        raise nm.MembersError(f"nginx refuses the new configuration, nothing changed: {(err or out).strip()}")


def children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and nm.stat_ppid(read_text(f"/proc/{entry}/stat") or "") == pid:
            out.add(int(entry))
    return out


def reload_nginx(module: AnsibleModule) -> list[int]:
    """Reload nginx; return the PIDs of the workers that ran the old configuration."""
    try:
        master = int((read_text(module.params["pid_file"]) or "").strip())
    except (OSError, ValueError) as exc:
        raise nm.MembersError(f"nginx does not run ({exc}); start it with the galaxy_nginx role") from exc
    old = children(master)
    rc, out, err = module.run_command(["systemctl", "reload", "nginx"])
    if rc != 0:
        raise nm.MembersError(f"systemctl reload nginx failed: {(err or out).strip()}")
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        if children(master) - old:
            return sorted(old)
        time.sleep(0.02)
    raise nm.MembersError(f"nginx did not start workers with the new configuration within {RELOAD_TIMEOUT} s")


def established_peers() -> set[tuple[str, int]]:
    peers = set()
    for name, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        peers |= nm.tcp_peers(read_text(name) or "", family)
    return peers


def resolve(address: str) -> set[tuple[str, int]]:
    target = nm.tcp_target(address)
    if target is None:
        return set()
    try:
        infos = socket.getaddrinfo(target[0], target[1], type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(info[4][0], target[1]) for info in infos}


def nginx_alive(pid: int) -> bool:
    return (read_text(f"/proc/{pid}/comm") or "").strip() == "nginx"


def wait_drained(old_workers: list[int], addresses: list[str], wait: float, interval: float) -> dict:
    start = time.monotonic()
    wanted = set().union(*(resolve(a) for a in addresses))
    while True:
        workers = [pid for pid in old_workers if nginx_alive(pid)]
        conns = sorted(f"{a}:{port}" for a, port in established_peers() & wanted)
        if (not workers and not conns) or time.monotonic() - start >= wait:
            break
        time.sleep(interval)
    return {"drained": not workers and not conns, "old_workers_left": workers, "connections_left": conns,
            "after_s": round(time.monotonic() - start, 2)}


def run(module: AnsibleModule) -> dict:
    started = time.monotonic()
    p = module.params
    if p["drain_wait"] < 0:
        raise nm.MembersError("drain_wait must not be negative")
    members = nm.plan_members(p["plan"], p["proxy_host"])
    change = nm.plan_change(members, read_text(p["state_file"]), p["drain"], p["undrain"],
                            conf_text=read_text(p["conf_file"]) if p["update_conf"] or p["hold_new"] else None,
                            update_conf=p["update_conf"], conf_file=p["conf_file"], admit=p["admit"],
                            hold_new=p["hold_new"])
    joining = change.joining
    result = {
        "changed": change.changed, "record_changed": change.record_changed, "conf_changed": change.conf_changed,
        "down_before": change.down_before, "down": change.down, "joining_before": joining.before,
        "joining": joining.after, "new": joining.new, "admitted": joining.admitted, "joined_at_once": joining.at_once,
        "instances": nm.instances(members, change.down, joining.after),
        "reloaded": False, "old_workers": [], "drain": None,
        "diff": change.diff(p["state_file"], p["conf_file"]),
    }
    if module.check_mode:
        return result
    if change.conf_changed:
        nginx_test(module, change.conf_after)
    if change.record_changed:
        write_atomic(p["state_file"], change.record_after)
    if change.conf_changed:
        write_atomic(p["conf_file"], change.conf_after)
        result["old_workers"] = reload_nginx(module)
        result["reloaded"] = True
        result["reload_s"] = round(time.monotonic() - started, 3)
        # the restart timeline's drain and undrain events (galaxy_restart_journal reads them)
        rj.member_note("drain", change.newly_drained)
        rj.member_note("undrain", sorted(set(change.down_before) - set(change.down)))
    if result["reloaded"] and change.newly_drained and p["drain_wait"] > 0:
        address = {m.id: m.address for m in members}
        result["drain"] = wait_drained(result["old_workers"], [address[i] for i in change.newly_drained],
                                       p["drain_wait"], p["poll_interval"])
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module)
    except nm.MembersError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
