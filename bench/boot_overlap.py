"""Do overlapping boots on one host slow each other? A CPU-bound stand-in for a Galaxy boot.

    python bench/boot_overlap.py [--work 40] [--parallel 1,2,3,4]

Real Galaxy's gunicorns and handlers spend their boot in Python: importing and compiling modules,
reading the tool configuration, a CPU-bound single thread. The stand-in Galaxy of the test bed only
sleeps (``standin_boot_delay``), so overlapping its boots costs nothing and says nothing. This
script stands in for the CPU part: one "boot" compiles, in memory, the source of a fixed list of the
standard library's modules ``--work`` times over (a few seconds of one core each on this
machine), in its own process. For each K of ``--parallel`` it starts K boots at once and prints
each boot's seconds, their mean against one boot alone (the slowdown) and the wall time of the K.

Run it under /tmp/fleet-heavy.lock (it keeps every core busy); prints a table, asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BOOT = r"""
import pathlib, sys, sysconfig, time
root = pathlib.Path(sysconfig.get_paths()["stdlib"])
sources = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.glob("*.py"))[:120]]
t0 = time.monotonic()
for _ in range(int(sys.argv[1])):
    for text in sources:
        compile(text, "<boot>", "exec", dont_inherit=True)
print(time.monotonic() - t0)
"""


def boots(k: int, work: int) -> tuple[list[float], float]:
    """K boots started at once: each one's seconds and the wall time until the last ended."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", BOOT, str(work)], stdout=subprocess.PIPE, text=True)
             for _ in range(k)]
    each = [float(p.communicate()[0]) for p in procs]
    return each, time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--work", type=int, default=1, help="rounds of compiling per boot (default 1)")
    parser.add_argument("--parallel", default="1,2,3,4", help="numbers of boots at once (default 1,2,3,4)")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    alone = statistics.mean(boots(1, args.work)[0])
    print(f"{cores} core(s); one boot alone: {alone:.2f} s (compiling {args.work} x 120 stdlib modules)")
    print()
    print("| boots at once | each boot s (mean, max) | slowdown vs alone | wall s |")
    print("| --- | --- | --- | --- |")
    for k in (int(x) for x in args.parallel.split(",")):
        each, wall = boots(k, args.work)
        print(f"| {k} | {statistics.mean(each):.2f}, {max(each):.2f} | {statistics.mean(each) / alone:.2f} | {wall:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
