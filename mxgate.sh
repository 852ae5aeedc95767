#!/usr/bin/env bash
# mxgate.sh - set up, build, run and test mxgate on a Debian 12 machine.
#
#   ./mxgate.sh setup   install the Debian packages mxgate needs and build it
#   ./mxgate.sh run     setup, then run the main job on the built-in default
#   ./mxgate.sh test    setup, then build every variant and run every test
#   ./mxgate.sh build   build only (no package installation)
#
# Environment:
#   MXGATE_NO_APT=1        skip apt-get (packages already there)
#   MXGATE_FUZZ_SECONDS=N  seconds per libFuzzer target in `test` (default 45)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"

# Every Debian package the project needs, build and test alike.
PACKAGES=(
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	libhyperscan-dev dpdk dpdk-dev libdpdk-dev libcmocka-dev libbenchmark-dev
	libssl-dev openssl libpq-dev libjemalloc-dev
	python3 libpython3.11-testsuite python3-scapy
	swaks postfix postgresql curl iproute2 ethtool iputils-ping procps kmod
)

# log - say what this script is doing
log() { printf '==> %s\n' "$*" >&2; }

# need_root - refuse politely when a step needs root
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "mxgate.sh: '$1' installs packages and sets up hugepages and" \
		     "namespaces; run it as root (sudo ./mxgate.sh $1)" >&2
		exit 2
	fi
}

# install_packages - apt-get what is missing
install_packages() {
	[ "${MXGATE_NO_APT:-0}" = 1 ] && return 0
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing: ${missing[*]}"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build_dir DIR ARGS... - configure (once) and compile one build variant
build_dir() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

# build - the normal build, warnings are errors
build() {
	log "building (build/)"
	build_dir build --werror
}

# hugepages - reserve 2 MB hugepages for the data plane if none are free
hugepages() {
	local want=${MXGATE_HUGEPAGES:-512}
	local have
	have=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$have" -lt "$want" ]; then
		echo "$want" > /proc/sys/vm/nr_hugepages || true
	fi
}

cmd=${1:-help}
case "$cmd" in
setup)
	need_root setup
	install_packages
	build
	;;
build)
	build
	;;
run)
	need_root run
	install_packages
	build
	log "scanning the bundled sample messages with the default rules"
	set +e
	./build/control/mxgate scan --rules rules/default tests/corpus/*.eml
	rc=$?
	set -e
	# 0 = all clean, 1 = some flagged: both are a successful run
	[ $rc -le 1 ] || exit $rc
	if [ -x build/dp/mxgate-dp ]; then
		log "the main job: SMTP on port 25 over DPDK (veth + namespaces), scanned" \
		    "per core, relayed to a private Postfix (tests/dp/demo.sh)"
		exec ./tests/dp/demo.sh build/dp/mxgate-dp rules/default
	fi
	log "mxgate-dp was not built (no DPDK): only the scan above was run"
	;;
test)
	need_root test
	install_packages
	hugepages
	exec ./tests/run-all.sh
	;;
help|-h|--help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	;;
*)
	echo "mxgate.sh: unknown command '$cmd' (try: setup, run, test, build)" >&2
	exit 2
	;;
esac
