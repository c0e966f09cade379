#!/bin/sh
# scripts/demo.sh - `make demo`: three vigil servers (Corosync + vigild each) in network namespaces
# with a web service behind a virtual IP; the VIP holder is crashed while a client polls it.
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
