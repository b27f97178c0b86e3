#!/usr/bin/env bash
# Run Molecule scenarios side by side: each has its own containers, network and ephemeral folder, and
# most of their time is spent waiting on SSH/podman round trips and package installs, so together they
# take about as long as the longest one. One log per scenario under var/molecule/; a passed scenario
# prints its summary, a failed one its whole log. Exit 1 when any failed.
# Usage (from the repository root, lab image built): scripts/molecule-all.sh inspection backup baseline
set -uo pipefail
cd "$(dirname "$0")/.."
logs=var/molecule
mkdir -p "$logs"
scenarios=("$@")
pids=()
for s in "${scenarios[@]}"; do
  ( start=$SECONDS; molecule test -s "$s" > "$logs/$s.log" 2>&1; rc=$?
    echo "molecule $s: exit $rc after $((SECONDS - start)) s" >> "$logs/$s.log"; exit $rc ) &
  pids+=($!)
done
rc=0
for i in "${!pids[@]}"; do
  s=${scenarios[$i]}
  if wait "${pids[$i]}"; then
    grep -E "Molecule executed|successful=|^molecule $s:" "$logs/$s.log" | sed "s/^/[$s] /"
  else
    echo "=== molecule scenario $s FAILED: its log ($logs/$s.log) follows"
    cat "$logs/$s.log"
    rc=1
  fi
done
exit $rc
