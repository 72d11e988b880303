"""Handler pools and server names as Galaxy reads them."""

from __future__ import annotations

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils.galaxy_names import (
    environment_server_name,
    pool_problem,
    server_name_problem,
)


@pytest.mark.parametrize("pool", ["job-handlers", "workflow-schedulers", "job-handlers.big", "workflow-schedulers.a-b"])
def test_galaxy_pools_are_accepted(pool):
    assert pool_problem(pool) is None


@pytest.mark.parametrize("pool, hint", [("job_handlers", "job-handlers"), ("Job_Handlers.big", "job-handlers.big"),
                                        ("workflow_schedulers", "workflow-schedulers"), ("handlers", None),
                                        ("job-handlers.", None), ("job-handlers..x", None)])
def test_other_pools_are_refused_with_the_nearest_pool(pool, hint):
    problem = pool_problem(pool)
    assert problem.startswith(f"{pool!r} is no Galaxy pool")
    assert problem.endswith(f"(did you mean {hint!r}?)" if hint else "or POOL.TAG")


def test_a_handler_environment_may_not_name_the_server():
    assert server_name_problem({"A": "b"}) is None
    assert server_name_problem({"GALAXY_CONFIG_SERVER_NAME": "x"})[0] == "GALAXY_CONFIG_SERVER_NAME"
    assert server_name_problem({"GALAXY_CONFIG_SERVER_NAME": "x", "GALAXY_CONFIG_OVERRIDE_SERVER_NAME": "y"})[0] \
        == "GALAXY_CONFIG_OVERRIDE_SERVER_NAME"


def test_server_name_follows_galaxy_precedence():
    assert environment_server_name("gunicorn0", {}, {"server_name": "yml"}) == "gunicorn0"
    assert environment_server_name("gunicorn0", {"GALAXY_CONFIG_SERVER_NAME": "env"}, {}) == "env"
    assert environment_server_name("gunicorn0", {"GALAXY_CONFIG_SERVER_NAME": "env"}, {"server_name": "yml"}) == "yml"
    assert environment_server_name("gunicorn0", {"GALAXY_CONFIG_OVERRIDE_SERVER_NAME": "o",
                                                 "GALAXY_CONFIG_SERVER_NAME": "env"}, {"server_name": "yml"}) == "o"
