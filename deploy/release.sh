#!/usr/bin/env bash
# release.sh: the release build of seatgate, seathq and seatctl.
#
#   deploy/release.sh [--targets LIST] [--out DIR] [--deb] [--firmware-root FILE] [VERSION]
#
# VERSION          stamped into every binary (main.version; 'seatgate version' prints it). Default:
#                  `git describe --tags --always --dirty`, a leading "v" dropped. A firmware release
#                  needs a dotted numeric one (1.4.2): gateways compare versions part by part.
# --targets LIST   comma-separated os/arch, default linux/arm64,linux/arm,linux/amd64; linux/arm is
#                  ARMv7 (GOARM=7: Raspberry Pi 2 and later on a 32-bit OS), also written linux/arm/7.
# --out DIR        default dist/ at the top of the repository.
# --deb            also build .deb packages seatgate, seathq and seatctl for each target (dpkg-deb).
# --firmware-root FILE
#                  the release manager's root metadata (root-1.json, 'seatctl release keys root'),
#                  packaged as /etc/seatgate/firmware-root.json so every gateway ships with it.
#
# Output, under DIR/VERSION/:
#   {os}-{arch}/seatgate, seathq, seatctl      static binaries (CGO_ENABLED=0, -trimpath, stripped)
#   {package}_{debversion}_{debarch}.deb       with --deb
#   SHA256SUMS                                 every file above; check with: cd DIR/VERSION && sha256sum -c SHA256SUMS
#
# The .debs install the binary in /usr/bin, its unit in /lib/systemd/system, its user
# (sysusers.d) and directories (tmpfiles.d), the example configuration in /etc/{seatgate,seathq}/
# and the documentation in /usr/share/doc; they neither enable nor start a service (a gateway is
# started by deploy/provision.md once configured). Everything is built from the working tree.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "release.sh: $*" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
targets=linux/arm64,linux/arm,linux/amd64
out=$repo/dist
deb=0
firmware_root=
version=
while [ $# -gt 0 ]; do
	case $1 in
	--targets) targets=${2:?--targets needs a list}; shift 2 ;;
	--targets=*) targets=${1#*=}; shift ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	--deb) deb=1; shift ;;
	--firmware-root) firmware_root=${2:?--firmware-root needs a file}; shift 2 ;;
	--firmware-root=*) firmware_root=${1#*=}; shift ;;
	-h | --help) usage ;;
	-*) echo "release.sh: unknown flag $1" >&2; usage ;;
	*) [ -z "$version" ] || die "one VERSION only, got $version and $1"; version=$1; shift ;;
	esac
done

if [ -z "$version" ]; then
	version=$(git -C "$repo" describe --tags --always --dirty) || die "no VERSION given and git describe failed"
