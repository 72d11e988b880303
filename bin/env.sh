# shellcheck shell=bash
# Source me: sets up the controller (bin/setup) and exports the environment every
# command of this project runs in (venv first on PATH, the collection on Ansible's
# and Python's search paths).
FLEET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLEET_CACHE=${FLEET_CACHE:-/var/cache/galaxyops-fleet}
FLEET_COLLECTIONS=$("$FLEET_ROOT/bin/setup")
export FLEET_ROOT FLEET_CACHE FLEET_COLLECTIONS
export PATH="$FLEET_CACHE/venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$FLEET_COLLECTIONS"
export PYTHONPATH="$FLEET_COLLECTIONS${PYTHONPATH:+:$PYTHONPATH}"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export PY_COLORS=0
