"""Finding and reading the job configuration as Galaxy and Gravity do."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.errors import Collector
from ansible_collections.galaxyops.fleet.plugins.module_utils.jobconf import load_job_config

XML = """<job_conf>
  <handlers assign_with="db-skip-locked, db-transaction-isolation" default="main">
    <handler id="handler0" tags="main,big"/>
    <handler id="handler1"/>
  </handlers>
  <tools>
    <tool id="upload1" handler="big"/>
    <tool id="cat1" destination="local"/>
  </tools>
</job_conf>
"""
YAML = """handling:
  assign: [db-skip-locked]
  default: special
  processes:
    sh0: {tags: [special]}
    sh1:
      environment: {A: b}
tools:
  - id: upload1
    handler: sh1
  - id: cat1
    environment: local
"""


def load(galaxy, config_dir):
    out = Collector()
    conf = load_job_config(galaxy, str(config_dir) if config_dir else None, "galaxy.yml", out)
    return conf, [str(p) for p in out.problems]


def test_xml_handlers_tags_assign_default_and_tools(tmp_path):
    (tmp_path / "job_conf.xml").write_text(XML)
    conf, problems = load({}, tmp_path)
    assert problems == []
    assert [(h.id, h.tags) for h in conf.handlers] == [("handler0", ["main", "big"]), ("handler1", [])]
    assert conf.assign == ["db-skip-locked", "db-transaction-isolation"]
    assert conf.default == "main"
    assert [(t.tool, t.handler) for t in conf.tools] == [("upload1", "big")]


def test_yaml_processes_environment_and_tools(tmp_path):
    (tmp_path / "job_conf.yml").write_text(YAML)
    conf, problems = load({}, tmp_path)
    assert problems == []
    expected = [("sh0", ["special"], None), ("sh1", [], {"A": "b"})]
    assert [(h.id, h.tags, h.environment) for h in conf.handlers] == expected
    assert conf.assign == ["db-skip-locked"]
    assert conf.default == "special"
    assert [(t.tool, t.handler, t.key_path) for t in conf.tools] == [("upload1", "sh1", "tools.0.handler")]


def test_yml_wins_over_xml_beside_galaxy_yml(tmp_path):
    (tmp_path / "job_conf.xml").write_text(XML)
    (tmp_path / "job_conf.yml").write_text(YAML)
    conf, dummy_problems = load({}, tmp_path)
    assert conf.source.endswith("job_conf.yml")


def test_job_config_file_is_relative_to_galaxy_yml_folder(tmp_path):
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "mine.xml").write_text(XML)
    (tmp_path / "job_conf.yml").write_text(YAML)
    conf, problems = load({"job_config_file": "jobs/mine.xml"}, tmp_path)
    assert problems == [] and conf.source == str(tmp_path / "jobs" / "mine.xml")


def test_job_config_file_wins_over_inline_job_config(tmp_path):
    (tmp_path / "j.yml").write_text(YAML)
    conf, dummy_problems = load({"job_config_file": "j.yml", "job_config": {"handling": {"processes": {"x": {}}}}}, tmp_path)
    assert [h.id for h in conf.handlers] == ["sh0", "sh1"]


def test_inline_job_config(tmp_path):
    conf, problems = load({"job_config": {"handling": {"assign": ["db-skip-locked"], "processes": {"x": None}}}},
                          tmp_path)
    assert problems == []
    assert conf.label == "galaxy.yml (galaxy.job_config)"
    assert [h.id for h in conf.handlers] == ["x"]


def test_missing_relative_job_config_file_is_an_error_not_ignored(tmp_path):
    dummy_conf, problems = load({"job_config_file": "nope.yml"}, tmp_path)
    assert problems == [f"galaxy.yml: galaxy.job_config_file: {tmp_path}/nope.yml does not exist "
                        f"(relative to galaxy.yml's folder {tmp_path})"]


def test_missing_absolute_job_config_file_is_an_error(tmp_path):
    dummy_conf, problems = load({"job_config_file": "/nonexistent/job_conf.yml"}, tmp_path)
    assert problems == ["galaxy.yml: galaxy.job_config_file: /nonexistent/job_conf.yml does not exist on the controller"]


def test_unknown_file_type_and_bad_content(tmp_path):
    (tmp_path / "jobs.ini").write_text("x")
    dummy_conf, problems = load({"job_config_file": "jobs.ini"}, tmp_path)
    assert problems == [f"galaxy.yml: galaxy.job_config_file: unknown job configuration file type: {tmp_path}/jobs.ini"]
    (tmp_path / "bad.xml").write_text("<job_conf>")
    dummy_conf, problems = load({"job_config_file": "bad.xml"}, tmp_path)
    assert problems[0].startswith(f"{tmp_path}/bad.xml: cannot parse job configuration")
    (tmp_path / "bad.yml").write_text("handling: {processes: [a, b]}\n")
    dummy_conf, problems = load({"job_config_file": "bad.yml"}, tmp_path)
    assert problems == [f"{tmp_path}/bad.yml: handling.processes: must be a mapping of handler ids to options"]


def test_no_job_configuration_at_all(tmp_path):
    conf, problems = load({}, tmp_path)
    assert problems == [] and conf.handlers == [] and conf.assign is None and conf.source is None


def test_local_runner_environments_yaml(tmp_path):
    (tmp_path / "job_conf.yml").write_text(
        "runners:\n"
        "  local: {load: galaxy.jobs.runners.local:LocalJobRunner, workers: 2}\n"
        "  slurm: {load: 'galaxy.jobs.runners.cli:ShellJobRunner'}\n"
        "execution:\n"
        "  default: cluster\n"
        "  environments:\n"
        "    cluster: {runner: slurm, job_plugin: Slurm}\n"
        "    small: {runner: local}\n"
    )
    conf, problems = load({}, tmp_path)
    assert problems == []
    assert conf.local_environments == ["small"]


def test_local_runner_environments_xml(tmp_path):
    (tmp_path / "job_conf.xml").write_text(
        '<job_conf><plugins>'
        '<plugin id="local" type="runner" load="galaxy.jobs.runners.local:LocalJobRunner"/>'
        '<plugin id="drmaa" type="runner" load="galaxy.jobs.runners.drmaa:DRMAAJobRunner"/>'
        '</plugins><destinations default="d">'
        '<destination id="d" runner="drmaa"/><destination id="l1" runner="local"/>'
        '</destinations></job_conf>'
    )
    conf, problems = load({}, tmp_path)
    assert problems == []
    assert conf.local_environments == ["l1"]


def test_no_job_configuration_means_the_local_runner(tmp_path):
    conf, problems = load({}, tmp_path)
    assert problems == []
    assert conf.source is None
    assert conf.local_environments == ["local"]


def test_job_configuration_without_local_runner(tmp_path):
    (tmp_path / "job_conf.yml").write_text(
        "runners: {pulsar: {load: galaxy.jobs.runners.pulsar:PulsarRESTJobRunner}}\n"
        "execution: {default: p, environments: {p: {runner: pulsar}}}\n"
    )
    conf, _problems = load({}, tmp_path)
    assert conf.local_environments == []


def test_handling_only_keeps_galaxys_default_local_runner(tmp_path):
    (tmp_path / "job_conf.yml").write_text(YAML)
    conf, _problems = load({}, tmp_path)
    assert conf.local_environments == ["local"]
