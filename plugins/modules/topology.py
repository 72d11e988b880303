# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the galaxyops.fleet.topology action (the code is plugins/action/topology.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: topology
short_description: Compute the Galaxy cluster plan from Gravity's configuration and the inventory
version_added: 0.1.0
description:
  - Reads Galaxy's C(galaxy.yml) (its C(gravity) section, or a separate Gravity file, possibly a list of
    several Galaxy instances) and Galaxy's job configuration, found exactly as Galaxy and Gravity find it
    (C(job_config_file) relative to galaxy.yml's folder, inline C(job_config), C(job_conf.yml), C(job_conf.xml)).
  - Places every Galaxy process on the inventory's hosts by group membership (gunicorn on the web hosts,
    job handlers, celery, celery-beat on exactly one host, tusd, gx-it-proxy, reports) and returns one plan
    for the whole cluster, described in C(docs/plan.md) of the collection.
  - Units are named as Gravity 1.2.4 names them with C(process_manager=systemd) on a single host, in its
    default command style unless the configuration sets another; several processes of one service on a
    host (a gunicorn or tusd list, a dynamic handler key with several processes) share a template unit
    C(galaxy[-INSTANCE]-SERVICE@.service) with instances C(@0), C(@1), ...
  - For each process the plan holds the argv and environment that Gravity 1.2.4 runs with
    C(service_command_style=direct), and its own timeouts, memory limits and umask (a template instance's
    own values too, which Gravity's template would replace by instance 0's).
  - Beyond Gravity it validates every setting (handler entries too), keeps handler server names unique
    across the cluster, places every static handler on exactly one host, checks that every tool mapped to a
    handler id or tag has a running handler, that dynamic handlers get jobs, that no two processes on a
    host bind the same address, and that the proxy hosts can reach every gunicorn. All problems are
    reported together, each with its file, key path and host.
  - Runs on the controller only and never connects to a host.
  - "Host variables read: C(fleet_gravity) (per-host or per-group Gravity overrides, deep-merged; a list
    replaces a list, a null removes a key; extension C(gunicorn.instances=N)), C(fleet_gravity_instances)
    (overrides per Galaxy instance name), C(fleet_address) (else C(ansible_host), else the inventory name),
    C(fleet_static_handlers) (list of static handler ids to run on that host), C(fleet_celery_beat) (true on
    the one celery host that runs celery-beat)."
author:
  - galaxyops.fleet developers (@galaxyops)