fi
version=${version#v}
[[ $version =~ ^[0-9A-Za-z][0-9A-Za-z.+~_-]*$ ]] || die "version \"$version\": letters, digits and . + ~ _ - only, starting with a letter or digit"
[ -z "$firmware_root" ] || [ -f "$firmware_root" ] || die "--firmware-root $firmware_root: no such file"
command -v go >/dev/null || die "go is required"
command -v sha256sum >/dev/null || die "sha256sum is required (coreutils)"
[ "$deb" = 0 ] || command -v dpkg-deb >/dev/null || die "--deb needs dpkg-deb (Debian package dpkg)"
case $out in /*) ;; *) out=$PWD/$out ;; esac
dest=$out/$version

# Files in the packages carry the time of the last commit, so that two
# builds of one commit give the same .deb.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

# target → GOOS GOARCH GOARM directory Debian-architecture
parse_target() {
	case $1 in
	linux/amd64) echo "linux amd64 - linux-amd64 amd64" ;;
	linux/arm64) echo "linux arm64 - linux-arm64 arm64" ;;
	linux/arm | linux/arm/7) echo "linux arm 7 linux-arm armhf" ;;
	*) return 1 ;;
	esac
}
IFS=, read -r -a target_list <<<"$targets"
[ ${#target_list[@]} -gt 0 ] || die "--targets is empty"
for t in "${target_list[@]}"; do
	parse_target "$t" >/dev/null || die "target \"$t\": want linux/amd64, linux/arm64 or linux/arm (ARMv7)"
done

rm -rf "$dest"
mkdir -p "$dest"
binaries=(seatgate seathq seatctl)

for t in "${target_list[@]}"; do
	read -r goos goarch goarm dir debarch <<<"$(parse_target "$t")"
	echo "release.sh: building $version for $t"
	mkdir -p "$dest/$dir"
	for b in "${binaries[@]}"; do
		(
			cd "$repo"
			export CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch
			[ "$goarm" = - ] || export GOARM=$goarm
			go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$dest/$dir/$b" "./cmd/$b"
		)
	done
done

# deb_version: Debian versions start with a digit ("c8aa552-dirty" from a
# tree without tags becomes "0~c8aa552-dirty").
deb_version=$version
[[ $deb_version =~ ^[0-9] ]] || deb_version=0~$deb_version

# install_file MODE SOURCE DEST
install_file() { install -D -m "$1" "$2" "$3"; }

# build_deb PACKAGE DEBARCH BINDIR: stages the package's files and builds it.
build_deb() {
	local pkg=$1 debarch=$2 bindir=$3
	local root=$staging/${pkg}_$debarch
	install_file 0755 "$bindir/$pkg" "$root/usr/bin/$pkg"
	install_file 0644 "$repo/README.md" "$root/usr/share/doc/$pkg/README.md"
	local depends=systemd description recommends= conffiles=()
	case $pkg in
	seatgate)
		description="seat access-control gateway for freelancing centres
 Reads the desks' RFID/NFC card readers (MFRC522 over SPI), decides check-ins
 locally, lights the desks and reports to headquarters (seathq) over MQTT.
 Runs as the service seatgate.service under its firmware update supervisor."
		recommends="seatctl, curl"
		install_file 0644 "$repo/deploy/systemd/seatgate.service" "$root/lib/systemd/system/seatgate.service"
		install_file 0644 "$repo/deploy/sysusers.d/seatgate.conf" "$root/usr/lib/sysusers.d/seatgate.conf"
		install_file 0644 "$repo/deploy/tmpfiles.d/seatgate.conf" "$root/usr/lib/tmpfiles.d/seatgate.conf"
		install_file 0644 "$repo/deploy/udev/60-seatgate.rules" "$root/lib/udev/rules.d/60-seatgate.rules"
		install_file 0644 "$repo/deploy/seatgate.example.yaml" "$root/etc/seatgate/seatgate.example.yaml"
		conffiles+=(/etc/seatgate/seatgate.example.yaml)
		if [ -n "$firmware_root" ]; then
			install_file 0644 "$firmware_root" "$root/etc/seatgate/firmware-root.json"
			conffiles+=(/etc/seatgate/firmware-root.json)
		fi
		install_file 0755 "$repo/deploy/provision.sh" "$root/usr/share/seatgate/provision.sh"
		for d in provision.md raspberry-pi.md; do
			install_file 0644 "$repo/deploy/$d" "$root/usr/share/doc/seatgate/$d"
		done
		install_file 0644 "$repo/docs/firmware.md" "$root/usr/share/doc/seatgate/firmware.md"
		;;
	seathq)
		description="headquarters of the seat access-control network
 Embedded NATS with JetStream and the gateways' MQTT listener, event ingest,
 the seat-hours ledger, the membership journal, rollouts and the API that
 seatctl uses. Runs as the service seathq.service."
		recommends=seatctl
		install_file 0644 "$repo/deploy/systemd/seathq.service" "$root/lib/systemd/system/seathq.service"
		install_file 0644 "$repo/deploy/sysusers.d/seathq.conf" "$root/usr/lib/sysusers.d/seathq.conf"
		install_file 0644 "$repo/deploy/tmpfiles.d/seathq.conf" "$root/usr/lib/tmpfiles.d/seathq.conf"
		install_file 0644 "$repo/deploy/seathq.example.yaml" "$root/etc/seathq/seathq.example.yaml"
		conffiles+=(/etc/seathq/seathq.example.yaml)
		;;
	seatctl)
		depends=
		description="operators' command line for seatgate and seathq
 Keys, certificates, gateway enrolment, memberships, releases and rollouts,
 through seathq's API or locally."
		;;
	esac

	mkdir -p "$root/DEBIAN"
	{
		echo "Package: $pkg"
		echo "Version: $deb_version"
		echo "Architecture: $debarch"
		echo "Maintainer: seatgate maintainers <seatgate@pkfreelance.invalid>"
		echo "Section: net"
		echo "Priority: optional"
		[ -z "$depends" ] || echo "Depends: $depends"
		[ -z "$recommends" ] || echo "Recommends: $recommends"
		echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
		echo "Description: $description"
	} >"$root/DEBIAN/control"
	if [ ${#conffiles[@]} -gt 0 ]; then
		printf '%s\n' "${conffiles[@]}" >"$root/DEBIAN/conffiles"
	fi
	if [ "$pkg" != seatctl ]; then
		maintainer_scripts "$pkg" "$root/DEBIAN"
	fi
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$root" "$dest/${pkg}_${deb_version}_${debarch}.deb" >/dev/null
}

# maintainer_scripts PACKAGE DIR: postinst creates the user and the
# directories and reloads systemd, but never enables, starts or restarts
# the service: a new gateway starts once provisioned, and a gateway that
# runs keeps the version its firmware slot holds (upgrades are firmware
# releases; a new package changes the supervisor, used at the next start).
maintainer_scripts() {
	local pkg=$1 dir=$2
	cat >"$dir/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
	systemd-sysusers $pkg.conf
	systemd-tmpfiles --create $pkg.conf
EOF
	if [ "$pkg" = seatgate ]; then
		cat >>"$dir/postinst" <<'EOF'
	if [ -d /run/udev ] && command -v udevadm >/dev/null; then
		udevadm control --reload-rules || true
		udevadm trigger --subsystem-match=spidev --subsystem-match=gpio || true
	fi
EOF
	fi
	cat >>"$dir/postinst" <<'EOF'
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
fi
EOF
	cat >"$dir/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
	systemctl disable --now $pkg.service || true
fi
EOF
	cat >"$dir/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
EOF
	chmod 0755 "$dir/postinst" "$dir/prerm" "$dir/postrm"
}

if [ "$deb" = 1 ]; then
	staging=$(mktemp -d)
	trap 'rm -rf "$staging"' EXIT
	for t in "${target_list[@]}"; do
		read -r goos goarch goarm dir debarch <<<"$(parse_target "$t")"
		for b in "${binaries[@]}"; do
			build_deb "$b" "$debarch" "$dest/$dir"
		done
	done
fi

(
	cd "$dest"
	find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS
)
echo "release.sh: $dest"
(cd "$dest" && cat SHA256SUMS)
