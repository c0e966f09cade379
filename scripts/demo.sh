#!/bin/sh
# scripts/demo.sh - `make demo`: one vigil node in a network namespace with a virtual IP and a
# web service; a client fetches the page through the VIP; the service is killed and comes back.
# Installs what is missing (scripts/install-deps.sh), builds if needed, then runs
# tests/integration/demo.py, which cleans up its namespaces and processes even on failure.
# Needs root (network namespaces).
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (it creates network namespaces)" >&2
	exit 1
fi
sh scripts/install-deps.sh
BUILD_DIR="${VIGIL_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR"
fi
ninja -C "$BUILD_DIR" vigild vigil
export VIGIL_BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
exec /usr/bin/python3 tests/integration/demo.py
