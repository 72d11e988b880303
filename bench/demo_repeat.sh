#!/usr/bin/env bash
# Run the README's main command N times from nothing and print how each run went:
#   bash bench/demo_repeat.sh [N] [bin/demo options]      # N defaults to 5
# "From nothing": every run gets a new, empty FLEET_CACHE (controller venvs, the test hosts'
# base, Galaxy's venv with its web client are all built again), and `bin/demo --down` runs
# between runs. Each run holds /tmp/fleet-heavy.lock (other heavy jobs on the machine wait).
# Heavy (about 6 minutes a run): a bench, not part of .ci/run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${1:-5}; shift || true
logdir=$(mktemp -d /tmp/fleet-demo-repeat.XXXXXX)
results=()
passed=0
for ((i = 1; i <= n; i++)); do
  cache=$(mktemp -d /tmp/fleet-cache.XXXXXX)
  log=$logdir/run-$i.log
  # the time counts from when the run holds the lock (not while it waits for other heavy jobs)
  flock /tmp/fleet-heavy.lock bash -c 'date +%s >"$1"; shift; exec env FLEET_CACHE="$1" bash bin/demo "${@:2}"' \
    _ "$log.start" "$cache" "$@" >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - $(cat "$log.start")))
  # the demo's own figures: jobs ok and failed requests, as it prints them
  jobs=$(grep -oE '[0-9]+/[0-9]+ jobs ok' "$log" | tail -n1)
  failed=$(grep -oE '[0-9]+ failed requests?' "$log" | tail -n1)
  FLEET_CACHE="$cache" bash bin/demo --down >>"$log" 2>&1
  rm -rf "$cache"
  ((rc == 0)) && passed=$((passed + 1))
  results+=("$(printf 'run %d  exit %d  %4d s  %s  %s' "$i" "$rc" "$secs" "${jobs:-?}" "${failed:-?}")")
  echo "${results[-1]}   (log: $log)"
done
echo
echo "bin/demo $* from nothing: $passed of $n passed"
printf '  %s\n' "${results[@]}"
((passed == n))
