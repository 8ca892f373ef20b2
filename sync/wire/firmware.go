package wire

import (
	"fmt"
	"strings"
	"time"
)

// FirmwareAssign tells one gateway which release to install (topic
// Firmware, downlink, QoS 0 like every downlink; HQ key). The broker is
// not trusted: HQ signs the message, and the manifest inside it carries
// its own signature by a release key that the root metadata vouches for
// (see docs/firmware.md). HQ re-sends an assignment a gateway has not
// acted on, and a gateway ignores one for a release it is already
// installing, has installed or has refused, so losing or repeating one
// does no harm.
type FirmwareAssign struct {
	V       int    `json:"v"`
	Centre  string `json:"centre"`
	Gateway string `json:"gateway"`
	Rollout string `json:"rollout"`
	// Manifest is the signed manifest envelope, as the release key signed
	// it (standard base64 in JSON).
	Manifest []byte `json:"manifest"`
	// Roots are the root metadata documents newer than version 1, in
	// order, for a gateway whose trust must catch up (may be empty).
	Roots [][]byte `json:"roots,omitempty"`
	// URLs of the artifact at HQ (HTTPS, Range requests).
	URLs []string `json:"urls"`
	// Window is when the gateway may switch to the new version, in the
	// centre's local time ("02:00-05:00"; empty: any time).
	Window string    `json:"window,omitempty"`
	Issued time.Time `json:"issued"`
	Sig    string    `json:"sig,omitempty"`
}

func (m FirmwareAssign) unsigned() any      { m.Sig = ""; return m }
func (m *FirmwareAssign) sigField() *string { return &m.Sig }

var _ Signable = (*FirmwareAssign)(nil)

// Validate checks v, IDs, rollout, a manifest present, 1 to 4 HTTPS
// URLs, the window's form, issued, and the form of sig when present.
func (m FirmwareAssign) Validate() error {
	const msg = "FirmwareAssign"
	if err := first(
		version(msg, m.V), topicID(msg, "centre", m.Centre), gatewayID(msg, "gateway", m.Gateway),
		topicID(msg, "rollout", m.Rollout), required(msg, "issued", m.Issued), signature(msg, m.Sig),
	); err != nil {
		return err
	}
	switch {
	case len(m.Manifest) == 0:
		return invalid(msg, "manifest", "missing")
	case len(m.URLs) == 0 || len(m.URLs) > 4:
		return invalid(msg, "urls", "%d URLs, want 1 to 4", len(m.URLs))
	case len(m.Roots) > 32:
		return invalid(msg, "roots", "%d documents, limit 32", len(m.Roots))
	}
	for i, u := range m.URLs {
		if len(u) < len("https://x") || u[:8] != "https://" || len(u) > 512 {
			return invalid(msg, "urls", "[%d] %q: want an https:// URL of at most 512 bytes", i, u)
		}
	}
	if m.Window != "" {
		if _, _, err := ParseWindow(m.Window); err != nil {
			return invalid(msg, "window", "%v", err)
		}
	}
	return nil
}

// DecodeFirmwareAssign decodes and validates a FirmwareAssign (see
// DecodeAck); check Sig with Verify against HQ's key, then Centre and
// Gateway against your own.
func DecodeFirmwareAssign(b []byte) (FirmwareAssign, error) {
	return decode[FirmwareAssign](b, func(m *FirmwareAssign) { m.Issued = normTime(m.Issued) })
}

// Firmware is seats/v1/{c}/{g}/firmware (downlink FirmwareAssign).
func (t Topics) Firmware() string { return t.gateway(KindFirmware) }

// ParseWindow parses a daily window "HH:MM-HH:MM" into minutes after
// midnight. An end before the start crosses midnight; equal ends are
// refused (say nothing for "any time").
func ParseWindow(s string) (start, end int, err error) {
	bad := fmt.Errorf("window %q: want HH:MM-HH:MM (24-hour, start and end different)", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, bad
	}
	clock := func(c string) (int, bool) {
		if len(c) != 5 || c[2] != ':' {
			return 0, false
		}
		for _, i := range []int{0, 1, 3, 4} {
			if c[i] < '0' || c[i] > '9' {
				return 0, false // only digits: Atoi would take "-0" or "+1"
			}
		}
		h := int(c[0]-'0')*10 + int(c[1]-'0')
		m := int(c[3]-'0')*10 + int(c[4]-'0')
		if h > 23 || m > 59 {
			return 0, false
		}
		return h*60 + m, true
	}
	start, ok1 := clock(a)
	end, ok2 := clock(b)
	if !ok1 || !ok2 || start == end {
		return 0, 0, bad
	}
	return start, end, nil
}

// InWindow reports whether the local time of t falls in the window
// [start, end) given by ParseWindow, crossing midnight when end < start.
func InWindow(t time.Time, start, end int) bool {
	m := t.Hour()*60 + t.Minute()
	if start < end {
		return start <= m && m < end
	}
	return m >= start || m < end
}
