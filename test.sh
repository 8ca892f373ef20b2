#!/usr/bin/env bash
# Runs every test of the project: vet, unit and integration tests with the
# race detector, end-to-end tests of the real binaries, and a short run of
# every fuzz target. Installs what it needs first. CI runs exactly this.
#
#   ./test.sh            everything
#   FUZZTIME=2000000x ./test.sh   longer fuzzing (executions per target)
set -euo pipefail
cd "$(dirname "$0")"

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
# A count, not a duration: a duration races the fuzz coordinator's deadline
# (golang/go#75804, unfixed in go1.26) and fails with "context deadline
# exceeded" and no crasher on a loaded machine.
FUZZTIME="${FUZZTIME:-100000x}"

need() { # need CMD DEBIAN-PACKAGE: install a missing tool, or fail (never skip)
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "test.sh: installing $2 for $1"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
	fi
	command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is required (Debian package $2)" >&2; exit 1; }
}

need go golang-go
need mosquitto mosquitto   # a real MQTT broker for the sync integration tests
need chromium chromium     # headless browser for the dashboards' browser tests
need systemd-analyze systemd   # the units are checked with systemd-analyze verify and security
need dpkg-deb dpkg         # the release script builds .deb packages
need curl curl             # the provisioning guide's commands
need setsid util-linux
# Urdu labels in the dashboards' screenshots need a font with Arabic script
# (cosmetic, so best effort).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! fc-list 2>/dev/null | grep -qi 'noto.*arabic'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-core >/dev/null 2>&1 ||
		echo "test.sh: fonts-noto-core not installed: Urdu screenshots will show boxes"
fi
go version
go mod download

echo "== go vet"
go vet ./...

echo "== go test -race (unit, integration, end-to-end)"
go test -race -count=1 -timeout 15m ./...

echo "== fuzz targets, $FUZZTIME each"
# Every Fuzz function in the tree, run on its own.
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
	dir=$(dirname "$f")
	for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
		echo "-- $dir $fn"
		go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$FUZZTIME" "$dir" >/tmp/seatgate-fuzz.log 2>&1 || {
			cat /tmp/seatgate-fuzz.log; echo "test.sh: fuzz target $fn in $dir failed" >&2; exit 1; }
	done
done
echo "test.sh: all tests passed"
