#!/usr/bin/env bash
# provision.sh: provisions this Raspberry Pi as a gateway, enrolled at HQ: steps 3 to 9 of
# deploy/provision.md, line for line (a test holds the two together). Run it after installing
# the packages (step 1), as a user with sudo:
#
#   provision.sh --centre C --gateway G --broker tls://HOST:8883 --hq URL [--note TEXT] [--firmware-root FILE]
#
# --hq is HQ's API as this Pi reaches it (seatctl); the API token is read from $SEATHQ_TOKEN, or
# asked for, and is never written to disk. --firmware-root is the release manager's root-1.json
# (not needed when the package carries /etc/seatgate/firmware-root.json).
#
# A configuration that exists already is kept (step 3 is skipped: the readers are edited by hand
# once); a link or firmware section in it is not added again, and enrolling again with the same
# device key is harmless, so the script can be run again after a failure.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "provision.sh: $*" >&2; exit 1; }
step() { echo "== provision.sh: $*" >&2; }

CENTRE= GATEWAY= NOTE= BROKER= FIRMWARE_ROOT=
SEATHQ_URL=${SEATHQ_URL:-}
while [ $# -gt 0 ]; do
	case $1 in
	--centre) CENTRE=${2:?--centre needs a value}; shift 2 ;;
	--gateway) GATEWAY=${2:?--gateway needs a value}; shift 2 ;;
	--note) NOTE=${2?--note needs a value}; shift 2 ;;
	--broker) BROKER=${2:?--broker needs a value}; shift 2 ;;
	--hq) SEATHQ_URL=${2:?--hq needs a value}; shift 2 ;;
	--firmware-root) FIRMWARE_ROOT=${2:?--firmware-root needs a file}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "provision.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$CENTRE" ] && [ -n "$GATEWAY" ] && [ -n "$BROKER" ] && [ -n "$SEATHQ_URL" ] ||
	die "--centre, --gateway, --broker and --hq are required (--help)"
for id in "$CENTRE" "$GATEWAY"; do
	[[ $id =~ ^[a-z0-9-]{1,32}$ ]] || die "\"$id\": ids are 1 to 32 of a-z, 0-9 and -"
done
if [ -n "$FIRMWARE_ROOT" ]; then
	[ -f "$FIRMWARE_ROOT" ] || die "--firmware-root $FIRMWARE_ROOT: no such file"
	FIRMWARE_ROOT=$(realpath "$FIRMWARE_ROOT")
fi
if [ -z "${SEATHQ_TOKEN:-}" ]; then
	read -rsp 'HQ API token: ' SEATHQ_TOKEN && echo
fi
export CENTRE GATEWAY NOTE BROKER SEATHQ_URL SEATHQ_TOKEN FIRMWARE_ROOT
command -v seatgate >/dev/null || die "seatgate is not installed (step 1)"
command -v seatctl >/dev/null || die "seatctl is not installed (step 1)"

# The certificate is fetched into a directory of our own, removed at the end.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

step "3. configuration"
if [ ! -e /etc/seatgate/seatgate.yaml ]; then
	sudo install -m 0640 -g seatgate /etc/seatgate/seatgate.example.yaml /etc/seatgate/seatgate.yaml
	sudo sed -i "s/^centre: .*/centre: $CENTRE/; s/^gateway: .*/gateway: $GATEWAY/" /etc/seatgate/seatgate.yaml
	sudoedit /etc/seatgate/seatgate.yaml
else
	echo "provision.sh: keeping /etc/seatgate/seatgate.yaml" >&2
fi

step "4. device key, enrolled at HQ"
DEVICE_KEY=$(sudo -u seatgate seatgate key show --config /etc/seatgate/seatgate.yaml | sed -n 's/^device_key: //p')
: "${DEVICE_KEY:?seatgate key show printed no device_key}"
seatctl gateway enrol --centre "$CENTRE" --gateway "$GATEWAY" --device-key "$DEVICE_KEY" --note "$NOTE"

step "5. certificate"
seatctl gateway cert --centre "$CENTRE" --gateway "$GATEWAY" --out ./tls
sudo install -D -m 0644 -t /etc/seatgate/tls ./tls/hq-ca.pem ./tls/gateway.pem

step "6. HQ's key and the link"
HQ_KEY=$(seatctl hq keys | sed -n 's/^hq_key: //p')
: "${HQ_KEY:?seatctl hq keys printed no hq_key}"
if ! grep -q '^hq:' /etc/seatgate/seatgate.yaml; then
sudo tee -a /etc/seatgate/seatgate.yaml >/dev/null <<EOF

hq:
  broker: $BROKER
  ca: /etc/seatgate/tls/hq-ca.pem
  cert: /etc/seatgate/tls/gateway.pem
  key: device
  hq_key: $HQ_KEY
EOF
fi

step "7. firmware root"
if [ -n "$FIRMWARE_ROOT" ]; then
	sudo install -m 0644 "$FIRMWARE_ROOT" /etc/seatgate/firmware-root.json
fi
if [ -e /etc/seatgate/firmware-root.json ] && ! grep -q '^firmware:' /etc/seatgate/seatgate.yaml; then
sudo tee -a /etc/seatgate/seatgate.yaml >/dev/null <<EOF

firmware:
  root: /etc/seatgate/firmware-root.json
EOF
fi

step "8. check the file and start"
sudo -u seatgate seatgate key show --config /etc/seatgate/seatgate.yaml >/dev/null
sudo systemctl enable --now seatgate

step "9. check"
curl -fsS --retry 30 --retry-delay 1 --retry-connrefused localhost:8080/healthz
echo
online=0
for _ in $(seq 60); do
	if seatctl gateways --centre "$CENTRE" | grep -Eq "^$CENTRE +$GATEWAY +online( |\$)"; then
		online=1
		break
	fi
	sleep 2
done
seatctl gateways --centre "$CENTRE"
[ "$online" = 1 ] || die "$CENTRE/$GATEWAY is not online at HQ after 2 minutes: see journalctl -u seatgate"
echo "provision.sh: $CENTRE/$GATEWAY is online at HQ" >&2
