package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // centres' Pis may lack zoneinfo; Timezone must always load
)

// Validate checks c against the rules documented on the fields. It expects
// the defaults filled in, as Parse and Default do; Parse calls it. Errors
// are *Error values with no file or line, joined when there are several.
func (c *Config) Validate() error {
	v := &validator{}
	c.validate(v)
	sortErrors(v.errs)
	return joinErrors(v.errs)
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	cutoffRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)
	spiRE    = regexp.MustCompile(`^(?:/dev/spidev|SPI)([0-9]+)\.([0-9]+)$`)
	gpioRE   = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
)

const (
	minSPIHz        = 100_000
	maxSPIHz        = 10_000_000
	maxWarnDays     = 60
	minScanInterval = Duration(time.Millisecond)
	maxScanInterval = Duration(100 * time.Millisecond)
	maxLabel        = 64 // seat and zone
)

// validator collects the problems found in a Config. When the Config came
// from Parse, lines and bad locate each key in the file.
type validator struct {
	file  string
	lines map[string]int  // key path → line
	bad   map[string]bool // key paths the decoder already reported
	errs  []error
}

func (v *validator) errorf(path, format string, args ...any) {
	for p := path; ; p = parent(p) {
		if v.bad[p] {
			return // the decoder has said what is wrong here
		}
		if p == "" {
			break
		}
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: v.line(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

// line returns the line of path, or of its nearest ancestor in the file.
func (v *validator) line(path string) int {
	for p := path; ; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

// present reports whether the file has the key path (Parse only).
func (v *validator) present(path string) bool {
	_, ok := v.lines[path]
	return ok
}

// where describes the first use of something for a "duplicate" message.
func (v *validator) where(path string) string {
	if l, ok := v.lines[path]; ok {
		return fmt.Sprintf("%s on line %d", path, l)
	}
	return path
}

func (v *validator) name(path, s string) {
	switch {
	case s == "":
		v.errorf(path, "required")
	case !nameRE.MatchString(s):
		v.errorf(path, "want 1 to 32 of a-z, 0-9 and -, got %s", quote(s))
	}
}

func (v *validator) label(path, s string) {
	switch {
	case s == "":
		v.errorf(path, "required")
	case len(s) > maxLabel:
		v.errorf(path, "longer than %d bytes", maxLabel)
	case strings.TrimSpace(s) != s:
		v.errorf(path, "has leading or trailing spaces")
	}
}

// validate is the one place the rules live.
func (c *Config) validate(v *validator) {
	v.name("centre", c.Centre)
	v.name("gateway", c.Gateway)
	if c.DataDir == "" {
		v.errorf("data_dir", "must not be empty")
	}
	switch c.Timezone {
	case "", "Local":
		v.errorf("timezone", "want an IANA zone such as Asia/Karachi, got %s", quote(c.Timezone))
	default:
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			v.errorf("timezone", "unknown time zone %s", quote(c.Timezone))
		}
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		v.errorf("http.listen", "want host:port such as 127.0.0.1:8080, got %s", quote(c.HTTP.Listen))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.errorf("http.listen", "want a port from 1 to 65535, got %s", quote(port))
	}
	c.Policy.validate(v)
	c.HQ.validate(v)
	c.Firmware.validate(v)
	if len(c.Readers) == 0 {
		v.errorf("readers", "at least one reader is required")
	}
	c.validateReaders(v)
}

func (p *Policy) validate(v *validator) {
	if !cutoffRE.MatchString(p.DailyCutoff) {
		v.errorf("policy.daily_cutoff", "want a 24-hour time HH:MM such as 03:00, got %s", quote(p.DailyCutoff))
	}
	if p.MaxSession <= 0 {
		v.errorf("policy.max_session", "must be greater than zero, got %v", p.MaxSession)
	}
	if p.WarnDays < 0 || p.WarnDays > maxWarnDays {
		v.errorf("policy.warn_days", "want 0 to %d, got %d", maxWarnDays, p.WarnDays)
	}
	if p.ScanInterval < minScanInterval || p.ScanInterval > maxScanInterval {
		v.errorf("policy.scan_interval", "want %v to %v, got %v", minScanInterval, maxScanInterval, p.ScanInterval)
	}
	if p.RelayHold < 0 {
		v.errorf("policy.relay_hold", "must not be negative, got %v", p.RelayHold)
	}
}

var (
	channelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)
	windowRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func (f *Firmware) validate(v *validator) {
	switch f.Backend {
	case BackendSlots:
	case BackendTryboot:
		if len(f.Tryboot.Partitions) != 2 {
			v.errorf("firmware.tryboot.partitions", "want the two slots' partitions, such as {2: /dev/mmcblk0p2, 3: /dev/mmcblk0p3}; got %d", len(f.Tryboot.Partitions))
		}
		for n, dev := range f.Tryboot.Partitions {
			if n < 1 || n > 63 || !strings.HasPrefix(dev, "/") {
				v.errorf("firmware.tryboot.partitions", "partition %d: %s: want a number from 1 to 63 and an absolute device path", n, quote(dev))
			}
		}
		for _, k := range []struct{ key, val string }{{"boot_dir", f.Tryboot.BootDir}, {"device_tree", f.Tryboot.DeviceTree}} {
			if !strings.HasPrefix(k.val, "/") {
				v.errorf("firmware.tryboot."+k.key, "want an absolute path, got %s", quote(k.val))
			}
		}
	default:
		v.errorf("firmware.backend", "want %s or %s, got %s", BackendSlots, BackendTryboot, quote(f.Backend))
	}
	if !channelRE.MatchString(f.Channel) {
		v.errorf("firmware.channel", "want 1 to 32 of a-z, 0-9, '.', '_' and '-', got %s", quote(f.Channel))
	}
	if f.Hardware != "" && !channelRE.MatchString(f.Hardware) {
		v.errorf("firmware.hardware", "want a board name such as rpi4, got %s", quote(f.Hardware))
	}
	if f.Window != "" && (!windowRE.MatchString(f.Window) || f.Window[:5] == f.Window[6:]) {
		v.errorf("firmware.window", "want HH:MM-HH:MM (24-hour, start and end different) such as 01:00-06:00, got %s", quote(f.Window))
	}
	if f.RateKBps < 0 || f.RateKBps > 1<<20 {
		v.errorf("firmware.rate_kbps", "want 0 (no cap) to %d, got %d", 1<<20, f.RateKBps)
	}
	for i, p := range f.Peers {
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/" {
			v.errorf(fmt.Sprintf("firmware.peers[%d]", i), "want http://host:port or https://host:port, got %s", quote(p))
		}
	}
	if f.Serve != "" {
		if _, port, err := net.SplitHostPort(f.Serve); err != nil || port == "" {
			v.errorf("firmware.serve", "want host:port such as :8090, got %s", quote(f.Serve))
		}
	}
	if f.StartJitter < 0 || f.StartJitter > Duration(time.Hour) {
		v.errorf("firmware.start_jitter", "want 0s to 1h, got %v", f.StartJitter)
	}
	if f.Dwell < Duration(10*time.Second) || f.Dwell > Duration(24*time.Hour) {
		v.errorf("firmware.dwell", "want 10s to 24h, got %v", f.Dwell)
	}
}

// validateReaders checks each reader and what readers must not share: ids,
// seats, SPI ports and GPIOs.
func (h *HQ) validate(v *validator) {
	if h.Retention < 0 {
		v.errorf("hq.retention", "must not be negative, got %v", h.Retention)
	}
	if h.BatchSize < 1 || h.BatchSize > 900 {
		v.errorf("hq.batch_size", "want 1 to 900, got %d", h.BatchSize)
	}
	if h.BatchesPerSecond < 1 || h.BatchesPerSecond > 1000 {
		v.errorf("hq.batches_per_second", "want 1 to 1000, got %d", h.BatchesPerSecond)
	}
	if h.DiskQuotaMB < 16 || h.DiskQuotaMB > 1<<20 {
		v.errorf("hq.disk_quota_mb", "want 16 to %d, got %d", 1<<20, h.DiskQuotaMB)
	}
	if h.MinFreeMB < 0 || h.MinFreeMB > 1<<20 {
		v.errorf("hq.min_free_mb", "want 0 to %d, got %d", 1<<20, h.MinFreeMB)
	}
	hqKeyOK := func() {
		if b, err := base64.StdEncoding.DecodeString(h.HQKey); err != nil || len(b) != ed25519.PublicKeySize {
			v.errorf("hq.hq_key", "want the base64 of a %d-byte ed25519 public key", ed25519.PublicKeySize)
		}
	}
	if h.Broker == "" {
		// hq_key alone serves an offline centre: it checks snapshots
		// imported by hand.
		if h.HQKey != "" {
			hqKeyOK()
		}
		for _, k := range []struct{ key, val string }{{"hq.ca", h.CA}, {"hq.cert", h.Cert}, {"hq.key", h.Key}} {
			if k.val != "" {
				v.errorf(k.key, "set but hq.broker is not: the gateway would not use it")
			}
		}
		return
	}
	u, err := url.Parse(h.Broker)
	switch {
	case err != nil || u.Host == "" || u.Port() == "":
		v.errorf("hq.broker", "want tls://host:port, got %s", quote(h.Broker))
	case u.Scheme == "tcp":
		if host := u.Hostname(); host != "127.0.0.1" && host != "localhost" && host != "::1" {
			v.errorf("hq.broker", "tcp:// (no TLS) is only for a broker on this machine; use tls:// for %s", host)
		}
	case u.Scheme == "tls" || u.Scheme == "ssl":
		for _, k := range []struct{ key, val string }{{"hq.ca", h.CA}, {"hq.cert", h.Cert}, {"hq.key", h.Key}} {
			if k.val == "" {
				v.errorf(k.key, "required with a tls:// broker")
			}
		}
	default:
		v.errorf("hq.broker", "scheme %q: want tls:// (or tcp:// to this machine)", u.Scheme)
	}
	if h.HQKey == "" {
		v.errorf("hq.hq_key", "required with a broker: HQ's ed25519 public key, base64")
	} else {
		hqKeyOK()
	}
}

func (c *Config) validateReaders(v *validator) {
	ids := map[string]string{}   // id → path of the first reader with it
	seats := map[string]string{} // seat → path
	ports := map[string]string{} // canonical SPI port → path
	type use struct {
		path  string
		reset bool
	}
	gpios := map[string]use{} // upper-case GPIO name → first use
	useGPIO := func(path, name string, reset bool) {
		if name == "" {
			return
		}
		if !gpioRE.MatchString(name) {
			v.errorf(path, "want a GPIO name such as GPIO17, got %s", quote(name))
			return
		}
		key := strings.ToUpper(name)
		if first, ok := gpios[key]; ok && !(first.reset && reset) {
			v.errorf(path, "GPIO %s is already used by %s", name, v.where(first.path))
			return
		} else if !ok {
			gpios[key] = use{path, reset}
		}
	}

	for i := range c.Readers {
		r := &c.Readers[i]
		p := fmt.Sprintf("readers[%d]", i)
		v.name(p+".id", r.ID)
		if first, ok := ids[r.ID]; ok && r.ID != "" {
			v.errorf(p+".id", "duplicate reader id %s (first used by %s)", quote(r.ID), v.where(first+".id"))
		} else {
			ids[r.ID] = p
		}
		v.label(p+".seat", r.Seat)
		if first, ok := seats[r.Seat]; ok && r.Seat != "" {
			v.errorf(p+".seat", "duplicate seat %s (first used by %s)", quote(r.Seat), v.where(first+".seat"))
		} else {
			seats[r.Seat] = p
		}
		v.label(p+".zone", r.Zone)

		switch r.Kind {
		case KindMFRC522:
			v.notFor(p, r.Kind, "bus", r.Bus != "")
			switch m := spiRE.FindStringSubmatch(r.SPI); {
			case r.SPI == "":
				v.errorf(p+".spi", "required for kind %s", r.Kind)
			case m == nil:
				v.errorf(p+".spi", "want an SPI port such as SPI0.0 or /dev/spidev0.0, got %s", quote(r.SPI))
			default:
				port := "SPI" + m[1] + "." + m[2]
				if first, ok := ports[port]; ok {
					v.errorf(p+".spi", "SPI port %s is already used by %s", port, v.where(first+".spi"))
				} else {
					ports[port] = p
				}
			}
			if r.SPIHz < minSPIHz || r.SPIHz > maxSPIHz {
				v.errorf(p+".spi_hz", "want %d to %d, got %d", minSPIHz, maxSPIHz, r.SPIHz)
			}
			if r.Outputs.Green == "" {
				v.errorf(p+".outputs.green", "required for kind %s", r.Kind)
			}
			if r.Outputs.Red == "" {
				v.errorf(p+".outputs.red", "required for kind %s", r.Kind)
			}
		case KindEmulated:
			v.notFor(p, r.Kind, "spi", r.SPI != "")
			v.notFor(p, r.Kind, "irq", r.IRQ != "")
			v.notFor(p, r.Kind, "reset", r.Reset != "")
			v.notFor(p, r.Kind, "spi_hz", r.SPIHz != 0)
			if !nameRE.MatchString(r.Bus) {
				v.errorf(p+".bus", "want 1 to 32 of a-z, 0-9 and -, got %s", quote(r.Bus))
			}
			// Real outputs on an emulated reader (a bench desk) need both
			// lights, as on a real one.
			if r.Outputs != (Outputs{}) {
				if r.Outputs.Green == "" {
					v.errorf(p+".outputs.green", "required when outputs are given")
				}
				if r.Outputs.Red == "" {
					v.errorf(p+".outputs.red", "required when outputs are given")
				}
			}
		case "":
			v.errorf(p+".kind", "required: %s or %s", KindMFRC522, KindEmulated)
		default:
			v.errorf(p+".kind", "unknown kind %s; want %s or %s", quote(r.Kind), KindMFRC522, KindEmulated)
		}

		useGPIO(p+".irq", r.IRQ, false)
		useGPIO(p+".reset", r.Reset, true)
		useGPIO(p+".outputs.green", r.Outputs.Green, false)
		useGPIO(p+".outputs.red", r.Outputs.Red, false)
		useGPIO(p+".outputs.buzzer", r.Outputs.Buzzer, false)
		useGPIO(p+".outputs.relay", r.Outputs.Relay, false)
	}
}

// notFor reports key on reader p if the file has it, or (for a Config built
// in code) if it is set, when it does not apply to the reader's kind.
func (v *validator) notFor(p, kind, key string, set bool) {
	path := p + "." + key
	if set || v.present(path) {
		v.errorf(path, "not allowed for kind %s", kind)
	}
}