options:
  galaxy_config_file:
    description:
      - Path on the controller of Galaxy's C(galaxy.yml), or of a Gravity configuration file that names
        C(galaxy_config_file).
      - Relative job configuration and reports paths are resolved against its folder.
      - Mutually exclusive with O(galaxy_config).
    type: path
  galaxy_config:
    description:
      - The parsed content of C(galaxy.yml) (a dict with C(gravity) and C(galaxy) keys) instead of a file.
      - Set O(config_dir) to let relative job configuration files be found.
    type: dict
  gravity_config_file:
    description:
      - Path on the controller of a separate Gravity configuration file (a C(gravity) section, or a list of
        them, each naming its C(galaxy_config_file)). Used when O(galaxy_config_file) is not given.
    type: path
  config_dir:
    description:
      - Folder on the controller where C(job_conf.yml)/C(job_conf.xml) and relative paths are looked up.
      - Defaults to the folder of O(galaxy_config_file) or O(gravity_config_file).
    type: path
  galaxy_config_path:
    description:
      - Where the configuration file is installed on the hosts (the C(-c) argument and C(GALAXY_CONFIG_FILE)).
      - A relative C(galaxy_config_file) named in a Gravity file is resolved against its folder.
    type: str
    default: /srv/galaxy/config/galaxy.yml
  groups:
    description:
      - Inventory group names for each role. tusd, gx-it-proxy and reports run on the web hosts when their
        group is empty or missing.
    type: dict
    default: {}
    suboptions:
      web:
        description: Hosts running gunicorn (and tusd, gx-it-proxy, reports unless placed elsewhere).
        type: str
        default: galaxy_web
      handlers:
        description: Hosts running job handlers (static handlers of the job configuration and gravity.handlers).
        type: str
        default: galaxy_handlers
      celery:
        description: Hosts running celery workers; celery-beat runs on exactly one of them.
        type: str
        default: galaxy_celery
      proxy:
        description: Hosts running nginx in front of the gunicorns (used for reachability checks).
        type: str
        default: galaxy_proxy
      tusd:
        description: Hosts running tusd.
        type: str
        default: galaxy_tusd
      gx_it_proxy:
        description: Hosts running gx-it-proxy.
        type: str
        default: galaxy_gx_it_proxy
      reports:
        description: Hosts running Galaxy Reports.
        type: str
        default: galaxy_reports
  galaxy_root:
    description: Galaxy's root folder on the hosts when neither C(gravity.galaxy_root) nor C(galaxy.root) is set.
    type: str
    default: /srv/galaxy/server
  virtualenv:
    description: Galaxy's virtualenv on the hosts when C(gravity.virtualenv) is not set.
    type: str
    default: /srv/galaxy/venv
  galaxy_user:
    description: User the services run as when C(gravity.galaxy_user) is not set.
    type: str
    default: galaxy
  galaxy_installed:
    description:
      - V(true) when Galaxy is installed as a Python package in the virtualenv (handlers run
        C(VENV/bin/galaxy-main), data_dir defaults to C(data)); V(false) for a source checkout (handlers run
        C(VENV/bin/python ./scripts/galaxy-main), data_dir defaults to C(database)), as Gravity decides.
    type: bool
    default: false
  gunicorn_version:
    description:
      - Version of gunicorn on the hosts. From 25.1.0 on, gunicorn gets C(--no-control-socket) as with Gravity.
    type: str
  default_path:
    description:
      - The PATH systemd gives services (what C(systemctl show-environment) reports); the virtualenv's bin
        folder is put in front of it, as Gravity does.
    type: str
    default: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  galaxy_role:
    description:
      - Whether the plan reads the variables of the galaxyproject.galaxy role on the hosts that run Galaxy
        processes (C(galaxy_config) with its C(gravity) and C(galaxy) sections, C(galaxy_config_files),
        C(galaxy_config_templates), C(galaxy_job_config), C(galaxy_layout), C(galaxy_root), C(galaxy_server_dir),
        C(galaxy_venv_dir), C(galaxy_user), ...), with the role's defaults, instead of O(galaxy_config_file),
        O(galaxy_config) or O(gravity_config_file). The mapping is described in C(docs/galaxyproject-galaxy.md).
      - V(auto) reads them when some Galaxy host has C(galaxy_config) and none of those options is given, and refuses
        both at once; V(use) requires them; V(ignore) never reads them.
      - The Gravity section may differ per host or group (each other host's difference becomes its C(fleet_gravity));
        galaxy.yml's C(galaxy) section, its path and the job configuration must be the same on every Galaxy host.
    type: str
    choices: [auto, use, ignore]
    default: auto
  allow_unassigned_dynamic_handlers:
    description:
      - Accept dynamic handlers (C(gravity.handlers)) although the job configuration assigns jobs with
        neither C(db-skip-locked) nor C(db-transaction-isolation) (they would get no jobs). A warning instead of
        an error.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The plan is computed the same way in check mode; nothing is changed anyway.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  action:
    support: full
    description: Implemented as an action plugin running on the controller.
  platform:
    support: full
    platforms: all
    description: Never connects to the hosts.
notes:
  - The plan is computed from C(groups) and C(hostvars) of the play; run it once (C(run_once=true)).
  - Gravity's C(GRAVITY_*) environment overrides are not applied (the controller's environment is not the hosts').
seealso:
  - name: Gravity
    description: Galaxy's process manager, whose single-host behaviour the plan reproduces.
    link: https://github.com/galaxyproject/gravity
"""

EXAMPLES = r"""
- name: Compute the cluster plan
  galaxyops.fleet.topology:
    galaxy_config_file: "{{ playbook_dir }}/files/galaxy.yml"
    galaxy_config_path: /srv/galaxy/config/galaxy.yml
  run_once: true
  register: __topology

- name: Use groups with other names and an inline configuration
  galaxyops.fleet.topology:
    galaxy_config: "{{ galaxy_yml_content }}"
    config_dir: "{{ playbook_dir }}/files"
    groups:
      web: webservers
      handlers: jobhandlers
  run_once: true
  register: __topology

- name: Show where each handler runs
  ansible.builtin.debug:
    msg: "{{ item.key }} on {{ item.value.host }}"
  loop: "{{ __topology.plan.instances._default_.handlers | dict2items }}"
"""

RETURN = r"""
summary:
  description: The plan as an admin reads it, one line a host and a process, then each Galaxy instance.
  returned: success
  type: list
  elements: str
  sample: ["web1 (10.77.0.11) groups: galaxy_web", "  galaxy-gunicorn.service: gunicorn gunicorn bind 0.0.0.0:8080"]
plan:
  description:
    - The cluster plan (format documented in C(docs/plan.md)).
  returned: success
  type: dict
  contains:
    version:
      description: Format version of the plan.
      type: int
      sample: 1
    groups:
      description: Role to inventory group name mapping used.
      type: dict
    instances:
      description:
        - One entry per Galaxy instance (Gravity section), keyed by instance name (C(_default_) for one).
        - Each has instance_name, galaxy_config_file, galaxy_root, virtualenv, user, group, gravity_data_dir,
          target, unit_prefix, url_prefix, upstream (name, members with host, unit, index, server_name, bind,
          address, health_url), handlers (server name to host, unit, index, key, pools, tags, static),
          assign, default_handler, job_config, local_job_environments (environments whose runner is Galaxy's
          local runner, whose jobs end in error when their handler restarts; C([local]) without a job
          configuration), celery_beat_host and services (tusd, gx_it_proxy, reports).
      type: dict
    hosts:
      description:
        - One entry per inventory host with address, groups, targets and units. Each unit (keyed by unit
          file name) has instance_name, service_type, service_name, description, template, target and
          instances; each instance has index, unit, server_name, argv, exec_start, environment,
          working_directory, user, group, umask, start_timeout, stop_timeout, restart_timeout, memory_limit,
          memory_high, log_namespace, reload, bind and health_url.
        - C(template) is true for a C(NAME@.service) file, whose instances have C(index) 0, 1, ... and
          C(unit) C(NAME@0.service), C(NAME@1.service), ...; a plain unit has one instance with C(index) null
          and C(unit) equal to the file name. Upstream members and handlers name the instance's unit
          (C(galaxy-gunicorn@1.service)) and its index.
      type: dict
    warnings:
      description: Things that are accepted but probably not intended.
      type: list
      elements: str
config_owner:
  description:
    - Who writes galaxy.yml and the other configuration files on the hosts. V(galaxyproject.galaxy) when the plan was
      read from that role's variables (the galaxy_config role of this collection then writes no file), else
      V(galaxyops.fleet).
  returned: success
  type: str
  sample: galaxyops.fleet
changed:
  description: Always false; the plan is only computed.
  returned: always
  type: bool
  sample: false
"""
