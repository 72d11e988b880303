"""The corpus of bad inputs: each is refused before any host is touched, named by file, key path
and (for per-host problems) host, with its exact message.

Every case writes small files to tmp_path (galaxy.yml, a separate Gravity file, job_conf.yml or
job_conf.xml), builds the plan of a small inventory and compares the whole list of problems, with
the temporary folder written as ``DIR``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import PlanError
from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan

ONE_HOST = {"galaxy_web": ["h1"], "galaxy_handlers": ["h1"], "galaxy_celery": ["h1"], "galaxy_proxy": ["h1"]}
CLUSTER = {"galaxy_web": ["web1"], "galaxy_handlers": ["hd1", "hd2"], "galaxy_celery": ["web1"],
           "galaxy_proxy": ["proxy1"]}
ASSIGNED = "galaxy:\n  job_config: {handling: {assign: [db-skip-locked]}}\n"
WEB_BIND = "gunicorn: {bind: '0.0.0.0:8080'}\n"
JOB_CONF_FILE = "galaxy:\n  job_config_file: job_conf.yml\n"
JOB_CONF_XML = "galaxy:\n  job_config_file: job_conf.xml\n"
INV = "inventory"
GX = "DIR/galaxy.yml"
JC = "DIR/job_conf.yml"
JX = "DIR/job_conf.xml"


@dataclass
class Case:
    id: str
    files: dict[str, str]
    expected: list[tuple]  # (file, key path, message, host or None)
    groups: dict = field(default_factory=lambda: dict(ONE_HOST))
    hostvars: dict = field(default_factory=dict)
    main: str = "galaxy.yml"


def gravity(body: str, galaxy: str = ASSIGNED, **extra: str) -> dict[str, str]:
    """galaxy.yml with this gravity section (indented YAML under `gravity:`) and galaxy section."""
    files = {"galaxy.yml": "gravity:\n" + textwrap.indent(textwrap.dedent(body), "  ") + galaxy}
    files.update({name: textwrap.dedent(text) for name, text in extra.items()})
    return files


def job_conf(text: str, gravity_body: str = "{}\n") -> dict[str, str]:
    return gravity(gravity_body, JOB_CONF_FILE, **{"job_conf.yml": text})


def job_xml(text: str) -> dict[str, str]:
    return gravity("{}\n", JOB_CONF_XML, **{"job_conf.xml": text})


def static_handlers(*ids: str) -> dict[str, str]:
    processes = "".join(f"    {i}: {{}}\n" for i in ids)
    return job_conf("handling:\n  processes:\n" + processes)


UNKNOWN_ASSIGN = "is no handler assignment method (Galaxy refuses to start): use one of mem-self, db-self, " \
    "db-preassign, db-skip-locked, db-transaction-isolation"
NOT_A_BIND = "must be host:port, [IPv6]:port, host or unix:/path (not a URL), got"
NO_POOL = "is no Galaxy pool, so the handler would never get work: use job-handlers, workflow-schedulers or POOL.TAG"
SERVER_NAME_IGNORED = ("is ignored: galaxy-main sets it from its --server-name; name handlers with name_template "
                       "(or the job configuration's ids) instead")
SERVER_NAME_OVERRIDDEN = ("would make Galaxy run the handler under another name than its --server-name, which job "
                          "assignment relies on: name handlers with name_template (or the job configuration's ids) "
                          "instead")
TWICE = "YAML keeps the last one silently, remove one"

CASES = [
    # ------------------------------------------------------------ gravity section: unknown keys
    Case("handler-key-typo", gravity("handlers: {handler: {proceses: 2}}\n"),
         [(GX, "gravity.handlers.handler.proceses", "unknown setting (did you mean 'processes'?)", None)]),
    Case("gunicorn-key-typo", gravity("gunicorn: {wokers: 2}\n"),
         [(GX, "gravity.gunicorn.wokers", "unknown setting (did you mean 'workers'?)", None)]),
    Case("section-typo", gravity("gunicron: {workers: 2}\n"),
         [(GX, "gravity.gunicron", "unknown setting (did you mean 'gunicorn'?)", None)]),
    Case("celery-key-typo", gravity("celery: {concurency: 4}\n"),
         [(GX, "gravity.celery.concurency", "unknown setting (did you mean 'concurrency'?)", None)]),
    Case("top-key-typo", gravity("virtual_env: /srv/venv\n"),
         [(GX, "gravity.virtual_env", "unknown setting (did you mean 'virtualenv'?)", None)]),
    Case("gunicorn-list-item-typo", gravity("gunicorn:\n  - {bnd: '127.0.0.1:8080'}\n"),
         [(GX, "gravity.gunicorn.0.bnd", "unknown setting (did you mean 'bind'?)", None)]),
    Case("unknown-key-no-near-match", gravity("handlers: {handler: {colour: blue}}\n"),
         [(GX, "gravity.handlers.handler.colour", "unknown setting; known: environment, memory_high, memory_limit, "
           "name_template, pools, processes, start_timeout, stop_timeout, umask", None)]),
    # ------------------------------------------------------------ gravity section: values
    Case("umask-not-octal", gravity("umask: abc\n"),
         [(GX, "gravity.umask", "must be an octal string such as \"022\", got 'abc'", None)]),
    Case("umask-digit-8", gravity("gunicorn: {umask: '028'}\n"),
         [(GX, "gravity.gunicorn.umask", "must be an octal string such as \"022\" (or null), got '028'", None)]),
    Case("umask-unquoted", gravity("umask: 022\n"),
         [(GX, "gravity.umask", "must be an octal string such as \"022\", got 18 (YAML reads an unquoted 022 as the "
           "number 18: quote it)", None)]),
    Case("handler-umask-symbolic", gravity("handlers: {handler: {umask: u=rwx}}\n"),
         [(GX, "gravity.handlers.handler.umask", "must be an octal string such as \"022\" (or null), got 'u=rwx'",
           None)]),
    Case("bind-http-url", gravity("gunicorn: {bind: 'http://0.0.0.0:8080'}\n"),
         [(GX, "gravity.gunicorn.bind", f"{NOT_A_BIND} 'http://0.0.0.0:8080'", None)]),
    Case("bind-https-url", gravity("gunicorn: {bind: 'https://galaxy.example.org'}\n"),
         [(GX, "gravity.gunicorn.bind", f"{NOT_A_BIND} 'https://galaxy.example.org'", None)]),
    Case("bind-tcp-url-in-list", gravity("gunicorn:\n  - {bind: 'tcp://127.0.0.1:8080'}\n"),
         [(GX, "gravity.gunicorn.0.bind", f"{NOT_A_BIND} 'tcp://127.0.0.1:8080'", None)]),
    Case("reports-bind-url", gravity("reports: {bind: 'http://localhost:9001'}\n"),
         [(GX, "gravity.reports.bind", f"{NOT_A_BIND} 'http://localhost:9001'", None)]),
    Case("bind-with-space", gravity("gunicorn: {bind: '0.0.0.0: 8080'}\n"),
         [(GX, "gravity.gunicorn.bind", f"{NOT_A_BIND} '0.0.0.0: 8080'", None)]),
    Case("bind-port-not-a-number", gravity("gunicorn: {bind: '0.0.0.0:80a'}\n"),
         [(GX, "gravity.gunicorn.bind", "invalid port '80a' in bind '0.0.0.0:80a'", "h1")]),
    Case("bind-port-out-of-range", gravity("gunicorn: {bind: '0.0.0.0:70000'}\n"),
         [(GX, "gravity.gunicorn.bind", "invalid port '70000' in bind '0.0.0.0:70000'", "h1")]),
    Case("bind-integer", gravity("gunicorn: {bind: 8080}\n"),
         [(GX, "gravity.gunicorn.bind", f"{NOT_A_BIND} 8080", None)]),
    Case("pool-underscore", gravity("handlers: {handler: {pools: [job_handlers]}}\n"),
         [(GX, "gravity.handlers.handler.pools.0", f"'job_handlers' {NO_POOL} (did you mean 'job-handlers'?)",
           None)]),
    Case("pool-tagged-underscore",
         gravity("handlers: {handler: {pools: [job-handlers, workflow_schedulers.special]}}\n"),
         [(GX, "gravity.handlers.handler.pools.1", f"'workflow_schedulers.special' {NO_POOL} (did you mean "
           "'workflow-schedulers.special'?)", None)]),
    Case("pool-unknown", gravity("handlers: {handler: {pools: [default]}}\n"),
         [(GX, "gravity.handlers.handler.pools.0", f"'default' {NO_POOL}", None)]),
    Case("pool-with-space", gravity("handlers: {handler: {pools: [job handlers]}}\n"),
         [(GX, "gravity.handlers.handler.pools", "must be a list of pool names, got ['job handlers']", None)]),
    Case("processes-zero", gravity("handlers: {handler: {processes: 0}}\n"),
         [(GX, "gravity.handlers.handler.processes", "must be an integer >= 1, got 0", None)]),
    Case("processes-string", gravity("handlers: {handler: {processes: '2'}}\n"),
         [(GX, "gravity.handlers.handler.processes", "must be an integer >= 1, got '2'", None)]),
    Case("name-template-unknown-variable", gravity("handlers: {handler: {name_template: '{name}_{pid}'}}\n"),
         [(GX, "gravity.handlers.handler.name_template", "unknown variable {pid} in '{name}_{pid}'; known: {name}, "
           "{process}, {instance_name}, {host}", None)]),
    Case("handler-env-server-name",
         gravity("handlers: {handler: {environment: {GALAXY_CONFIG_SERVER_NAME: h}}}\n"),
         [(GX, "gravity.handlers.handler.environment.GALAXY_CONFIG_SERVER_NAME", SERVER_NAME_IGNORED, None)]),
    Case("handler-env-server-name-override",
         gravity("handlers: {handler: {environment: {GALAXY_CONFIG_OVERRIDE_SERVER_NAME: h}}}\n"),
         [(GX, "gravity.handlers.handler.environment.GALAXY_CONFIG_OVERRIDE_SERVER_NAME", SERVER_NAME_OVERRIDDEN,
           None)]),
    Case("handler-environment-not-strings", gravity("handlers: {handler: {environment: {A: 2}}}\n"),
         [(GX, "gravity.handlers.handler.environment", "must be a mapping of variable names to strings, got "
           "{'A': 2}", None)]),
    Case("workers-zero", gravity("gunicorn: {workers: 0}\n"),
         [(GX, "gravity.gunicorn.workers", "must be an integer >= 1, got 0", None)]),
    Case("celery-pool-unknown", gravity("celery: {pool: thread}\n"),
         [(GX, "gravity.celery.pool", "must be one of: prefork, eventlet, gevent, solo, processes, threads, got "
           "'thread'", None)]),
    Case("celery-loglevel-lowercase", gravity("celery: {loglevel: debug}\n"),
         [(GX, "gravity.celery.loglevel", "must be one of: DEBUG, INFO, WARNING, ERROR, got 'debug'", None)]),
    Case("negative-timeout", gravity("gunicorn: {start_timeout: -1}\n"),
         [(GX, "gravity.gunicorn.start_timeout", "must be an integer >= 0, got -1", None)]),
    Case("memory-not-a-number", gravity("memory_limit: lots\n"),
         [(GX, "gravity.memory_limit", "must be a number >= 0 (or null), got 'lots'", None)]),
    Case("gunicorn-string", gravity("gunicorn: fast\n"),
         [(GX, "gravity.gunicorn", "must be a mapping or a list of mappings, got str", None)]),
    Case("handlers-list", gravity("handlers: [handler]\n"),
         [(GX, "gravity.handlers", "must be a mapping of handler names to settings", None)]),
    Case("process-manager-unknown", gravity("process_manager: systemd2\n"),
         [(GX, "gravity.process_manager", "must be one of: supervisor, systemd, multiprocessing (or null), got "
           "'systemd2'", None)]),
    Case("instance-name-with-space", gravity("instance_name: my galaxy\n"),
         [(GX, "gravity.instance_name", "'my galaxy' cannot be part of a systemd unit name", None)]),
    Case("tusd-without-upload-dir",
         gravity("tusd: {enable: true}\n", ASSIGNED + "  galaxy_infrastructure_url: https://galaxy.example.org\n"),
         [(GX, "gravity.tusd.upload_dir", "is required", None)]),
    Case("tusd-without-infrastructure-url", gravity("tusd: {enable: true, upload_dir: /srv/up}\n"),
         [(GX, "galaxy.galaxy_infrastructure_url", "must be set to run tusd (its hooks_http '/api/upload/hooks' is "
           "relative)", "h1")]),
    Case("gx-it-proxy-without-interactive-tools", gravity("gx_it_proxy: {enable: true}\n"),
         [(GX, "galaxy.interactivetools_enable", "must be true to run gx-it-proxy (gravity.gx_it_proxy.enable is "
           "true)", "h1")]),
    Case("duplicate-bind", gravity("gunicorn:\n  - {bind: '127.0.0.1:8080'}\n  - {bind: '127.0.0.1:8080'}\n"),
         [(GX, "gravity.gunicorn.1.bind", "galaxy-gunicorn@1.service binds 127.0.0.1:8080, which "
           "galaxy-gunicorn@0.service already binds (127.0.0.1:8080)", "h1")]),
    Case("reports-config-missing", gravity("reports: {enable: true, bind: '127.0.0.1:9001'}\n"),
         [(GX, "gravity.reports.config_file", "reports.yml does not exist beside galaxy.yml (DIR); reports needs its "
           "configuration file", "h1")]),
    Case("dynamic-handlers-without-db-assign", gravity("handlers: {handler: {}}\n", "galaxy: {}\n"),
         [(GX, "galaxy.job_config", "dynamic handlers are configured (gravity.handlers) but the job configuration "
           "does not assign jobs with db-skip-locked or db-transaction-isolation, so they would never get a job "
           "(set allow_unassigned_dynamic_handlers to accept this)", None)]),
    Case("duplicate-handler-server-names",
         gravity("handlers:\n  handler: {name_template: '{name}{process}', processes: 2}\n  handler1: {}\n"),
         [(GX, "gravity.handlers.handler1.name_template", "handler server name 'handler1' is not unique: the dynamic "
           "handler key handler on h1 has it too", "h1")]),
    # ------------------------------------------------------------ keys given twice (YAML)
    Case("duplicate-gravity-section-key", gravity("gunicorn: {workers: 2}\ngunicorn: {workers: 4}\n"),
         [(GX, "gravity.gunicorn", f"given twice (lines 2 and 3): {TWICE}", None)]),
    Case("duplicate-nested-key", gravity("handlers:\n  handler:\n    processes: 2\n    processes: 3\n"),
         [(GX, "gravity.handlers.handler.processes", f"given twice (lines 4 and 5): {TWICE}", None)]),
    Case("duplicate-galaxy-key",
         gravity("{}\n", "galaxy:\n  job_config_file: job_conf.yml\n  job_config_file: job_conf.xml\n",
                 **{"job_conf.xml": "<job_conf/>\n"}),
         [(GX, "galaxy.job_config_file", f"given twice (lines 4 and 5): {TWICE}", None)]),
    Case("duplicate-key-in-list-item",
         gravity("gunicorn:\n  - bind: '127.0.0.1:8080'\n    bind: '127.0.0.1:8081'\n"),
         [(GX, "gravity.gunicorn.0.bind", f"given twice (lines 3 and 4): {TWICE}", None)]),
    Case("duplicate-job-conf-handler",
         job_conf("handling:\n  processes:\n    handler0: {tags: [a]}\n    handler0: {}\n"),
         [(JC, "handling.processes.handler0", f"given twice (lines 3 and 4): {TWICE}", None)]),
    Case("duplicate-job-conf-section",
         job_conf("handling: {assign: [db-skip-locked]}\nrunners: {}\nhandling: {processes: {main: {}}}\n"),
         [(JC, "handling", f"given twice (lines 1 and 3): {TWICE}", None)]),
    # ------------------------------------------------------------ job configuration (YAML)
    Case("yaml-assign-with",
         job_conf("handling:\n  assign_with: db-skip-locked\n  processes: {main: {}}\n"),
         [(JC, "handling.assign_with", "is the XML attribute (<handlers assign_with=...>): Galaxy reads "
           "handling.assign (a list) in a YAML job configuration and ignores assign_with", None)]),
    Case("yaml-assign-string", job_conf("handling:\n  assign: db-skip-locked\n"),
         [(JC, "handling.assign", "must be a list of assignment methods, got 'db-skip-locked'", None)]),
    Case("yaml-assign-unknown-method", job_conf("handling:\n  assign: [db-skip-lock]\n"),
         [(JC, "handling.assign.0", f"'db-skip-lock' {UNKNOWN_ASSIGN}", None)]),
    Case("yaml-handling-typo", job_conf("handling:\n  proceses: {main: {}}\n"),
         [(JC, "handling.proceses", "unknown setting (did you mean 'processes'?)", None)]),
    Case("yaml-processes-list", job_conf("handling:\n  processes: [main]\n"),
         [(JC, "handling.processes", "must be a mapping of handler ids to options", None)]),
    Case("yaml-static-handler-server-name",
         job_conf("handling:\n  processes:\n    main: {environment: {GALAXY_CONFIG_SERVER_NAME: other}}\n"),
         [(JC, "handling.processes.main.environment.GALAXY_CONFIG_SERVER_NAME", SERVER_NAME_IGNORED, None)]),
    Case("yaml-tool-to-missing-handler",
         job_conf("handling:\n  processes: {main: {}}\ntools:\n  - {id: cat1, handler: special}\n"),
         [(JC, "tools.0.handler", "tool cat1 is sent to handler 'special', but no running handler has that id or "
           "tag", None)]),
    Case("yaml-default-missing-handler", job_conf("handling:\n  default: special\n  processes: {main: {}}\n"),
         [(JC, "handling.default", "the default handler is sent to handler 'special', but no running handler has "
           "that id or tag", None)]),
    Case("yaml-not-a-mapping", job_conf("- handling\n"),
         [(JC, "(top)", "job configuration must be a mapping", None)]),
    Case("job-config-file-missing", gravity("{}\n", "galaxy:\n  job_config_file: job_conf_typo.yml\n"),
         [(GX, "galaxy.job_config_file", "DIR/job_conf_typo.yml does not exist (relative to galaxy.yml's folder "
           "DIR)", None)]),
    Case("static-and-dynamic-one-unit",
         job_conf("handling:\n  assign: [db-skip-locked]\n  processes: {handler: {}}\n",
                  "handlers: {handler: {name_template: dyn}}\n"),
         [(GX, "gravity.handlers.handler", "unit galaxy-handler.service is planned twice on this host", "h1")]),
    # ------------------------------------------------------------ job configuration (XML)
    Case("xml-unparsable", job_xml("<job_conf><handlers></job_conf>\n"),
         [(JX, "", "cannot parse job configuration: mismatched tag: line 1, column 22", None)]),
    Case("xml-assign-attribute-typo",
         job_xml('<job_conf><handlers assign="db-skip-locked"><handler id="main"/></handlers></job_conf>\n'),
         [(JX, "job_conf.handlers.assign", "unknown attribute (did you mean 'assign_with'?)", None)]),
    Case("xml-assign-unknown-method",
         job_xml('<job_conf><handlers assign_with="db-skip-locked,db-preasign"><handler id="main"/></handlers>'
                 '</job_conf>\n'),
         [(JX, "job_conf.handlers.assign_with", f"'db-preasign' {UNKNOWN_ASSIGN}", None)]),
    Case("xml-handler-without-id", job_xml("<job_conf><handlers><handler/></handlers></job_conf>\n"),
         [(JX, "job_conf.handlers.handler[0]", "handler without an id", None)]),
    Case("xml-tool-to-missing-handler",
         job_xml('<job_conf><handlers><handler id="main"/></handlers><tools><tool id="cat1" handler="special"/>'
                 '</tools></job_conf>\n'),
         [(JX, "job_conf.tools.tool[cat1].handler", "tool cat1 is sent to handler 'special', but no running handler "
           "has that id or tag", None)]),
    # ------------------------------------------------------------ a separate Gravity file
    Case("gravity-file-galaxy-config-missing",
         {"gravity.yml": "gravity:\n  galaxy_config_file: galaxy-typo.yml\n"},
         [("DIR/gravity.yml", "gravity.galaxy_config_file", "DIR/galaxy-typo.yml does not exist: this Gravity file "
           "names it as its Galaxy configuration", None)], main="gravity.yml"),
    Case("gravity-list-galaxy-config-missing",
         {"gravity.yml": "gravity:\n  - {instance_name: a, galaxy_config_file: missing.yml}\n"},
         [("DIR/gravity.yml", "gravity.0.galaxy_config_file", "DIR/missing.yml does not exist: this Gravity file "
           "names it as its Galaxy configuration", None)], main="gravity.yml"),
    Case("gravity-list-without-galaxy-config",
         {"gravity.yml": "gravity:\n  - {instance_name: a}\n"},
         [("DIR/gravity.yml", "gravity.0.galaxy_config_file", "is required when several Gravity configurations are "
           "listed", None)], main="gravity.yml"),
    Case("gravity-file-names-file-without-galaxy",
         {"gravity.yml": "gravity:\n  galaxy_config_file: other.yml\n", "other.yml": "uwsgi: {}\n"},
         [("DIR/other.yml", "galaxy", "missing: the file named by galaxy_config_file has no galaxy section", None)],
         main="gravity.yml"),
    Case("gravity-list-duplicate-instance",
         {"gravity.yml": "gravity:\n  - {instance_name: a, galaxy_config_file: g.yml}\n"
                         "  - {instance_name: a, galaxy_config_file: g.yml}\n", "g.yml": ASSIGNED},
         [("DIR/gravity.yml", "gravity.1.instance_name", "duplicate instance name 'a': instance names must be "
           "unique", None)], main="gravity.yml"),
    # ------------------------------------------------------------ inventory
    Case("static-handler-on-two-hosts", static_handlers("main"),
         [(INV, "fleet_static_handlers.main", "a static handler runs on exactly one host, but it is also placed on "
           "hd1", "hd2")],
         groups=dict(CLUSTER), hostvars={"web1": {"fleet_gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}}},
                                         "hd1": {"fleet_static_handlers": ["main"]},
                                         "hd2": {"fleet_static_handlers": ["main"]}}),
    Case("static-handler-unknown-id", static_handlers("main"),
         [(INV, "fleet_static_handlers.mian", "no such static handler in DIR/job_conf.yml", "h1")],
         hostvars={"h1": {"fleet_static_handlers": ["mian"]}}),
    Case("static-handlers-on-web-host", static_handlers("main"),
         [(INV, "fleet_static_handlers", "web1 is not in the handlers group galaxy_handlers", "web1")],
         groups=dict(CLUSTER), hostvars={"web1": {"fleet_static_handlers": ["main"],
                                                  "fleet_gravity": {"gunicorn": {"bind": "0.0.0.0:8080"}}}}),
    Case("static-handlers-not-a-list", static_handlers("main"),
         [(INV, "fleet_static_handlers", "must be a list of handler ids", "h1")],
         hostvars={"h1": {"fleet_static_handlers": "main"}}),
    Case("static-handlers-without-handler-hosts", static_handlers("main"),
         [(JC, "handlers", "the job configuration defines static handlers (main) but the handlers group "
           "galaxy_handlers has no hosts", None)],
         groups={"galaxy_web": ["h1"], "galaxy_proxy": ["h1"]}),
    Case("override-wrong-type", gravity("{}\n"),
         [(INV, "fleet_gravity.gunicorn.workers", "must be an integer >= 1, got 'many'", "h1")],
         hostvars={"h1": {"fleet_gravity": {"gunicorn": {"workers": "many"}}}}),
    Case("override-key-typo", gravity("handlers: {handler: {}}\n"),
         [(INV, "fleet_gravity.handlers.handler.proceses", "unknown setting (did you mean 'processes'?)", "h1")],
         hostvars={"h1": {"fleet_gravity": {"handlers": {"handler": {"proceses": 3}}}}}),
    Case("override-umask-not-octal", gravity("{}\n"),
         [(INV, "fleet_gravity.umask", "must be an octal string such as \"022\", got '0o22'", "h1")],
         hostvars={"h1": {"fleet_gravity": {"umask": "0o22"}}}),
    Case("override-not-a-mapping", gravity("{}\n"),
         [(INV, "fleet_gravity", "must be a mapping of Gravity settings", "h1")],
         hostvars={"h1": {"fleet_gravity": ["gunicorn"]}}),
    Case("override-instance-name", gravity("{}\n"),
         [(INV, "fleet_gravity.instance_name", "cannot be changed per host", "h1")],
         hostvars={"h1": {"fleet_gravity": {"instance_name": "other"}}}),
    Case("celery-beat-on-two-hosts", gravity("{}\n"),
         [(INV, "fleet_celery_beat", "celery-beat must run on exactly one host, but it is set on c1, c2", None)],
         groups={**ONE_HOST, "galaxy_celery": ["c1", "c2"]},
         hostvars={"c1": {"fleet_celery_beat": True}, "c2": {"fleet_celery_beat": True}}),
    Case("celery-beat-on-non-celery-host", gravity(WEB_BIND),
         [(INV, "fleet_celery_beat", "h2 is not in the celery group galaxy_celery", "h2")],
         groups={**ONE_HOST, "galaxy_proxy": ["h1", "h2"]}, hostvars={"h2": {"fleet_celery_beat": True}}),
    Case("loopback-gunicorn-remote-proxy", gravity("gunicorn: {bind: '127.0.0.1:8080'}\n"),
         [(GX, "gravity.gunicorn.bind", "127.0.0.1:8080 listens on the loopback interface only, so proxy host(s) "
           "proxy1 cannot reach it: bind 0.0.0.0 or the host's address", "web1")],
         groups=dict(CLUSTER)),
    Case("socket-gunicorn-remote-proxy", gravity("gunicorn: {bind: 'unix:/run/galaxy/g.sock'}\n"),
         [(GX, "gravity.gunicorn.bind", "unix socket unix:/run/galaxy/g.sock cannot be reached from proxy host(s) "
           "proxy1: a socket bind needs the proxy on the same host", "web1")],
         groups=dict(CLUSTER)),
]


def _problems(tmp_path, case: Case) -> list[tuple]:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    groups = dict(case.groups)
    groups["all"] = list(dict.fromkeys([h for members in groups.values() for h in members] + list(case.hostvars)))
    with pytest.raises(PlanError) as info:
        build_plan(galaxy_config_file=str(tmp_path / case.main),
                   inventory={"groups": groups, "hostvars": case.hostvars},
                   options={"galaxy_config_path": "/srv/galaxy/config/galaxy.yml"})
    folder = str(tmp_path)
    return [(p.file.replace(folder, "DIR"), p.key_path, p.message.replace(folder, "DIR"), p.host)
            for p in info.value.problems]


def test_the_corpus_has_sixty_bad_inputs_with_unique_names():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_naming_file_key_path_and_host(tmp_path, case):
    assert _problems(tmp_path, case) == case.expected


def test_a_process_environment_names_the_server_galaxy_runs_as():
    config = {"gravity": {"gunicorn": [{"bind": "0.0.0.0:8080", "environment": {"GALAXY_CONFIG_SERVER_NAME": "web_a"}},
                                       {"bind": "0.0.0.0:8081"}],
                          "celery": {"environment": {"GALAXY_CONFIG_OVERRIDE_SERVER_NAME": "tasks"}}},
              "galaxy": {}}
    plan = build_plan(galaxy_config=config, inventory={"groups": ONE_HOST, "hostvars": {}})
    units = plan["hosts"]["h1"]["units"]
    gunicorns = units["galaxy-gunicorn@.service"]["instances"]
    assert [(g["unit"], g["server_name"]) for g in gunicorns] == [("galaxy-gunicorn@0.service", "web_a"),
                                                                  ("galaxy-gunicorn@1.service", "gunicorn1")]
    assert [m["server_name"] for m in plan["instances"]["_default_"]["upstream"]["members"]] == ["web_a", "gunicorn1"]
    assert units["galaxy-celery.service"]["instances"][0]["server_name"] == "tasks"
    assert units["galaxy-celery-beat.service"]["instances"][0]["server_name"] == "tasks"
    # galaxy.yml's server_name beats GALAXY_CONFIG_SERVER_NAME (Galaxy reads that variable only when unset)
    config["galaxy"] = {"server_name": "from_galaxy_yml"}
    plan = build_plan(galaxy_config=config, inventory={"groups": ONE_HOST, "hostvars": {}})
    assert plan["hosts"]["h1"]["units"]["galaxy-gunicorn@.service"]["instances"][0]["server_name"] == "from_galaxy_yml"


def test_direct_style_units_keep_gravity_names_when_the_environment_names_the_server():
    config = {"gravity": {"service_command_style": "direct",
                          "gunicorn": [{"bind": "0.0.0.0:8080", "environment": {"GALAXY_CONFIG_SERVER_NAME": "web_a"}},
                                       {"bind": "0.0.0.0:8081"}]},
              "galaxy": {}}
    plan = build_plan(galaxy_config=config, inventory={"groups": ONE_HOST, "hostvars": {}})
    units = plan["hosts"]["h1"]["units"]
    assert units["galaxy-gunicorn0.service"]["instances"][0]["server_name"] == "web_a"
    assert "_service_name" not in units["galaxy-gunicorn0.service"]["instances"][0]
