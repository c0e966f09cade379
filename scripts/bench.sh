#!/bin/bash
# Runs the benchmarks; each prints its own figures (median, p99, and ratios where a peer
# exists). Needs root (network namespaces) and a built tree.
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
rc=0
echo "=== scheduler (bench/scheduler.c) ==="
./build/bench_scheduler || rc=1
echo "=== coordinator: input change to actions (bench/coordinator.c) ==="
./build/bench_coordinator || rc=1
echo "=== persistence per change (bench/persist.c) ==="
./build/bench_persist /var/tmp 1000 || rc=1
for b in bench/process_restart.py bench/ocf_overhead.py bench/failover.py bench/partition_skew.py bench/api.py; do
	[ -f "$b" ] || continue
	echo "=== $b ==="
	VIGIL_BUILD=$PWD/build $PY "$b" || rc=1
done
exit $rc
