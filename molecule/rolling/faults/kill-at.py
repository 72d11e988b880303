#!/usr/bin/env python3
"""Run a command, copy its output, and kill it (SIGTERM, as `kill PID` does) at the first output line
that matches PATTERN: the controller killed mid-rollout (molecule/rolling/faults/controller_killed.yml).

    kill-at.py PATTERN COMMAND...

Exits with the command's exit status; prints `kill-at: killed PID at: LINE` when it killed it, or
`kill-at: PATTERN never seen` (exit 3) when the command ended first.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys


def main() -> int:
    pattern, argv = re.compile(sys.argv[1]), sys.argv[2:]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    killed = None
    for line in proc.stdout:
        sys.stdout.write(line)
        if killed is None and pattern.search(line):
            proc.send_signal(signal.SIGTERM)
            killed = line.strip()
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    if killed is None:
        print(f"kill-at: {pattern.pattern} never seen", flush=True)
        return 3
    print(f"kill-at: killed {proc.pid} at: {killed}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
