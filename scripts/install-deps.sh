#!/bin/sh
# Installs the Debian 12 packages vigil needs to build, test and run its demo.
# Idempotent: installs only what is missing; `apt-get update` runs once, and only then.
set -eu
PKGS="
build-essential meson ninja-build pkg-config
libuv1-dev libjansson-dev libcyaml-dev libyaml-dev libsodium-dev libmnl-dev libmicrohttpd-dev libxml2-dev
libcmocka-dev valgrind clang-format
clang libclang-rt-14-dev
corosync corosync-qdevice corosync-qnetd libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcorosync-common-dev
resource-agents pacemaker-resource-agents pacemaker-cli-utils fence-agents
python3 python3-pytest python3-prometheus-client
iproute2 iputils-ping iputils-arping tcpdump tini procps psmisc util-linux curl openssl
stress-ng
"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing
