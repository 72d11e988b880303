"""Take-over of units the collection did not write (takeover.py)."""

from __future__ import annotations

from ansible_collections.galaxyops.fleet.plugins.module_utils.takeover import (
    UnitFile, gravity_files, is_own, runs_galaxyctl, runs_handler, takeover)


def gravity_service(service: str, exec_args: str = "") -> str:
    # the shape of a unit Gravity 1.2.4 writes with process_manager: systemd (default command style)
    return ("[Unit]\nDescription=Galaxy %s\nAfter=network.target\nPartOf=galaxy.target\n\n[Service]\n"
            "UMask=022\nType=simple\nUser=galaxy\nWorkingDirectory=/srv/galaxy/server\n"
            "ExecStart=/srv/galaxy/venv/bin/galaxyctl exec %s\nRestart=always\n\n[Install]\n"
            "WantedBy=multi-user.target\n" % (service, exec_args or service))


GRAVITY_TARGET = ("[Unit]\nDescription=Galaxy\nWants=galaxy-gunicorn.service galaxy-celery.service "
                  "galaxy-handler@0.service galaxy-handler@1.service\n\n[Install]\nWantedBy=multi-user.target\n")
OWN = "#\n# Ansible managed\n#\n# galaxyops-fleet unit: Galaxy instance _default_, service gunicorn\n[Unit]\n"
HAND = ("[Unit]\nDescription=Galaxy gunicorn %i\n[Service]\nUser=galaxy\n"
        "ExecStart=/opt/galaxy/venv/bin/gunicorn galaxy.webapps.galaxy.fast_factory:factory() --bind unix:/run/g%i\n")
GRAVITY_HOST = [
    UnitFile("galaxy-gunicorn.service", gravity_service("gunicorn")),
    UnitFile("galaxy-celery.service", gravity_service("celery")),
    UnitFile("galaxy-handler@.service", gravity_service("handler", "-i %i handler")),
    UnitFile("galaxy.target", GRAVITY_TARGET),
    UnitFile("galaxy-proxy.service", "[Service]\nExecStart=/usr/bin/some-other-galaxy-thing\n"),
]


def test_gravity_units_are_recognised_by_what_they_run():
    assert runs_galaxyctl(gravity_service("gunicorn"))
    assert not runs_galaxyctl(HAND)
    assert not runs_galaxyctl("[Service]\nExecStart=/usr/bin/galaxyctl-lookalike exec x\n")
    assert gravity_files(GRAVITY_HOST) == ["galaxy-celery.service", "galaxy-gunicorn.service",
                                           "galaxy-handler@.service", "galaxy.target"]


def test_a_target_wanting_other_units_is_not_gravitys():
    files = GRAVITY_HOST[:3] + [UnitFile("galaxy.target", "[Unit]\nWants=galaxy-gunicorn.service nginx.service\n")]
    assert "galaxy.target" not in gravity_files(files)


def test_gravity_host_taken_over():
    active = {"galaxy-gunicorn.service": "active", "galaxy-celery.service": "active",
              "galaxy-handler@0.service": "active", "galaxy-handler@1.service": "failed", "galaxy.target": "active",
              "galaxy-proxy.service": "active"}
    planned = ["galaxy-gunicorn@.service", "galaxy-celery.service", "galaxy-handler@.service", "galaxy.target"]
    result = takeover(GRAVITY_HOST, planned, recorded=[], active=active)
    # same names: the collection writes its own file there and the rolling restart restarts the process into it
    assert result.adopt == ["galaxy-celery.service", "galaxy-handler@.service", "galaxy.target"]
    # Gravity's single gunicorn becomes galaxy-gunicorn@0, @1: the old one stops once they serve, and is masked
    assert result.replace == ["galaxy-gunicorn.service"]
    assert result.stop == ["galaxy-gunicorn.service"]
    # a unit nobody named, with a galaxy- name but not Gravity's: never touched
    assert "galaxy-proxy.service" not in result.replace + result.adopt + result.conflicts


def test_hand_written_units_only_when_named():
    files = [UnitFile("galaxy-gunicorn@.service", HAND), UnitFile("galaxy-handler@.service", HAND)]
    active = {"galaxy-gunicorn@0.service": "active", "galaxy-gunicorn@1.service": "active",
              "galaxy-handler@0.service": "active"}
    planned = ["galaxy-gunicorn@.service", "galaxy-handler-default@.service"]
    untold = takeover(files, planned, [], active)
    assert untold.replace == [] and untold.stop == []
    assert untold.conflicts == ["galaxy-gunicorn@.service"]  # the plan would overwrite it: refused
    told = takeover(files, planned, [], active, patterns=["galaxy-gunicorn@*", "galaxy-handler@*"])
    assert told.adopt == ["galaxy-gunicorn@.service"] and told.conflicts == []
    assert told.replace == ["galaxy-handler@.service"]
    assert told.stop == ["galaxy-handler@0.service"]


def test_the_collections_own_and_masked_units_are_left_to_the_reconciliation():
    files = [UnitFile("galaxy-gunicorn.service", OWN), UnitFile("galaxy-celery.service", gravity_service("celery")),
             UnitFile("galaxy-tusd.service", "", masked=True)]
    assert is_own(OWN)
    result = takeover(files, ["galaxy-gunicorn.service"], recorded=["galaxy-celery.service"], active={})
    assert result.as_dict() == {"adopt": [], "replace": [], "stop": [], "conflicts": [],
                                "gravity": ["galaxy-celery.service"], "handlers": [], "lines": []}


def test_lines_say_what_the_take_over_does_for_the_play_output():
    active = {"galaxy-gunicorn.service": "active", "galaxy-celery.service": "active"}
    planned = ["galaxy-gunicorn@.service", "galaxy-celery.service", "galaxy-handler@.service", "galaxy.target"]
    lines = takeover(GRAVITY_HOST, planned, recorded=[], active=active).lines()
    assert lines[0].startswith("adopts galaxy-celery.service, galaxy-handler@.service, galaxy.target: ")
    assert lines[1].startswith("replaces galaxy-gunicorn.service (running: galaxy-gunicorn.service), which the plan")
    assert "masked" in lines[1]
    assert "by hand" not in lines[1] and len(lines) == 2
    refused = takeover([UnitFile("galaxy-gunicorn@.service", HAND)], ["galaxy-gunicorn@.service"], [], {}).lines()
    assert refused == ["refuses to overwrite galaxy-gunicorn@.service: neither the collection's nor Gravity's, "
                       "and not named in galaxy_systemd_replace_units"]


def test_replaced_job_handlers_are_named_with_what_becomes_of_their_jobs():
    hand_handler = "[Service]\nExecStart=/opt/galaxy/venv/bin/galaxy-main -c galaxy.yml --server-name=main_%i\n"
    assert runs_handler(hand_handler)
    assert runs_handler(gravity_service("handler", "-i %i handler"))
    assert not runs_handler(gravity_service("gunicorn")) and not runs_handler(HAND)
    files = [UnitFile("galaxy-web.service", HAND), UnitFile("galaxy-main@.service", hand_handler)]
    result = takeover(files, ["galaxy-gunicorn@.service"], [], {"galaxy-main@0.service": "active"},
                      patterns=["galaxy-web*", "galaxy-main@*"])
    assert result.replace == ["galaxy-web.service", "galaxy-main@.service"]
    assert result.handlers == ["galaxy-main@.service"]
    assert result.lines()[1].startswith("galaxy-main@.service run job handlers: ")
    assert "galaxyops.fleet.orphans -e orphans_release=true" in result.lines()[1]
