"""Time build_plan for 10, 100 and 1000 hosts and print a table (no assertions).

Cluster shape: half the hosts web (3 gunicorns each via the gunicorn.instances extension), 40 %
handler hosts (4 dynamic handler pools with 2 processes each), 10 % celery, one proxy.
Run: source bin/env.sh && python bench/plan_scale.py
"""

from __future__ import annotations

import statistics
import time

from ansible_collections.galaxyops.fleet.plugins.module_utils.plan import build_plan

CONFIG = {
    "gravity": {
        "gunicorn": {"bind": "0.0.0.0:8080", "workers": 4, "instances": 3},
        "celery": {"concurrency": 4},
        "handlers": {
            "handler": {"processes": 2, "pools": ["job-handlers", "workflow-schedulers"]},
            "highmem": {"processes": 2, "pools": ["job-handlers.highmem"]},
            "workflow": {"processes": 2, "pools": ["workflow-schedulers"]},
            "special": {"processes": 2, "pools": ["job-handlers.special"]},
        },
    },
    "galaxy": {"job_config": {"handling": {"assign": ["db-skip-locked"]}}},
}


def inventory(n: int) -> dict:
    web = [f"web{i}" for i in range(n // 2)]
    handlers = [f"handler{i}" for i in range(n * 4 // 10)]
    celery = [f"celery{i}" for i in range(max(1, n - len(web) - len(handlers) - 1))]
    hosts = web + handlers + celery + ["proxy"]
    hostvars = {h: {"ansible_host": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"} for i, h in enumerate(hosts)}
    groups = {"all": hosts, "galaxy_web": web, "galaxy_handlers": handlers, "galaxy_celery": celery,
              "galaxy_proxy": ["proxy"]}
    return {"groups": groups, "hostvars": hostvars}


def main() -> None:
    print(f"{'hosts':>6} {'processes':>10} {'median s':>9} {'min s':>7} {'max s':>7}")
    for n in (10, 100, 1000):
        inv = inventory(n)
        times = []
        for dummy_run in range(5):
            start = time.perf_counter()
            plan = build_plan(galaxy_config=CONFIG, inventory=inv)
            times.append(time.perf_counter() - start)
        processes = sum(len(u["instances"]) for h in plan["hosts"].values() for u in h["units"].values())
        print(f"{n:>6} {processes:>10} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
