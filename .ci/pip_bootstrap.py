"""Offline stand-in for ansible-test's pip bootstrap script.

ansible-test bootstraps pip into each of its virtual environments with a script it downloads
from a host this machine cannot reach; it also looks for that script in its cache first. This
file is placed there by .ci/run: it installs pip with the interpreter's own ensurepip, then
runs pip with the arguments ansible-test passes (the pinned pip, setuptools, wheel), which pip
fetches from the package index like any other requirement.
"""
from __future__ import annotations

import ensurepip
import subprocess
import sys

# Like the real script, take `install` arguments; its own --no-setuptools/--no-wheel flags only
# say which extra packages to add, so they are not passed on to pip.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True, default_pip=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args]))
